/**
 * The typed retry errors (issue 18 item 3): `NonRetryableError` and `RetryAfterError(ms)` are
 * isolate globals; a throw of either gets its own code (the delay clamped and in `details`), in
 * the in-process and the process sandbox; every other throw is still HANDLER_ERROR.
 */
import { afterEach, describe, expect, it } from "vitest";
import { compileHandler } from "./compile.ts";
import { RETRY_AFTER_MAX_MS } from "./isolate/protocol.ts";
import { createProcessSandbox } from "./process/sandbox.ts";
import { rowsOf, sandboxFor } from "./test-helpers.ts";
import type { RunResult, Sandbox } from "./types.ts";

const open: Sandbox[] = [];
async function make(source: string) {
  const s = await sandboxFor(source);
  open.push(s);
  return s;
}
afterEach(async () => {
  for (const s of open.splice(0)) await s.dispose();
});

function failed(r: RunResult | undefined) {
  if (!r || r.ok) throw new Error(`expected failure, got ${JSON.stringify(r)}`);
  return r.error;
}

/** Throws what `data.how` names; `ok` returns a row. */
const THROWER = [
  "class Own extends Error {}",
  "class Later extends RetryAfterError {}",
  "export async function handler(data: { how: string; ms?: any }) {",
  "  if (data.how === 'non') throw new NonRetryableError('bad record');",
  "  if (data.how === 'retry') throw new RetryAfterError(data.ms);",
  "  if (data.how === 'retry-msg') throw new RetryAfterError(data.ms, 'rate limited');",
  "  if (data.how === 'async-retry') { await null; throw new RetryAfterError(250); }",
  "  if (data.how === 'sub') throw new Later(300, 'subclass');",
  "  if (data.how === 'plain') throw new Error('plain');",
  "  if (data.how === 'own') throw new Own('own class');",
  "  if (data.how === 'lookalike') throw { name: 'RetryAfterError', message: 'x', retryAfterMs: 5 };",
  "  if (data.how === 'string') throw 'RetryAfterError';",
  "  return { ok: data.how };",
  "}",
].join("\n");

const msg = (how: string, ms?: unknown) => ({ value: JSON.stringify({ how, ms }) });

describe("typed retry errors", () => {
  it("classifies NonRetryableError and RetryAfterError, with the delay and the throw site", async () => {
    const s = await make(THROWER);
    const [non, retry, withMsg, asyncRetry, sub, ok] = await s.runBatch([
      msg("non"),
      msg("retry", 200),
      msg("retry-msg", 1500),
      msg("async-retry"),
      msg("sub"),
      msg("ok"),
    ]);
    expect(failed(non)).toMatchObject({
      code: "HANDLER_NON_RETRYABLE",
      name: "NonRetryableError",
      message: "bad record",
      retryable: false,
      details: { location: { file: "handler.ts", line: 4 } },
    });
    expect(failed(non).details).not.toHaveProperty("retry_after_ms");
    expect(failed(retry)).toMatchObject({
      code: "HANDLER_RETRY_AFTER",
      name: "RetryAfterError",
      message: "retry after 200 ms",
      retryable: true,
      details: { retry_after_ms: 200, location: { file: "handler.ts", line: 5 } },
    });
    expect(failed(retry).stack).toContain("handler.ts:5:");
    expect(failed(retry).stack).not.toContain("weir-runtime");
    expect(failed(withMsg)).toMatchObject({
      code: "HANDLER_RETRY_AFTER",
      message: "rate limited",
      details: { retry_after_ms: 1500 },
    });
    expect(failed(asyncRetry)).toMatchObject({
      code: "HANDLER_RETRY_AFTER",
      details: { retry_after_ms: 250 },
    });
    expect(failed(sub)).toMatchObject({
      code: "HANDLER_RETRY_AFTER",
      message: "subclass",
      details: { retry_after_ms: 300 },
    });
    expect(rowsOf(ok!)).toEqual([{ ok: "ok" }]);
  });

  it(`clamps the delay to 0..${RETRY_AFTER_MAX_MS} ms and rounds it`, async () => {
    const s = await make(THROWER);
    const delays = [10 * 60_000, -5, "soon", null, 12.6, "750", 1e308];
    const results = await s.runBatch(delays.map((ms) => msg("retry", ms)));
    expect(results.map((r) => failed(r).details?.retry_after_ms)).toEqual([
      RETRY_AFTER_MAX_MS,
      0,
      0,
      0,
      13,
      750,
      RETRY_AFTER_MAX_MS,
    ]);
    expect(results.every((r) => failed(r).code === "HANDLER_RETRY_AFTER")).toBe(true);
  });

  it("keeps every other throw a HANDLER_ERROR (look-alikes included)", async () => {
    const s = await make(THROWER);
    const results = await s.runBatch(["plain", "own", "lookalike", "string"].map((how) => msg(how)));
    expect(results.map((r) => [failed(r).code, failed(r).retryable, failed(r).name])).toEqual([
      ["HANDLER_ERROR", false, "Error"],
      ["HANDLER_ERROR", false, "Error"],
      ["HANDLER_ERROR", false, "RetryAfterError"],
      ["HANDLER_ERROR", false, "Error"],
    ]);
    for (const r of results) expect(failed(r).details ?? {}).not.toHaveProperty("retry_after_ms");
  });

  it("defines the classes inside the isolate: instanceof, names and the delay read back in handler code", async () => {
    const s = await make(`
      class Mine extends NonRetryableError {}
      export function handler() {
        const r = new RetryAfterError(99);
        const n = new NonRetryableError("n", { cause: "why" });
        const m = new Mine("m");
        try { (r as any).retryAfterMs = 5; } catch {}
        return {
          r: [r instanceof RetryAfterError, r instanceof Error, r instanceof NonRetryableError, r.name, r.retryAfterMs, r.message],
          n: [n instanceof NonRetryableError, n instanceof Error, n.name, n.message, (n as any).cause],
          m: [m instanceof NonRetryableError, m instanceof Mine],
          kinds: [typeof NonRetryableError, typeof RetryAfterError, Object.getPrototypeOf(RetryAfterError) === Error],
          readOnly: r.retryAfterMs,
          keys: Object.keys(r),
        };
      }`);
    expect(rowsOf(await s.run("{}"))).toEqual([
      {
        r: [true, true, false, "RetryAfterError", 99, "retry after 99 ms"],
        n: [true, true, "NonRetryableError", "n", "why"],
        m: [true, true],
        kinds: ["function", "function", true],
        readOnly: 99,
        keys: ["retryAfterMs"],
      },
    ]);
  });

  it("isolates' classes are their own: replacing the global does not make other throws retryable", async () => {
    const s = await make(`
      const Original = RetryAfterError;
      (globalThis as any).RetryAfterError = class RetryAfterError extends Error { retryAfterMs = 10 };
      export function handler(d: { original: boolean }) {
        if (d.original) throw new Original(10);
        throw new RetryAfterError(10);
      }`);
    const [orig, replaced] = await s.runBatch([
      { value: '{"original":true}' },
      { value: '{"original":false}' },
    ]);
    expect(failed(orig)).toMatchObject({ code: "HANDLER_RETRY_AFTER", details: { retry_after_ms: 10 } });
    expect(failed(replaced)).toMatchObject({ code: "HANDLER_ERROR", name: "Error" });
  });

  it("carries the codes and the delay through the process sandbox (the API's test runs)", async () => {
    const compiled = await compileHandler(THROWER, { filename: "handler.ts" });
    if (!compiled.ok) throw new Error(JSON.stringify(compiled.diagnostics));
    const s = await createProcessSandbox({ code: compiled.code, sourceMap: compiled.sourceMap });
    open.push(s);
    const [non, retry, plain] = await s.runBatch([msg("non"), msg("retry", 70_000), msg("plain")]);
    expect(failed(non)).toMatchObject({ code: "HANDLER_NON_RETRYABLE", retryable: false });
    expect(failed(retry)).toMatchObject({
      code: "HANDLER_RETRY_AFTER",
      retryable: true,
      details: { retry_after_ms: RETRY_AFTER_MAX_MS, location: { file: "handler.ts", line: 5 } },
    });
    expect(failed(plain)).toMatchObject({ code: "HANDLER_ERROR", retryable: false });
  });
});
