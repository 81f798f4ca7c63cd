import { afterEach, describe, expect, it } from "vitest";
import { rowsOf, sandboxFor } from "./test-helpers.ts";
import type { RunResult, Sandbox } from "./types.ts";

const open: Sandbox[] = [];
async function make(source: string, opts = {}) {
  const s = await sandboxFor(source, opts);
  open.push(s);
  return s;
}
afterEach(() => {
  for (const s of open.splice(0)) s.dispose();
});

function failed(r: RunResult) {
  if (r.ok) throw new Error(`expected failure, got rows ${r.rows}`);
  return r.error;
}

describe("handler contract", () => {
  it("returns one object as one row, an array as many rows, null/undefined/[] as a drop", async () => {
    const s = await make(`
      export function handler(data: { kind: string; n: number }) {
        if (data.kind === "one") return { n: data.n };
        if (data.kind === "many") return [{ i: 1 }, { i: 2 }, { i: 3 }];
        if (data.kind === "null") return null;
        if (data.kind === "empty") return [];
        return undefined;
      }`);
    const [one, many, nul, empty, undef] = await s.runBatch(
      ["one", "many", "null", "empty", "undef"].map((kind) => ({ value: JSON.stringify({ kind, n: 7 }) })),
    );
    expect(rowsOf(one!)).toEqual([{ n: 7 }]);
    expect(one).toMatchObject({ ok: true, rowCount: 1, rows: '{"n":7}' });
    expect(many).toMatchObject({ ok: true, rowCount: 3, rows: '{"i":1}\n{"i":2}\n{"i":3}' });
    for (const r of [nul, empty, undef]) expect(r).toMatchObject({ ok: true, rowCount: 0, rows: "" });
  });

  it("awaits async handlers", async () => {
    const s = await make(`
      export async function handler(data: { n: number }) {
        await null;
        const doubled = await Promise.resolve(data.n * 2);
        return { doubled };
      }`);
    const results = await s.runBatch([1, 2, 3].map((n) => ({ value: JSON.stringify({ n }) })));
    expect(results.map((r) => rowsOf(r))).toEqual([[{ doubled: 2 }], [{ doubled: 4 }], [{ doubled: 6 }]]);
  });

  it("keeps results in order when sync and async messages mix", async () => {
    const s = await make(`
      export function handler(data: { n: number }) {
        return data.n % 2 ? Promise.resolve({ n: data.n }) : { n: data.n };
      }`);
    const results = await s.runBatch(Array.from({ length: 20 }, (_, n) => ({ value: `{"n":${n}}` })));
    expect(results.map((r) => rowsOf(r)[0])).toEqual(Array.from({ length: 20 }, (_, n) => ({ n })));
  });

  it("fails only the throwing message, with name, message and a stack on the TypeScript line", async () => {
    const s = await make(
      [
        "interface Input { fail?: boolean }",
        "",
        "function check(data: Input): void {",
        "  if (data.fail) throw new RangeError('bad input');",
        "}",
        "",
        "export function handler(data: Input) {",
        "  check(data);",
        "  return { ok: true };",
        "}",
      ].join("\n"),
    );
    const [a, b, c] = await s.runBatch([{ value: "{}" }, { value: '{"fail":true}' }, { value: "{}" }]);
    expect(rowsOf(a!)).toEqual([{ ok: true }]);
    expect(rowsOf(c!)).toEqual([{ ok: true }]);
    const err = failed(b!);
    expect(err).toMatchObject({
      code: "HANDLER_ERROR",
      name: "RangeError",
      message: "bad input",
      retryable: false,
    });
    expect(err.stack).toContain("handler.ts:4:");
    expect(err.stack).toContain("handler.ts:8:");
    expect(err.stack).not.toContain("weir-runtime");
    expect(err.details).toMatchObject({ location: { file: "handler.ts", line: 4 } });
  });

  it("fails rejected promises and thrown non-errors per message", async () => {
    const s = await make(`
      export async function handler(data: { how: string }) {
        if (data.how === "reject") throw new TypeError("async boom");
        if (data.how === "string") throw "just a string";
        return { fine: 1 };
      }`);
    const [rej, str, ok] = await s.runBatch(
      ["reject", "string", "ok"].map((how) => ({ value: JSON.stringify({ how }) })),
    );
    expect(failed(rej!)).toMatchObject({ code: "HANDLER_ERROR", name: "TypeError", message: "async boom" });
    expect(failed(str!)).toMatchObject({ code: "HANDLER_ERROR", name: "Error", message: "just a string" });
    expect(rowsOf(ok!)).toEqual([{ fine: 1 }]);
  });

  it("parses json in the isolate: invalid JSON is a DECODE_ERROR; text passes the string", async () => {
    const s = await make(`export const handler = (data: unknown) => ({ type: typeof data, data });`);
    const [bad, good, text] = await s.runBatch([
      { value: "{not json" },
      { value: '{"a":[1,2]}' },
      { value: "{not json", meta: { format: "text" } },
    ]);
    expect(failed(bad!)).toMatchObject({ code: "DECODE_ERROR", name: "SyntaxError" });
    expect(rowsOf(good!)).toEqual([{ type: "object", data: { a: [1, 2] } }]);
    expect(rowsOf(text!)).toEqual([{ type: "string", data: "{not json" }]);
  });

  it("run() handles one message and rows are valid NDJSON for awkward strings", async () => {
    const s = await make(`export const handler = (d: { s: string }) => [{ s: d.s }, { s: d.s + "\\n2" }];`);
    const weird = 'line\nbreak "quote" \u2028 tab\t emoji 😀 nul \u0000';
    const r = await s.run(JSON.stringify({ s: weird }), { topic: "t", partition: 0, offset: "5" });
    if (!r.ok) throw new Error("expected ok");
    expect(r.rows.split("\n")).toHaveLength(2);
    expect(rowsOf(r)).toEqual([{ s: weird }, { s: `${weird}\n2` }]);
  });

  it("loads the compiled script once per isolate, not per message", async () => {
    const s = await make(`
      let loads = (globalThis as any).__loads = ((globalThis as any).__loads ?? 0) + 1;
      let calls = 0;
      export function handler() { calls++; return { loads, calls }; }`);
    const results = await s.runBatch(Array.from({ length: 5 }, () => ({ value: "{}" })));
    await s.run("{}");
    expect(results.map((r) => rowsOf(r)[0])).toEqual([1, 2, 3, 4, 5].map((calls) => ({ loads: 1, calls })));
  });

  it("rejects with SANDBOX_DISPOSED after dispose()", async () => {
    const s = await make("export const handler = () => null;");
    s.dispose();
    await expect(s.run("{}")).rejects.toMatchObject({ code: "SANDBOX_DISPOSED" });
  });
});
