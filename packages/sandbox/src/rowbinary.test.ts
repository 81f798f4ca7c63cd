import { ByteWriter, rowEncoder } from "@weir/core";
import { afterEach, describe, expect, it } from "vitest";
import { compileHandler } from "./compile.ts";
import { createProcessSandbox } from "./process/sandbox.ts";
import { sandboxFor } from "./test-helpers.ts";
import type { RunResult, Sandbox } from "./types.ts";

const columns = [
  { name: "id", type: "UInt64" },
  { name: "name", type: "String" },
  { name: "tags", type: "Array(String)" },
  { name: "score", type: "Nullable(Float64)" },
];

const open: Sandbox[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.dispose();
});

/** What the host-side encoder writes for these rows (the isolate must write the same bytes). */
function expected(rows: Record<string, unknown>[]): Uint8Array {
  const w = new ByteWriter(64);
  const enc = rowEncoder(columns);
  for (const r of rows) enc(w, r);
  return w.buf.slice(0, w.pos);
}

function ok(r: RunResult | undefined) {
  if (!r?.ok) throw new Error(`expected success, got ${JSON.stringify(r)}`);
  return r;
}

const HANDLER = `
  export function handler(data: { rows: unknown }) {
    return data.rows;
  }`;

describe("RowBinary output (config.rowBinary)", () => {
  it("encodes rows in the isolate, per message, without separators", async () => {
    const s = await sandboxFor(HANDLER, { rowBinary: columns });
    open.push(s);
    const a = [{ id: 1, name: "a", tags: ["x", "ÿ€😀"], score: 1.5 }];
    const b = [
      { id: "18446744073709551615", name: "b" },
      { id: 3, name: "c", score: null },
    ];
    const results = await s.runBatch([a, [], b].map((rows) => ({ value: JSON.stringify({ rows }) })));
    const ra = ok(results[0]);
    const rempty = ok(results[1]);
    const rb = ok(results[2]);
    expect(ra.rows).toBe("");
    expect(ra.rowCount).toBe(1);
    expect(Buffer.from(ra.rowBinary!)).toEqual(Buffer.from(expected(a)));
    expect(rempty.rowCount).toBe(0);
    expect(rempty.rowBinary).toBeUndefined();
    expect(rb.rowCount).toBe(2);
    expect(Buffer.from(rb.rowBinary!)).toEqual(Buffer.from(expected(b)));
  });

  it("fails only the message with a row that does not fit (wrong type, unknown field)", async () => {
    const s = await sandboxFor(HANDLER, { rowBinary: columns });
    open.push(s);
    const good = [{ id: 1, name: "a" }];
    const batches = [good, [{ id: 2, name: "b" }, { id: "x" }], [{ id: 3, nope: 1 }], good, [5]];
    const [r1, r2, r3, r4, r5] = await s.runBatch(
      batches.map((rows) => ({ value: JSON.stringify({ rows }) })),
    );
    expect(Buffer.from(ok(r1).rowBinary!)).toEqual(Buffer.from(expected(good)));
    expect(r2).toMatchObject({ ok: false, error: { code: "HANDLER_OUTPUT" } });
    expect(!r2!.ok && r2!.error.message).toMatch(/^row 1 does not fit the table: column id \(UInt64\)/);
    expect(r3).toMatchObject({ ok: false, error: { code: "HANDLER_OUTPUT" } });
    expect(!r3!.ok && r3!.error.message).toMatch(/unknown field "nope"/);
    expect(Buffer.from(ok(r4).rowBinary!)).toEqual(Buffer.from(expected(good)));
    expect(r5).toMatchObject({ ok: false, error: { code: "HANDLER_OUTPUT" } });
  });

  it("caps a message's output at max_output_bytes", async () => {
    const s = await sandboxFor(HANDLER, { rowBinary: columns, limits: { max_output_bytes: 1024 } });
    open.push(s);
    const [r] = await s.runBatch([{ value: JSON.stringify({ rows: [{ name: "x".repeat(2000) }] }) }]);
    expect(r).toMatchObject({ ok: false, error: { code: "HANDLER_OUTPUT" } });
  });

  it("the child-process sandbox keeps NDJSON", async () => {
    const compiled = await compileHandler(HANDLER, { filename: "handler.ts" });
    if (!compiled.ok) throw new Error("compile");
    const s = await createProcessSandbox({ code: compiled.code, rowBinary: columns });
    open.push(s);
    const [r] = await s.runBatch([{ value: JSON.stringify({ rows: [{ id: 1 }] }) }]);
    expect(ok(r).rows).toBe('{"id":1}');
    expect(ok(r).rowBinary).toBeUndefined();
  });
});
