/**
 * runHandler / loadHandler on real files in the real sandbox (isolated-vm): a handler of two files and
 * an npm package (packages/testing/fixtures/bundle-handler), a raw source with the sandbox globals,
 * the pipeline's limits (timeout, output, log rate), formats, compile errors with 1-based places, and
 * the refusal on a Node started without --no-node-snapshot.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  BUNDLE_FIXTURE_THROW,
  bundleFixtureEntry,
  bundleFixtureRow,
} from "../../testing/src/bundle-fixture.ts";
import { type CompileDiagnostic, compileEntry, loadHandler, readSamples, runHandler } from "./testing.ts";

/** A scratch project: `files` maps relative paths to contents. */
function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "weir-testing-"));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

async function rejection(p: Promise<unknown>): Promise<{ code: string; message: string; details: never }> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeDefined();
  return err as { code: string; message: string; details: never };
}

describe("runHandler", () => {
  it("bundles a handler of two files and an npm package and runs it in the sandbox, mapping stacks to the original file", async () => {
    const results = await runHandler(bundleFixtureEntry(), [
      { id: 1, v: "a" },
      { id: 2, boom: true },
      { id: 3 },
    ]);
    expect(results.map((r) => r.ok)).toEqual([true, false, true]);
    expect(results[0]!.rows).toEqual([bundleFixtureRow(1, "a")]);
    expect(results[0]!.ndjson).toBe(JSON.stringify(bundleFixtureRow(1, "a")));
    expect(results[2]!.rows).toEqual([bundleFixtureRow(3)]);
    expect(results[1]).toMatchObject({ index: 1, rows: [], ndjson: "", error: { code: "HANDLER_ERROR" } });
    expect(results[1]!.error!.message).toBe("boom at 2");
    expect(results[1]!.error!.stack).toContain(BUNDLE_FIXTURE_THROW);
    for (const r of results) expect(r.durationMs).toBeGreaterThanOrEqual(0);
  });

  it("runs a source string as a raw upload with the sandbox globals, env and log records", async () => {
    const source = `
      declare const hash: { md5(s: string): string };
      declare const env: Record<string, string>;
      export function handler(data: { n: number }, log: { info(m: string, f?: object): void }) {
        log.info("seen", { n: data.n });
        if (data.n === 0) return null;
        return [{ n: data.n, md5: hash.md5("abc"), region: env.REGION }, { n: -data.n }];
      }`;
    const results = await runHandler({ source, filename: "mine.ts" }, [{ n: 2 }, { n: 0 }], {
      env: { REGION: "eu" },
      topic: "t1",
    });
    expect(results[0]!.rows).toEqual([
      { n: 2, md5: "900150983cd24fb0d6963f7d28e17f72", region: "eu" },
      { n: -2 },
    ]);
    expect(results[0]!.ndjson).toBe(
      '{"n":2,"md5":"900150983cd24fb0d6963f7d28e17f72","region":"eu"}\n{"n":-2}',
    );
    expect(results[1]).toMatchObject({ ok: true, rows: [], ndjson: "" });
    expect(results[0]!.logs).toEqual([
      {
        time: expect.any(Number),
        level: "info",
        message: "seen",
        source: "handler",
        fields: { n: 2 },
        topic: "t1",
        partition: 0,
        offset: "0",
      },
    ]);
    expect(results[1]!.logs[0]).toMatchObject({ fields: { n: 0 }, offset: "1" });
  });

  it("applies the pipeline's limits: a timeout recycles the isolate and the next event still runs", async () => {
    const source = `export function handler(d: { spin?: boolean; big?: boolean }, log: { info(m: string): void }) {
      if (d.spin) for (;;) {}
      if (d.big) return { s: "x".repeat(5000) };
      for (let i = 0; i < 5; i++) log.info("line " + i);
      return { ok: 1 };
    }`;
    const results = await runHandler({ source }, [{ spin: true }, {}, { big: true }, {}], {
      limits: { timeout_ms: 100, max_output_bytes: 2048, log_lines_per_second: 3 },
    });
    expect(results[0]).toMatchObject({ ok: false, error: { code: "HANDLER_TIMEOUT" } });
    expect(results[0]!.error!.message).toContain("timeout_ms (100 ms");
    expect(results[1]).toMatchObject({ ok: true, rows: [{ ok: 1 }] });
    expect(results[2]).toMatchObject({ ok: false, error: { code: "HANDLER_OUTPUT" } });
    // 3 lines a second for the whole handler: the first event's 3 pass, the rest are dropped.
    expect(results[1]!.logs.map((l) => l.message)).toEqual(["line 0", "line 1", "line 2"]);
    expect(results[3]!.logs).toEqual([]);
  });

  it("reports the typed retry errors as the worker sees them", async () => {
    const source = `declare class NonRetryableError extends Error {}
      declare class RetryAfterError extends Error { constructor(ms: number, message?: string) }
      export function handler(d: { kind: string }) {
        if (d.kind === "bad") throw new NonRetryableError("refused value");
        if (d.kind === "later") throw new RetryAfterError(250, "rate limited");
        return { ok: d.kind };
      }`;
    const [bad, later, fine] = await runHandler({ source }, [
      { kind: "bad" },
      { kind: "later" },
      { kind: "x" },
    ]);
    expect(bad).toMatchObject({
      ok: false,
      error: { code: "HANDLER_NON_RETRYABLE", message: "refused value" },
    });
    expect(later).toMatchObject({
      ok: false,
      error: { code: "HANDLER_RETRY_AFTER", message: "rate limited" },
    });
    expect(JSON.stringify(later!.error!.details)).toContain("250");
    expect(fine).toMatchObject({ ok: true, rows: [{ ok: "x" }] });
  });

  it("takes values as JSON, strings for text, and message values as they are with raw", async () => {
    const source =
      "export function handler(d: unknown) { return { type: Array.isArray(d) ? 'array' : typeof d, d } }";
    const [asValue] = await runHandler({ source }, ["[1,2]"]);
    expect(asValue!.rows).toEqual([{ type: "string", d: "[1,2]" }]);
    const [asRaw] = await runHandler({ source }, ["[1,2]"], { raw: true });
    expect(asRaw!.rows).toEqual([{ type: "array", d: [1, 2] }]);
    const [asText] = await runHandler({ source }, ["[1,2]"], { format: "text" });
    expect(asText!.rows).toEqual([{ type: "string", d: "[1,2]" }]);
    const [badRaw] = await runHandler({ source }, ["{nope"], { raw: true });
    expect(badRaw).toMatchObject({ ok: false, error: { code: "DECODE_ERROR" } });
    // Bytes go to the OTLP protobuf decoder in the isolate: these are no ExportTraceServiceRequest.
    const [proto] = await runHandler({ source }, [new Uint8Array([0xff, 0xff, 0xff])], {
      format: "otlp_proto_traces",
    });
    expect(proto).toMatchObject({ ok: false, error: { code: "DECODE_ERROR" } });
    const bytes = await rejection(runHandler({ source }, [new Uint8Array([1])]));
    expect(bytes).toMatchObject({ code: "VALIDATION", message: expect.stringContaining("events[0]") });
    const limits = await rejection(runHandler({ source }, [], { limits: { timeout_ms: 0 } }));
    expect(limits).toMatchObject({
      code: "VALIDATION",
      message: expect.stringContaining("limits.timeout_ms"),
    });
  });

  it("rejects a handler that does not bundle or compile with 1-based file:line:column diagnostics", async () => {
    const dir = project({
      "index.ts": 'import { f } from "./lib/bad.ts";\nexport function handler() { return f(); }\n',
      "lib/bad.ts": "export function f() {\n  return {a: 1;\n}\n",
      "node.ts":
        'import { readFileSync } from "node:fs";\nexport function handler() { return readFileSync; }\n',
      "none.ts": "export const x = 1;\n",
    });
    const syntax = await rejection(runHandler(join(dir, "index.ts"), [{}]));
    expect(syntax.code).toBe("COMPILE_ERROR");
    const [d] = (syntax.details as { diagnostics: CompileDiagnostic[] }).diagnostics;
    // `  return {a: 1;`: esbuild wants "}" where the ";" is, line 2, column 15 (1-based) of lib/bad.ts.
    expect(d).toMatchObject({
      file: "lib/bad.ts",
      line: 2,
      column: 15,
      message: 'Expected "}" but found ";"',
    });
    const builtin = await rejection(runHandler("node.ts", [{}], { cwd: dir }));
    expect(builtin.code).toBe("COMPILE_ERROR");
    expect(builtin.message).toContain('cannot import "node:fs"');
    const none = await rejection(runHandler(join(dir, "none.ts"), [{}]));
    expect(none.code).toBe("MISSING_HANDLER_EXPORT");
    const missing = await rejection(runHandler(join(dir, "nope.ts"), [{}]));
    expect(missing.code).toBe("VALIDATION");
    const thrown = await rejection(
      runHandler({ source: "throw new Error('at load'); export function handler() {}" }, []),
    );
    expect(thrown).toMatchObject({ code: "HANDLER_ERROR", message: expect.stringContaining("at load") });
  });

  it("loadHandler keeps one sandbox for many runs and lists the handler's own files to watch", async () => {
    const h = await loadHandler(new URL(`file://${bundleFixtureEntry()}`));
    try {
      const fixture = dirname(bundleFixtureEntry());
      expect(h.compiled.filename).toBe("index.ts");
      expect(h.compiled.files.sort()).toEqual([join(fixture, "index.ts"), join(fixture, "lib/rows.ts")]);
      expect(h.compiled.manifest?.packages.map((p) => p.name)).toEqual(["uuid"]);
      expect(h.compiled.uploadBytes).toBeGreaterThan(1000);
      expect((await h.run([{ id: 7 }]))[0]!.rows).toEqual([bundleFixtureRow(7)]);
      expect((await h.run(['{"id": 8}'], { raw: true }))[0]!.rows).toEqual([bundleFixtureRow(8)]);
      expect(h.droppedLogLines()).toBe(0);
    } finally {
      h.dispose();
    }
    const compiled = await compileEntry({ source: "export const handler = () => null;" });
    expect(compiled).toMatchObject({ filename: "handler.ts", manifest: null, files: [] });
  });

  it("refuses to load on a Node started without --no-node-snapshot, saying how to start it", () => {
    const dir = project({
      "run.ts": `import { runHandler } from ${JSON.stringify(fileURLToPath(new URL("./testing.ts", import.meta.url)))};
try { await runHandler({ source: "export const handler = () => null;" }, [{}]); console.log("loaded"); }
catch (e) { console.log(JSON.stringify({ code: (e as { code: string }).code, message: (e as Error).message })); }`,
    });
    const env = { ...process.env, NODE_OPTIONS: "" };
    const without = spawnSync(process.execPath, [join(dir, "run.ts")], { env, encoding: "utf8" });
    const out = JSON.parse(without.stdout.trim().split("\n").pop()!);
    expect(out.code).toBe("VALIDATION");
    expect(out.message).toContain("node --no-node-snapshot --test");
    const withFlag = spawnSync(process.execPath, ["--no-node-snapshot", join(dir, "run.ts")], {
      env,
      encoding: "utf8",
    });
    expect(withFlag.stdout.trim()).toBe("loaded");
  });
});

describe("readSamples", () => {
  it("reads NDJSON lines as they are and JSON arrays element by element", () => {
    const dir = project({
      "a.ndjson": '{"n": 123456789012345678901}\n\n  [1]  \n',
      "b.json": '[{"a":1}, 2]',
      "c.ndjson": '{"ok":1}\n{bad\n',
    });
    expect(readSamples(join(dir, "a.ndjson"))).toEqual(['{"n": 123456789012345678901}', "[1]"]);
    expect(readSamples(resolve(dir, "b.json"))).toEqual(['{"a":1}', "2"]);
    expect(() => readSamples(join(dir, "c.ndjson"))).toThrow(/c\.ndjson:2: not JSON/);
  });
});
