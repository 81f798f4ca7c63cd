import { Limits } from "@weir/core";
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_LIMITS, resolveLimits } from "./limits.ts";
import { rowsOf, sandboxFor } from "./test-helpers.ts";
import type { RunResult, Sandbox } from "./types.ts";

const open: Sandbox[] = [];
async function make(source: string, opts: Parameters<typeof sandboxFor>[1] = {}) {
  const s = await sandboxFor(source, opts);
  open.push(s);
  return s;
}
afterEach(() => {
  for (const s of open.splice(0)) s.dispose();
});

function failed(r: RunResult | undefined) {
  if (!r || r.ok) throw new Error(`expected failure, got ${JSON.stringify(r)}`);
  return r.error;
}

/** A handler that misbehaves when `data.mode` says so and otherwise echoes `data.n`. */
const MISBEHAVING = `
  export async function handler(data: { mode?: string; n?: number }) {
    switch (data.mode) {
      case "spin": for (;;) {}
      case "hang": await new Promise(() => {}); break;
      case "spin-after-await": await null; for (;;) {}
      case "grow": { const a: unknown[] = []; for (;;) a.push({ x: a.length, s: "y".repeat(64) }); }
      case "fill": return { n: new Array(2 ** 26).fill(7).length };
      case "repeat": return { n: "abcd".repeat(2 ** 26).length };
      case "big-string": { let s = "x"; for (;;) s += s; }
      case "buffer": return { n: new ArrayBuffer(2 ** 31).byteLength };
    }
    return { n: data.n };
  }`;

describe("limits", () => {
  it("defaults come from @weir/core's Limits schema and bad values are refused", () => {
    expect(DEFAULT_LIMITS).toEqual({
      memory_mb: 128,
      timeout_ms: 1000,
      max_output_bytes: 8 * 1024 * 1024,
      log_lines_per_second: 100,
      max_log_line_bytes: 8192,
    });
    expect(DEFAULT_LIMITS.memory_mb).toBe(Limits.properties.memory_mb.default);
    expect(resolveLimits({ timeout_ms: 50 }).timeout_ms).toBe(50);
    expect(() => resolveLimits({ memory_mb: 4 })).toThrow(/memory_mb/);
  });

  it.each([
    ["spin", "a synchronous infinite loop"],
    ["hang", "a promise that never settles"],
    ["spin-after-await", "a loop after an await"],
  ])("times out %s (%s), recycles the isolate and serves the rest of the batch", async (mode) => {
    const s = await make(MISBEHAVING, { limits: { timeout_ms: 150 } });
    const t0 = Date.now();
    const results = await s.runBatch([
      { value: '{"n":1}' },
      { value: JSON.stringify({ mode }) },
      { value: '{"n":3}' },
    ]);
    const elapsed = Date.now() - t0;
    expect(rowsOf(results[0]!)).toEqual([{ n: 1 }]);
    expect(failed(results[1])).toMatchObject({ code: "HANDLER_TIMEOUT", retryable: false });
    expect(failed(results[1]).message).toMatch(/timeout_ms \(150 ms/);
    expect(rowsOf(results[2]!)).toEqual([{ n: 3 }]);
    expect(elapsed).toBeLessThan(2000);
    expect(s.stats().recycles).toBe(1);
    // and the next call is served by the fresh isolate
    expect(rowsOf(await s.run('{"n":4}'))).toEqual([{ n: 4 }]);
  });

  it("bounds time per message, not per batch", async () => {
    const s = await make(
      `export function handler() { const end = Date.now() + 40; while (Date.now() < end) {} return { ok: 1 }; }`,
      { limits: { timeout_ms: 100 } },
    );
    const results = await s.runBatch(Array.from({ length: 6 }, () => ({ value: "{}" })));
    expect(results.map((r) => (r.ok ? "ok" : r.error.message))).toEqual(Array(6).fill("ok"));
    expect(s.stats().recycles).toBe(0);
  });

  it.each([
    ["grow", "an ever-growing array"],
    ["fill", "Array.fill on a huge array"],
    ["big-string", "a doubling string"],
    ["buffer", "a 2 GB ArrayBuffer"],
    ["repeat", "a 256 MB String.repeat"],
  ])("fails %s (%s) without crashing the host and recovers", async (mode) => {
    const s = await make(MISBEHAVING, { limits: { memory_mb: 32, timeout_ms: 5000 } });
    const results = await s.runBatch([{ value: JSON.stringify({ mode }) }, { value: '{"n":2}' }]);
    const err = failed(results[0]);
    // A huge string or buffer may be refused by V8 itself (RangeError) before the heap limit trips.
    expect(["HANDLER_MEMORY", "HANDLER_ERROR"]).toContain(err.code);
    if (err.code === "HANDLER_ERROR") expect(err.name).toBe("RangeError");
    else expect(err.message).toMatch(/memory_mb \(32 MB\)/);
    expect(rowsOf(results[1]!)).toEqual([{ n: 2 }]);
  });

  it("reports HANDLER_MEMORY for a heap that outgrows memory_mb", async () => {
    const s = await make(MISBEHAVING, { limits: { memory_mb: 32, timeout_ms: 20_000 } });
    const err = failed(await s.run('{"mode":"grow"}'));
    expect(err.code).toBe("HANDLER_MEMORY");
    expect(s.stats().recycles).toBe(1);
  });

  it("fails unserializable output per message: BigInt, cycles, functions, non-object rows", async () => {
    const s = await make(`
      export function handler(d: { kind: string }) {
        if (d.kind === "bigint") return { n: 10n };
        if (d.kind === "cycle") { const o: any = { a: 1 }; o.self = o; return o; }
        if (d.kind === "function") return [{ ok: 1 }, { f: () => 1 }];
        if (d.kind === "number") return [1, 2];
        if (d.kind === "string") return "row";
        return { fine: true };
      }`);
    const kinds = ["bigint", "cycle", "function", "number", "string", "fine"];
    const results = await s.runBatch(kinds.map((kind) => ({ value: JSON.stringify({ kind }) })));
    expect(failed(results[0]).message).toMatch(/row 0 cannot be serialized.*BigInt/);
    expect(failed(results[1]).message).toMatch(/row 0 cannot be serialized.*circular/i);
    expect(failed(results[2]).message).toMatch(/row 1 cannot be serialized.*function/);
    expect(failed(results[3]).message).toMatch(/row 0 is a number/);
    expect(failed(results[4]).message).toMatch(/row 0 is a string/);
    for (const r of results.slice(0, 5)) expect(failed(r).code).toBe("HANDLER_OUTPUT");
    expect(rowsOf(results[5]!)).toEqual([{ fine: true }]);
    expect(s.stats().recycles).toBe(0);
  });

  it("fails output over max_output_bytes per message", async () => {
    const s = await make(
      `export const handler = (d: { n: number }) => Array.from({ length: d.n }, (_, i) => ({ i, pad: "x".repeat(100) }));`,
      { limits: { max_output_bytes: 4096 } },
    );
    const [small, big] = await s.runBatch([{ value: '{"n":10}' }, { value: '{"n":100}' }]);
    expect(small).toMatchObject({ ok: true, rowCount: 10 });
    expect(failed(big)).toMatchObject({ code: "HANDLER_OUTPUT" });
    expect(failed(big).message).toMatch(/max_output_bytes \(4096\)/);
  });

  it("splits a batch whose output is large into several isolate calls without losing rows", async () => {
    // 40 messages x 1000 rows x ~500 chars = ~20 MB, over the 16 MB per-call chunk.
    const s = await make(
      `export const handler = (d: { m: number }) => Array.from({ length: 1000 }, (_, i) => ({ m: d.m, i, pad: "x".repeat(480) }));`,
    );
    const results = await s.runBatch(Array.from({ length: 40 }, (_, m) => ({ value: `{"m":${m}}` })));
    expect(results.map((r) => (r.ok ? r.rowCount : -1))).toEqual(Array(40).fill(1000));
    const last = rowsOf(results[39]!);
    expect(last[999]).toMatchObject({ m: 39, i: 999 });
  });

  it("accounts CPU time across recycled isolates", async () => {
    const s = await make(
      `export function handler(d: { ms: number; mode?: string }) {
        if (d.mode === "spin") for (;;) {}
        const end = Date.now() + d.ms; while (Date.now() < end) {} return null; }`,
      { limits: { timeout_ms: 100 } },
    );
    await s.run('{"ms":60}');
    expect(s.stats().heapUsedBytes).toBeGreaterThan(0);
    const before = s.stats().cpuTimeMs;
    expect(before).toBeGreaterThan(10); // loose: a busy 60 ms may get less CPU on a loaded CI box
    await s.run('{"ms":0,"mode":"spin"}');
    const after = s.stats();
    expect(after.recycles).toBe(1);
    expect(after.cpuTimeMs).toBeGreaterThan(before + 10); // the retired isolate's CPU is kept
  });

  it("surfaces load-time faults at creation", async () => {
    await expect(
      sandboxFor(`throw new Error("top-level boom"); export const handler = () => null;`),
    ).rejects.toMatchObject({
      code: "HANDLER_ERROR",
      message: expect.stringContaining("top-level boom"),
    });
    await expect(
      sandboxFor(`for (;;) {} export const handler = () => null;`, { limits: { timeout_ms: 100 } }),
    ).rejects.toMatchObject({ code: "HANDLER_TIMEOUT" });
  });
});
