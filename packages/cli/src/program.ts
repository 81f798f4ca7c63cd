/** The `weir` command tree: global options, every command, and the help texts. */
import { Command, Option } from "commander";
import pkg from "../package.json" with { type: "json" };
import { registerAudit } from "./commands/audit.ts";
import { registerDev } from "./commands/dev.ts";
import { registerDlq } from "./commands/dlq.ts";
import { registerHandler } from "./commands/handler.ts";
import { registerInit } from "./commands/init.ts";
import { registerLogs } from "./commands/logs.ts";
import { registerPipelines } from "./commands/pipelines.ts";
import { registerProjects } from "./commands/projects.ts";
import type { CtxFactory } from "./commands/shared.ts";
import { registerTest } from "./commands/test.ts";
import { registerTokens } from "./commands/tokens.ts";
import { registerWait } from "./commands/wait.ts";
import { registerWorkers } from "./commands/workers.ts";
import { DEFAULT_API_URL, TOKEN_FILE } from "./config.ts";
import { EXIT_CODES_HELP } from "./errors.ts";

const ROOT_HELP = `
Environment:
  WEIR_API_URL  API base URL (default ${DEFAULT_API_URL}); --api wins
  WEIR_TOKEN    bearer token; --token wins; unset: ${TOKEN_FILE} under the current folder
  WEIR_PROJECT  project for bare pipeline names, lists and creates; --project wins; unset: the
                token's own project (the server admin lists all and creates in "default")

${EXIT_CODES_HELP}

Examples:
  weir pipelines apply -f functions/otel-traces/pipeline.yaml
  weir handler upload otel-traces functions/otel-traces/index.ts
  weir test otel-traces samples.ndjson
  weir init my-traces --template otel-traces
  weir dev src/index.ts --samples samples.ndjson --pipeline pipeline.yaml
  weir logs otel-traces --level warn --since 10m -f
  weir wait otel-traces --rows 1000 --timeout 2m
  weir dlq replay otel-traces --all
  weir --project team-a pipelines list
  weir tokens create --name dashboards --kind project --role viewer --project team-a --expires-in 30d
  weir audit --project team-a --limit 20`;

/**
 * Build a fresh program (commander keeps parse state on the instance, so one per `run`).
 * `write` receives commander's own output: help on stdout, usage errors on stderr.
 */
export const CLI_VERSION = pkg.version;

export function buildProgram(
  makeCtx: CtxFactory,
  write: { out: (text: string) => void; err: (text: string) => void },
): Command {
  const program = new Command("weir");
  // Set before adding commands: subcommands inherit both settings.
  program.exitOverride();
  program.configureOutput({ writeOut: write.out, writeErr: write.err });
  program
    .description(
      "Weir command line: pipelines, handlers, test runs, local dev and scaffolds, logs, dead letters, projects, tokens and audit",
    )
    // Only -V: a global --version would swallow `weir test --version N` (global options are
    // recognised after the subcommand too). `weir --version` alone is handled in run().
    .version(pkg.version, "-V", "print the CLI version (also: weir --version)")
    .addOption(new Option("--api <url>", `API base URL (env WEIR_API_URL, default ${DEFAULT_API_URL})`))
    .addOption(new Option("--token <token>", `bearer token (env WEIR_TOKEN, else ${TOKEN_FILE})`))
    .addOption(
      new Option("--project <name>", "project for bare pipeline names, lists and creates (env WEIR_PROJECT)"),
    )
    .option("--json", "machine-readable JSON on stdout")
    .option("--progress", "progress on stderr even when it is not a terminal")
    .showHelpAfterError("(add --help for usage)")
    .addHelpText("after", ROOT_HELP);

  registerPipelines(program, makeCtx);
  registerHandler(program, makeCtx);
  registerTest(program, makeCtx);
  registerDev(program, makeCtx);
  registerInit(program, makeCtx);
  registerLogs(program, makeCtx);
  registerDlq(program, makeCtx);
  registerWait(program, makeCtx);
  registerProjects(program, makeCtx);
  registerTokens(program, makeCtx);
  registerAudit(program, makeCtx);
  registerWorkers(program, makeCtx);
  const shortCodes =
    "\nExit codes: 0 ok, 1 failed, 2 usage, 3 not found, 4 auth, 5 API unreachable or 5xx, 6 timeout.";
  const leaves = (c: Command): Command[] => (c.commands.length === 0 ? [c] : c.commands.flatMap(leaves));
  for (const c of program.commands.flatMap(leaves)) c.addHelpText("after", shortCodes);
  return program;
}
