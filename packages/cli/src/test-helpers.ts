/** In-process CLI runs for tests: captured stdout/stderr, a scratch cwd, and the real API's token. */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { uniqueName } from "@weir/testing";
import { type CliIo, run } from "./index.ts";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Cli {
  (args: string[], io?: Partial<CliIo>): Promise<CliResult>;
  /** Scratch folder used as the cwd. */
  dir: string;
  /** Write a file into the scratch folder; returns its name (relative to the cwd). */
  file(name: string, text: string): string;
}

/** A CLI bound to `api` (through WEIR_API_URL/WEIR_TOKEN, as a user's shell would have them). */
export function cliFor(api: { url: string; adminToken: string }): Cli {
  const dir = mkdtempSync(join(tmpdir(), "weir-cli-"));
  const cli = (async (args: string[], io: Partial<CliIo> = {}) => {
    let stdout = "";
    let stderr = "";
    const code = await run(args, {
      cwd: dir,
      env: { WEIR_API_URL: api.url, WEIR_TOKEN: api.adminToken },
      stderrIsTTY: false,
      pollMs: 100,
      ...io,
      stdout: (t) => {
        stdout += t;
        io.stdout?.(t);
      },
      stderr: (t) => {
        stderr += t;
        io.stderr?.(t);
      },
    });
    return { code, stdout, stderr };
  }) as Cli;
  cli.dir = dir;
  cli.file = (name, text) => {
    writeFileSync(join(dir, name), text);
    return name;
  };
  return cli;
}

/** A pipeline spec on a unique topic (nothing is consumed: no worker runs in these tests). */
export function specFor(name: string, extra: Record<string, unknown> = {}) {
  return {
    name,
    source: {
      type: "kafka",
      config: { bootstrap_servers: "127.0.0.1:9092", topic: uniqueName("cli_topic") },
    },
    sink: { type: "webhook", config: { url: "http://127.0.0.1:9/rows" } },
    ...extra,
  };
}
