/**
 * Scratch measurement for issue 17 lever 1: ClickHouse server CPU per row for JSONEachRow vs RowBinary
 * inserts of the same otel-traces legacy rows, and the JS cost of encoding a row (JSON.stringify vs
 * RowBinary). Usage: node packages/connectors/scripts/rb-measure.ts [inserts=50] [rows=10000]
 */
import { readFileSync } from "node:fs";
import { createClient } from "@clickhouse/client";
import { benchMessage } from "../../../bench/src/data.ts";
import { transform } from "../../../bench/src/handler.ts";
import { ByteWriter, rowEncoder } from "../../core/src/rowbinary.ts";

const INSERTS = Number(process.argv[2] ?? 50);
const ROWS = Number(process.argv[3] ?? 10_000);
const TICK = 100; // USER_HZ

function chPid(): number {
  for (const p of ["/work/main/.weir/services/clickhouse/pid", "/work/rb/.weir/services/clickhouse/pid"]) {
    try {
      return Number(readFileSync(p, "utf8").trim());
    } catch {}
  }
  throw new Error("no clickhouse pid");
}
function cpuTicks(pid: number): number {
  const s = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
  return Number(f[11]) + Number(f[12]); // utime, stime (fields 14, 15)
}

const rows: Record<string, unknown>[] = [];
const spec = { seed: 17, spansPerMessage: 50, baseTimeUnixNano: "1733000000000000000" };
for (let i = 0; rows.length < ROWS; i++) rows.push(...transform(benchMessage(spec, i).value));
rows.length = ROWS;

const ch = createClient({ url: "http://127.0.0.1:8123", clickhouse_settings: {} });
const ddl = readFileSync(
  new URL("../../../migrations/clickhouse/legacy/001_otel_traces_processed.sql", import.meta.url),
  "utf8",
)
  .split("\n")
  .filter((l) => !l.trim().startsWith("--"))
  .join("\n")
  .replace(/;\s*$/, "");
await ch.command({ query: "DROP TABLE IF EXISTS rb_measure" });
await ch.command({ query: ddl.replace("otel_traces_processed", "rb_measure") });
const columns = await (
  await ch.query({
    query: "SELECT name, type FROM system.columns WHERE database = 'default' AND table = 'rb_measure'",
    format: "JSONEachRow",
  })
).json<{ name: string; type: string }>();
await ch.command({ query: "DROP TABLE IF EXISTS rb_measure_null" });
await ch.command({ query: "CREATE TABLE rb_measure_null AS rb_measure ENGINE = Null" });

// (b) encoding cost in this V8
const enc = rowEncoder(columns);
const w = new ByteWriter(4 << 20);
function timeIt(label: string, fn: () => number): number {
  let best = Number.POSITIVE_INFINITY;
  let out = 0;
  for (let r = 0; r < 15; r++) {
    const t0 = process.hrtime.bigint();
    out = fn();
    const dt = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r >= 3) best = Math.min(best, dt);
  }
  console.log(
    `${label}: ${((best * 1e6) / ROWS).toFixed(0)} ns/row (best of 12 x ${ROWS} rows), ${out} bytes`,
  );
  return best;
}
timeIt("JSON.stringify + NDJSON concat", () => {
  let s = "";
  for (const r of rows) s += `${JSON.stringify(r)}\n`;
  return s.length;
});
timeIt("RowBinary ByteWriter", () => {
  w.pos = 0;
  for (const r of rows) enc(w, r);
  return w.pos;
});

let ndjson = "";
for (const r of rows) ndjson += `${JSON.stringify(r)}\n`;
w.pos = 0;
for (const r of rows) enc(w, r);
const binary = Buffer.from(w.buf.subarray(0, w.pos));
console.log(`body bytes: JSONEachRow ${ndjson.length}, RowBinary ${binary.length}`);

// (a) server CPU per row
const pid = chPid();
async function insert(table: string, format: string, body: string | Buffer): Promise<number> {
  const t0 = cpuTicks(pid);
  const r = await fetch(
    `http://127.0.0.1:8123/?query=${encodeURIComponent(`INSERT INTO ${table} FORMAT ${format}`)}`,
    {
      method: "POST",
      body,
    },
  );
  if (!r.ok) throw new Error(`${format}: ${await r.text()}`);
  await r.text();
  return cpuTicks(pid) - t0;
}
for (const table of ["rb_measure_null", "rb_measure"]) {
  if (table === "rb_measure") await ch.command({ query: `TRUNCATE TABLE ${table}` });
  const sum = { JSONEachRow: 0, RowBinary: 0 };
  const wall = { JSONEachRow: 0, RowBinary: 0 };
  await insert(table, "JSONEachRow", ndjson);
  await insert(table, "RowBinary", binary);
  for (let i = 0; i < INSERTS; i++) {
    for (const [f, b] of (i % 2
      ? [
          ["RowBinary", binary],
          ["JSONEachRow", ndjson],
        ]
      : [
          ["JSONEachRow", ndjson],
          ["RowBinary", binary],
        ]) as ["JSONEachRow" | "RowBinary", string | Buffer][]) {
      const t = performance.now();
      sum[f] += await insert(table, f, b);
      wall[f] += performance.now() - t;
    }
  }
  for (const f of ["JSONEachRow", "RowBinary"] as const)
    console.log(
      `${table} ${f}: server CPU ${((sum[f] / TICK / (INSERTS * ROWS)) * 1e9).toFixed(0)} ns/row (${(sum[f] / TICK).toFixed(2)} CPU-s over ${INSERTS} x ${ROWS} rows), wall ${(wall[f] / INSERTS).toFixed(1)} ms/insert`,
    );
}
const eq = await (
  await ch.query({
    query: "SELECT count() c, uniqExact(fingerprint) u FROM rb_measure",
    format: "JSONEachRow",
  })
).json();
console.log("rb_measure", JSON.stringify(eq));
await ch.command({ query: "DROP TABLE IF EXISTS rb_measure_null" });
await ch.command({ query: "DROP TABLE IF EXISTS rb_measure" });
await ch.close();
