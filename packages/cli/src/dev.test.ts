/**
 * `weir dev`: a handler of two files run on samples in the real sandbox, in-process with --once (rows,
 * logs, errors with stacks in the original files, env/limits/format from --pipeline and --env, compile
 * errors as file:line:column, usage errors), and as the real executable in watch mode: re-runs when the
 * entry, an imported file or the samples change, reports a compile error and recovers, and stops on
 * Ctrl-C (SIGINT to its process group, as a terminal sends it, or to the process alone) with exit 0.
 * Needs no API.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { waitFor } from "@weir/testing";
import { afterEach, describe, expect, it } from "vitest";
import { type Cli, cliFor } from "./test-helpers.ts";

const BIN = fileURLToPath(new URL("../bin/weir.mjs", import.meta.url));

const INDEX = `import { toRow } from "./lib/rows.ts";
declare const env: Record<string, string | undefined>;
export function handler(data: { id: number; boom?: boolean }, log: { info(m: string, f?: object): void }) {
  log.info("seen", { id: data.id, region: env.REGION ?? "none" });
  return toRow(data);
}
`;
const ROWS = `export function toRow(data: { id: number; boom?: boolean }) {
  if (data.boom) {
    throw new Error("boom at " + data.id);
  }
  return { id: data.id, double: data.id * 2 };
}
`;

function project(files: Record<string, string>): Cli {
  // No API is involved: the URL is never called.
  const cli = cliFor({ url: "http://127.0.0.1:9", adminToken: "unused" });
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(cli.dir, path)), { recursive: true });
    writeFileSync(join(cli.dir, path), text);
  }
  return cli;
}

describe("weir dev --once", () => {
  it("prints rows, log lines and errors with stacks in the original files; exit 1 when an event failed", async () => {
    const cli = project({
      "index.ts": INDEX,
      "lib/rows.ts": ROWS,
      "s.ndjson": '{"id": 1}\n{"id": 2, "boom": true}\n{"id": 3}\n',
    });
    const res = await cli(["dev", "index.ts", "--samples", "s.ndjson", "--once"]);
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/^#0 ok {2}1 row {2}/m);
    expect(res.stdout).toContain('  log info: seen {"id":1,"region":"none"}');
    expect(res.stdout).toContain('  row {"id":1,"double":2}');
    expect(res.stdout).toMatch(/^#1 FAILED {2}0 rows/m);
    expect(res.stdout).toContain("  error HANDLER_ERROR: boom at 2");
    expect(res.stdout).toMatch(/^ {4}at toRow \(lib\/rows\.ts:3:11\)$/m);
    expect(res.stdout).toContain('  row {"id":3,"double":6}');
    expect(res.stdout).toContain("3 events: 2 ok, 1 failed, 2 rows");
    expect(res.stderr).toMatch(/^index\.ts: 2 files, 0 packages, .* bundled and compiled in /m);
    const ok = await cli(["dev", "index.ts", "--samples", "s.ndjson", "--once", "--no-rows"], {});
    expect(ok.stdout).not.toContain("  row ");
  });

  it("takes env, limits and format from --pipeline, and --env over it; --json prints the results", async () => {
    const cli = project({
      "index.ts": `declare const env: Record<string, string>;
export function handler(data: unknown) {
  if (data === "spin") for (;;) {}
  return { got: data, type: typeof data, region: env.REGION, tier: env.TIER };
}
`,
      "lines.txt": "hello\nspin\n{not json}\n",
      "pipeline.yaml": `name: dev-test
source: { type: kafka, config: { bootstrap_servers: 127.0.0.1:9092, topic: t-dev, format: text } }
sink: { type: webhook, config: { url: "http://127.0.0.1:9/rows" } }
env: { REGION: eu, TIER: gold }
limits: { timeout_ms: 50 }
`,
    });
    const res = await cli([
      "dev",
      "index.ts",
      "--samples",
      "lines.txt",
      "--pipeline",
      "pipeline.yaml",
      "--env",
      "TIER=silver",
      "--once",
      "--json",
    ]);
    expect(res.code).toBe(1);
    const out = JSON.parse(res.stdout) as {
      ok: boolean;
      results: { ok: boolean; rows: unknown[]; error: { code: string } | null; logs: unknown[] }[];
    };
    expect(out.ok).toBe(false);
    expect(out.results.map((r) => r.rows)).toEqual([
      [{ got: "hello", type: "string", region: "eu", tier: "silver" }],
      [],
      [{ got: "{not json}", type: "string", region: "eu", tier: "silver" }],
    ]);
    expect(out.results[1]!.error!.code).toBe("HANDLER_TIMEOUT");
  });

  it("prints compile errors as file:line:column from the working folder, and usage errors with exit 2", async () => {
    const cli = project({
      "src/index.ts": INDEX,
      "src/lib/rows.ts": "export function toRow(d: { id: number }) {\n  return {a: 1;\n}\n",
      "s.ndjson": '{"id": 1}\n',
    });
    const res = await cli(["dev", "src/index.ts", "--samples", "s.ndjson", "--once"]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('src/lib/rows.ts:2:15: error: Expected "}" but found ";"');
    expect(res.stderr).toMatch(/^error: COMPILE_ERROR: /m);
    expect(res.stdout).toBe("");
    const usage: [string[], RegExp][] = [
      [
        ["dev", "src/index.ts", "--samples", "nope.ndjson", "--once"],
        /cannot read nope\.ndjson: no such file/,
      ],
      [["dev", "src/nope.ts", "--samples", "s.ndjson", "--once"], /src\/nope\.ts: no such file/],
      [["dev", "src/index.ts", "--samples", "s.ndjson", "--format", "xml"], /--format: expected one of json/],
      [["dev", "src/index.ts", "--samples", "s.ndjson", "--env", "NOEQUALS"], /--env: expected KEY=VALUE/],
      [["dev", "src/index.ts"], /required option '--samples <file>'/],
    ];
    for (const [args, message] of usage) {
      const r = await cli(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });
});

describe("weir dev (watch)", () => {
  let proc: ChildProcess | undefined;
  afterEach(() => {
    if (proc && proc.exitCode === null && proc.pid) process.kill(-proc.pid, "SIGKILL");
    proc = undefined;
  });

  /** The real executable, started without --no-node-snapshot (it re-runs itself with it). */
  function start(dir: string, args: string[]) {
    const out = { stdout: "", stderr: "" };
    proc = spawn(process.execPath, [BIN, ...args], {
      cwd: dir,
      detached: true, // its own process group, like a job a terminal started
      env: { ...process.env, NODE_OPTIONS: "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    proc.stdout!.on("data", (d: Buffer) => {
      out.stdout += d.toString();
    });
    proc.stderr!.on("data", (d: Buffer) => {
      out.stderr += d.toString();
    });
    const exited = new Promise<number | null>((ok) => proc!.on("exit", (code) => ok(code)));
    return { out, exited, proc };
  }

  const count = (text: string, needle: string) => text.split(needle).length - 1;

  it("runs again when the entry, an imported file or the samples change, survives a compile error, and stops on Ctrl-C", async () => {
    const cli = project({ "index.ts": INDEX, "lib/rows.ts": ROWS, "s.ndjson": '{"id": 1}\n' });
    const {
      out,
      exited,
      proc: p,
    } = start(cli.dir, ["dev", "index.ts", "--samples", "s.ndjson", "--debounce", "50"]);
    const runs = (n: number) =>
      waitFor(() => count(out.stdout, "events:") >= n || undefined, { what: `run ${n}`, timeoutMs: 20_000 });
    await runs(1);
    await waitFor(() => out.stderr.includes("Ctrl-C to stop") || undefined, { what: "the watch" });
    expect(out.stdout).toContain('  row {"id":1,"double":2}');

    // An imported file, saved by writing it in place.
    cli.file("lib/rows.ts", ROWS.replace("data.id * 2", "data.id * 3"));
    await runs(2);
    expect(out.stdout).toContain('  row {"id":1,"double":3}');
    expect(out.stderr).toContain("--- lib/rows.ts changed: running again ---");

    // A compile error: reported with its place, and the last good files stay watched.
    cli.file("lib/rows.ts", "export function toRow(d: { id: number }) {\n  return {a: 1;\n}\n");
    await waitFor(() => out.stderr.includes("lib/rows.ts:2:15: error:") || undefined, {
      what: "the compile error",
    });
    cli.file("lib/rows.ts", ROWS);
    await runs(3);
    expect(out.stdout.slice(out.stdout.lastIndexOf("#0"))).toContain('  row {"id":1,"double":2}');

    // The entry, then the samples.
    cli.file("index.ts", INDEX.replace('"seen"', '"looked at"'));
    await runs(4);
    expect(out.stdout).toContain('  log info: looked at {"id":1,"region":"none"}');
    cli.file("s.ndjson", '{"id": 1}\n{"id": 5}\n');
    await runs(5);
    expect(out.stdout).toContain("2 events: 2 ok, 0 failed, 2 rows");

    // Ctrl-C on a terminal reaches the whole process group: both processes, one stop, exit 0.
    process.kill(-p.pid!, "SIGINT");
    expect(await exited).toBe(0);
  });

  it("stops with exit 0 on a SIGINT sent to the process alone", async () => {
    const cli = project({ "index.ts": INDEX, "lib/rows.ts": ROWS, "s.ndjson": '{"id": 1}\n' });
    const { out, exited, proc: p } = start(cli.dir, ["dev", "index.ts", "--samples", "s.ndjson"]);
    await waitFor(() => out.stderr.includes("Ctrl-C to stop") || undefined, {
      what: "the watch",
      timeoutMs: 20_000,
    });
    p.kill("SIGINT");
    expect(await exited).toBe(0);
  });
});
