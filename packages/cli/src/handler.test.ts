import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type ApiProcess, startApi } from "@weir/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Cli, cliFor, specFor } from "./test-helpers.ts";

let api: ApiProcess;
let cli: Cli;

const V1 = `type Log = { info(message: string, fields?: Record<string, unknown>): void };
export function handler(data: { n: number; boom?: boolean }, log: Log) {
  if (data.boom) throw new Error(\`boom at \${data.n}\`);
  log.info("seen", { n: data.n });
  return [{ n: data.n }, { n: data.n * 2 }];
}
`;
const V2 = "export const handler = (data: { n: number }) => ({ v2: data.n });\n";
const BROKEN = "export function handler(data: unknown) {\n  return { a: };\n}\n";

beforeAll(async () => {
  api = await startApi();
  cli = cliFor(api);
  cli.file("p.json", JSON.stringify(specFor("cli-handler")));
  expect((await cli(["pipelines", "create", "-f", "p.json"])).code).toBe(0);
});
afterAll(async () => {
  await api?.kill();
});

describe("weir handler", () => {
  it("uploads, re-uploads unchanged, rejects a syntax error like a compiler, lists, shows, rolls back", async () => {
    cli.file("v1.ts", V1);
    const up = await cli(["handler", "upload", "cli-handler", "v1.ts", "--progress"]);
    expect(up.code).toBe(0);
    const sha = createHash("sha256").update(V1).digest("hex");
    expect(up.stdout).toBe(
      `uploaded version 1 sha256 ${sha} (v1.ts, ${Buffer.byteLength(V1)} B) for cli-handler\n`,
    );
    // --progress on a non-terminal: one line per step on stderr, stdout untouched
    expect(up.stderr).toMatch(
      /^uploading v1\.ts \(\d+ B\) to cli-handler, compiling\.\.\.\ncompiled and stored in /,
    );

    const same = await cli(["handler", "upload", "cli-handler", "v1.ts", "--json"]);
    expect(same.code).toBe(0);
    expect(JSON.parse(same.stdout)).toMatchObject({ version: 1, sha256: sha, unchanged: true });
    expect(same.stderr).toBe("");

    cli.file("bad.ts", BROKEN);
    const bad = await cli(["handler", "upload", "cli-handler", "bad.ts"]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe("");
    const lines = bad.stderr.split("\n");
    // `  return { a: };`: the `}` is the 15th character of line 2.
    expect(lines[0]).toMatch(/^bad\.ts:2:15: error: /);
    expect(lines[1]).toMatch(/^error: COMPILE_ERROR: /);

    // The same mistake in a module a bundled upload imports: found by the bundler on this machine,
    // at the same 1-based place.
    cli.file("entry.ts", 'import { f } from "./bad.ts";\nexport const handler = () => f();\n');
    const bundled = await cli(["handler", "upload", "cli-handler", "entry.ts"]);
    expect(bundled.code).toBe(1);
    expect(bundled.stderr.split("\n")[0]).toMatch(/^bad\.ts:2:15: error: Unexpected "}"/);

    cli.file("v2.ts", V2);
    expect((await cli(["handler", "upload", "cli-handler", "v2.ts"])).stdout).toMatch(/^uploaded version 2 /);

    const versions = await cli(["handler", "versions", "cli-handler"]);
    expect(versions.code).toBe(0);
    const rows = versions.stdout.trim().split("\n");
    expect(rows[0]).toMatch(/^VERSION\s+CURRENT\s+SHA256\s+SIZE\s+FILENAME\s+CREATED$/);
    expect(rows.find((r) => r.startsWith("2 "))).toMatch(/^2\s+\*\s+[0-9a-f]{16}\s+.*v2\.ts/);
    expect(rows.find((r) => r.startsWith("1 "))).toMatch(/^1\s+[0-9a-f]{16}\s+.*v1\.ts/);

    const show = await cli(["handler", "show", "cli-handler", "1"]);
    expect(show.code).toBe(0);
    expect(show.stdout).toBe(V1);
    expect(show.stderr).toContain("# version 1 of cli-handler: v1.ts");

    const back = await cli(["handler", "rollback", "cli-handler", "1"]);
    expect(back.code).toBe(0);
    expect(back.stdout).toMatch(
      new RegExp(`^cli-handler now runs version 1 sha256 ${sha} \\(revision \\d+\\)`),
    );
    const current = JSON.parse((await cli(["pipelines", "get", "cli-handler", "--json"])).stdout);
    expect(current.current_version.version).toBe(1);

    expect((await cli(["handler", "rollback", "cli-handler", "9"])).code).toBe(3);
    expect((await cli(["handler", "show", "cli-handler", "x"])).code).toBe(2);
    expect((await cli(["handler", "upload", "cli-handler", "missing.ts"])).code).toBe(2);
  });

  it("writes the served handler types next to a handler", async () => {
    const res = await cli(["handler", "types", "--out", "weir.d.ts"]);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^wrote weir\.d\.ts \(/);
    const dts = readFileSync(join(cli.dir, "weir.d.ts"), "utf8");
    const served = await fetch(`${api.url}/v1/types/handler.d.ts`, {
      headers: { authorization: `Bearer ${api.adminToken}` },
    });
    expect(dts).toBe(await served.text());
    expect(dts.length).toBeGreaterThan(100);
  });
});

describe("weir test", () => {
  it("prints rows, logs and timings; exits 1 with the error when an event throws", async () => {
    cli.file("v1.ts", V1);
    await cli(["handler", "upload", "cli-handler", "v1.ts"]);
    await cli(["handler", "rollback", "cli-handler", "1"]);
    cli.file("ok.ndjson", '{"n":1}\n\n{"n":2}\n');
    const ok = await cli(["test", "cli-handler", "ok.ndjson"]);
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(
      /^#0 ok {2}2 rows {2}[\d.]+ m?s\n {2}log info: seen \{"n":1\}\n {2}row \{"n":1\}\n {2}row \{"n":2\}\n/,
    );
    expect(ok.stdout).toMatch(/^2 events with version 1: 2 ok, 0 failed, 4 rows, /m);

    cli.file("mixed.ndjson", '{"n":1}\n{"n":2,"boom":true}\n{"n":3}\n');
    const mixed = await cli(["test", "cli-handler", "mixed.ndjson", "--no-rows"]);
    expect(mixed.code).toBe(1);
    expect(mixed.stdout).toMatch(/^#1 FAILED {2}0 rows .*\n {2}error HANDLER_ERROR: boom at 2\n/m);
    expect(mixed.stdout).not.toContain("  row ");
    expect(mixed.stdout).toMatch(/^3 events with version 1: 2 ok, 1 failed, 4 rows/m);
    expect(mixed.stderr).toBe("error: 1 of 3 events failed\n");

    const json = await cli(["test", "cli-handler", "mixed.ndjson", "--json"]);
    expect(json.code).toBe(1);
    const body = JSON.parse(json.stdout);
    expect(body.results.map((r: { ok: boolean }) => r.ok)).toEqual([true, false, true]);

    // --version picks an older handler; a JSON array file is many events
    cli.file("arr.json", JSON.stringify([{ n: 5 }]));
    const v2 = await cli(["test", "cli-handler", "arr.json", "--version", "2", "--json"]);
    expect(v2.code).toBe(0);
    expect(JSON.parse(v2.stdout).results[0].rows).toEqual([{ v2: 5 }]);

    cli.file("junk.ndjson", '{"n":1}\nnot json\n');
    const junk = await cli(["test", "cli-handler", "junk.ndjson"]);
    expect(junk.code).toBe(2);
    expect(junk.stderr).toMatch(/^error: USAGE: junk\.ndjson:2: not JSON/);
  });
});
