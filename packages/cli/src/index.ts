/**
 * @weir/cli: the `weir` command on @weir/sdk. `run(argv, io)` parses and runs one command and
 * resolves with its exit code; it never calls `process.exit`, so tests run it in-process with
 * captured output against a real API.
 */
import { CommanderError } from "commander";
import { authHint } from "./config.ts";
import { type CliIo, Ctx } from "./context.ts";
import { EXIT, exitCodeFor, formatError, statusOf } from "./errors.ts";
import { buildProgram, CLI_VERSION } from "./program.ts";

export { type CliIo, Ctx, type GlobalFlags } from "./context.ts";
export { EXIT, type ExitCode } from "./errors.ts";

/**
 * Run `weir <argv...>` (arguments after the program name). Resolves with the exit code; output
 * goes to `io.stdout`/`io.stderr` (default: the process's streams).
 */
export async function run(argv: readonly string[], io: CliIo = {}): Promise<number> {
  const out = io.stdout ?? ((t: string) => void process.stdout.write(t));
  const err = io.stderr ?? ((t: string) => void process.stderr.write(t));
  let ctx: Ctx | undefined;
  const program = buildProgram(
    (cmd) => {
      ctx = new Ctx({ ...io, stdout: out, stderr: err }, cmd.optsWithGlobals());
      return ctx;
    },
    { out, err },
  );
  if (argv.length === 1 && argv[0] === "--version") {
    out(`${CLI_VERSION}\n`);
    return EXIT.OK;
  }
  try {
    await program.parseAsync([...argv], { from: "user" });
    return ctx?.exitCode ?? EXIT.OK;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and --version "exit" with 0; anything else commander rejects is a usage error.
      return e.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    const code = exitCodeFor(e);
    const lines = formatError(e, {
      ...(ctx ? { api: ctx.settings.apiUrl } : {}),
      ...(ctx?.diagnosticsFile ? { file: ctx.diagnosticsFile } : {}),
      ...(code === EXIT.AUTH && ctx ? { hint: authHint(ctx.settings, statusOf(e) === 403) } : {}),
    });
    err(`${lines.join("\n")}\n`);
    return code;
  }
}
