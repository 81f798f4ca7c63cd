// scratch: JSON.stringify vs RowBinary encoding inside an isolated-vm isolate, same rows, alternating.

import * as esbuild from "esbuild";
import ivm from "isolated-vm";
import { benchMessage } from "../../../bench/src/data.ts";
import { transform } from "../../../bench/src/handler.ts";

const ROWS = 10000;
const rows: Record<string, unknown>[] = [];
const spec = { seed: 17, spansPerMessage: 50, baseTimeUnixNano: "1733000000000000000" };
for (let i = 0; rows.length < ROWS; i++) rows.push(...transform(benchMessage(spec, i).value));
rows.length = ROWS;
const columns = [
  ["timestamp", "DateTime('UTC')"],
  ["timestamp_us", "UInt32"],
  ["trace_id", "String"],
  ["span_id", "String"],
  ["parent_span_id", "String"],
  ["service_name", "String"],
  ["span_name", "String"],
  ["duration_ms", "Float64"],
  ["status_code", "String"],
  ["attributes_keys", "Array(String)"],
  ["attributes_values", "Array(String)"],
  ["fingerprint", "String"],
].map(([name, type]) => ({ name, type }));
const lib = await esbuild.build({
  stdin: {
    contents: `import {ByteWriter,rowEncoder} from "/work/rb/packages/core/src/rowbinary.ts"; globalThis.RB={ByteWriter,rowEncoder};`,
    loader: "ts",
    resolveDir: "/",
  },
  bundle: true,
  write: false,
  format: "iife",
  platform: "neutral",
});
const iso = new ivm.Isolate({ memoryLimit: 512 });
const ctx = await iso.createContext();
await ctx.eval(lib.outputFiles[0]!.text);
await ctx.global.set("ROWSJSON", JSON.stringify(rows));
await ctx.global.set("COLS", new ivm.ExternalCopy(columns).copyInto());
await ctx.eval(`
  const rows = JSON.parse(ROWSJSON);
  const enc = RB.rowEncoder(COLS); const w = new RB.ByteWriter(8<<20);
  globalThis.json = () => { let s = ""; for (let i = 0; i < rows.length; i++) s += JSON.stringify(rows[i]) + "\\n"; return s.length; };
  globalThis.rb = () => { w.pos = 0; for (let i = 0; i < rows.length; i++) enc(w, rows[i]); return w.pos; };
`);
const json = await ctx.global.get("json", { reference: true });
const rb = await ctx.global.get("rb", { reference: true });
const t = { json: [] as number[], rb: [] as number[] };
for (let r = 0; r < 40; r++) {
  for (const [k, f] of [
    ["json", json],
    ["rb", rb],
  ] as const) {
    const t0 = process.hrtime.bigint();
    f.applySync(undefined, []);
    const dt = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r >= 5) t[k].push(dt);
  }
}
const med = (a: number[]) => a.sort((x, y) => x - y)[a.length >> 1]!;
for (const k of ["json", "rb"] as const)
  console.log(
    `isolate ${k}: median ${((med(t[k]) * 1e6) / ROWS).toFixed(0)} ns/row, min ${((Math.min(...t[k]) * 1e6) / ROWS).toFixed(0)} ns/row`,
  );
