/**
 * Escape attempts against a real isolate. Each handler tries a route out and reports what it
 * reached; every test also checks the sandbox keeps serving afterwards.
 */
import { afterEach, describe, expect, it } from "vitest";
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

const ECHO_FALLBACK = `if ((data as any)?.echo !== undefined) return { echo: (data as any).echo };`;

async function stillServes(s: Sandbox): Promise<void> {
  expect(rowsOf(await s.run('{"echo":42}'))).toEqual([{ echo: 42 }]);
}

function only(r: RunResult): Record<string, unknown> {
  return rowsOf(r)[0] as Record<string, unknown>;
}

describe("containment", () => {
  it("has no require, process, Node modules, file system, network or host timers", async () => {
    const s = await make(`export async function handler(data: unknown) {
      ${ECHO_FALLBACK}
      const g = globalThis as any;
      const names = ["require", "process", "module", "Buffer", "fetch", "XMLHttpRequest", "WebSocket",
        "setTimeout", "setInterval", "setImmediate", "queueMicrotask", "global", "ivm", "_ivm", "WebAssembly",
        "__weir_run", "__weir_boot", "__weir_define", "__weir_loaded"];
      const present = names.filter((n) => typeof g[n] !== "undefined");
      let dynamicImport = "ok";
      try { await (0, eval)("import('node:fs')"); } catch (e: any) { dynamicImport = e.name + ": " + e.message; }
      return { present, dynamicImport, globals: Object.getOwnPropertyNames(g).sort() };
    }`);
    const out = only(await s.run("{}"));
    expect(out.present).toEqual([]);
    expect(out.dynamicImport).not.toBe("ok");
    // Every global is a V8 builtin or a documented stdlib name: nothing from the host leaked in.
    const allowedExtras = [
      "NonRetryableError",
      "RetryAfterError",
      "TextDecoder",
      "TextEncoder",
      "atob",
      "base64",
      "btoa",
      "console",
      "env",
      "hash",
      "structuredClone",
    ];
    const builtins = (out.globals as string[]).filter((n) => !allowedExtras.includes(n));
    for (const name of builtins)
      expect(name).toMatch(
        /^[A-Z]|^(globalThis|parseInt|parseFloat|isNaN|isFinite|decodeURI|decodeURIComponent|encodeURI|encodeURIComponent|escape|unescape|eval|undefined)$/,
      );
    await stillServes(s);
  });

  it("constructor chains reach only the isolate's own Function, never the host's", async () => {
    const s = await make(`export function handler(data: any, log: any) {
      ${ECHO_FALLBACK}
      const routes: Record<string, unknown> = {
        fromData: data.constructor.constructor("return typeof process + '/' + typeof require")(),
        fromLog: log.info.constructor("return typeof process")(),
        fromHash: (hash.md5 as any).constructor("return this === globalThis")(),
        fromConsole: (console.log as any).constructor.constructor("return typeof globalThis.process")(),
        fromError: (() => { try { null!.x; } catch (e: any) { return e.constructor.constructor("return typeof process")(); } })(),
        fromProto: Object.getPrototypeOf(async function () {}).constructor("return typeof process")() instanceof Promise,
      };
      return routes;
    }`);
    const out = only(await s.run("{}"));
    expect(out).toEqual({
      fromData: "undefined/undefined",
      fromLog: "undefined",
      fromHash: true,
      fromConsole: "undefined",
      fromError: "undefined",
      fromProto: true,
    });
    await stillServes(s);
  });

  it("returned __proto__ keys stay data: host prototypes are not polluted", async () => {
    const s = await make(`export function handler(data: unknown) {
      ${ECHO_FALLBACK}
      const row = JSON.parse('{"__proto__": {"polluted": "yes"}, "constructor": {"prototype": {"polluted": "yes"}}, "a": 1}');
      (Object.prototype as any).pollutedInside = "only in the isolate";
      return [row, { ["__proto__"]: { polluted: "yes" } }];
    }`);
    const r = await s.run("{}");
    if (!r.ok) throw new Error("expected ok");
    const rows = r.rows.split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(Object.keys(rows[0]!)).toEqual(["__proto__", "constructor", "a"]);
    const probe: Record<string, unknown> = {};
    expect(probe.polluted).toBeUndefined();
    expect(probe.pollutedInside).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    await stillServes(s);
  });

  it("log fields and error objects with hostile shapes come back as plain data", async () => {
    const s = await make(`export function handler(data: any, log: any) {
      ${ECHO_FALLBACK}
      log.info("proto", JSON.parse('{"__proto__": {"polluted": "yes"}}'));
      const err: any = { get name() { throw new Error("getter"); }, get message() { for (;;) {} } };
      if (data.throwHostile) throw { name: { toString() { throw 1; } }, message: Symbol("s") };
      return null;
    }`);
    const r = await s.run("{}");
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(r.logs[0]!.fields).toEqual(JSON.parse('{"__proto__": {"polluted": "yes"}}'));
    const hostile = await s.run('{"throwHostile": true}');
    expect(hostile.ok).toBe(false);
    if (!hostile.ok) expect(hostile.error).toMatchObject({ code: "HANDLER_ERROR", name: "Error" });
    await stillServes(s);
  });

  it("one pipeline cannot read or change another's globals or builtins", async () => {
    const writer = await make(
      `export function handler(data: unknown) {
      ${ECHO_FALLBACK}
      (globalThis as any).secret = "pipeline A's secret";
      (Array.prototype as any).map = () => "hijacked";
      (JSON as any).stringify = () => "not json";
      return { wrote: true };
    }`,
      { env: { TOKEN: "a-token" } },
    );
    const reader = await make(`export function handler(data: unknown) {
      ${ECHO_FALLBACK}
      return { secret: (globalThis as any).secret ?? null, map: [1].map((x) => x + 1), token: env.TOKEN ?? null };
    }`);
    expect(only(await writer.run("{}"))).toEqual({ wrote: true });
    expect(only(await reader.run("{}"))).toEqual({ secret: null, map: [2], token: null });
    // The writer's own later output is still valid JSON even though it replaced JSON.stringify.
    expect(only(await writer.run("{}"))).toEqual({ wrote: true });
  });

  it("unbounded recursion is a per-message error", async () => {
    const s = await make(`function down(n: number): number { return down(n + 1) + 1; }
      export function handler(data: unknown) { ${ECHO_FALLBACK} return { n: down(0) }; }`);
    const r = await s.run("{}");
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatchObject({ code: "HANDLER_ERROR", name: "RangeError" });
    await stillServes(s);
    expect(s.stats().recycles).toBe(0);
  });

  it("huge strings, huge arrays and log floods fail the message, not the worker", async () => {
    const s = await make(
      `export function handler(data: any, log: any) {
        ${ECHO_FALLBACK}
        if (data.kind === "string") return { s: "x".repeat(2 ** 30) };
        if (data.kind === "padded") return { s: "".padEnd(2 ** 29, "ab") };
        if (data.kind === "array") return { n: new Array(2 ** 30).fill(0).length };
        if (data.kind === "from") return { n: Array.from({ length: 2 ** 27 }).length };
        if (data.kind === "flood") { for (let i = 0; i < 1e6; i++) log.info("flood " + i, { i }); return { flooded: true }; }
        return null;
      }`,
      { limits: { memory_mb: 64, log_lines_per_second: 50 } },
    );
    const results = await s.runBatch(
      ["string", "padded", "array", "from", "flood"].map((kind) => ({ value: JSON.stringify({ kind }) })),
    );
    for (const r of results.slice(0, 4)) {
      expect(r.ok).toBe(false);
      if (!r.ok) expect(["HANDLER_ERROR", "HANDLER_MEMORY"]).toContain(r.error.code);
    }
    expect(rowsOf(results[4]!)).toEqual([{ flooded: true }]);
    expect(results[4]!.logs).toHaveLength(50);
    expect(s.stats().droppedLogLines).toBe(1e6 - 50);
    await stillServes(s);
  });
});
