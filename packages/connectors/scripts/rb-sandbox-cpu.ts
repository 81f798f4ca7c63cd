/**
 * Scratch (issue 17 lever 1): worker-side CPU of sandbox + sink write, and ClickHouse server CPU, per
 * row, for the otel-traces legacy rows as NDJSON/JSONEachRow vs RowBinary. The same messages through
 * two sandboxes (one asked for RowBinary), rows batched by 10,000 and written by the real
 * ClickHouseSink into a legacy table; rounds alternate. CPU: process.cpuUsage() (every thread, the
 * isolate's included) and /proc/<clickhouse pid>/stat. Run from packages/connectors:
 *   N=1000 ROUNDS=6 node --no-node-snapshot scripts/rb-sandbox-cpu.ts
 */
import { readFileSync } from "node:fs";
import { createClient } from "@clickhouse/client";
import { benchMessage } from "../../../bench/src/data.ts";
import { compiledHandler } from "../../../bench/src/handler.ts";
import { createTable, dropTable } from "../../../bench/src/tables.ts";
import { createSandbox } from "../../sandbox/src/index.ts";
import { ClickHouseSink } from "../src/sinks/clickhouse/sink.ts";
import { dedupToken, type SinkBatch } from "../src/sinks/types.ts";

const N = Number(process.env.N ?? 1000);
const ROUNDS = Number(process.env.ROUNDS ?? 6);
const url = process.env.CH_URL ?? "http://127.0.0.1:8123";
const chPid = Number(
  readFileSync(process.env.CH_PID_FILE ?? "/work/main/.weir/services/clickhouse/pid", "utf8").trim(),
);
const chTicks = () => {
  const s = readFileSync(`/proc/${chPid}/stat`, "utf8");
  const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
  return Number(f[11]) + Number(f[12]);
};
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

const spec = { seed: 1, spansPerMessage: 100, baseTimeUnixNano: "1733000000000000000" };
const msgs = Array.from({ length: N }, (_, i) => ({
  value: benchMessage(spec, i).value,
  meta: { topic: "t", partition: 0, offset: String(i), format: "json" as const },
}));
const compiled = await compiledHandler();
const ch = createClient({ url, clickhouse_settings: {} });
const table = `rb_cpu_${process.pid}`;
await createTable(ch, table);

const sinks = {
  JSONEachRow: new ClickHouseSink(
    {
      url,
      database: "default",
      table,
      username: "default",
      request_timeout_ms: 30_000,
      max_batch_rows: 10_000,
      max_batch_bytes: 1 << 28,
      max_batch_wait_ms: 1000,
      format: "JSONEachRow",
    },
    { pipelineId: "rb" },
  ),
  RowBinary: new ClickHouseSink(
    {
      url,
      database: "default",
      table,
      username: "default",
      request_timeout_ms: 30_000,
      max_batch_rows: 10_000,
      max_batch_bytes: 1 << 28,
      max_batch_wait_ms: 1000,
      format: "RowBinary",
    },
    { pipelineId: "rb" },
  ),
};
for (const s of Object.values(sinks)) await s.connect();
const boxes = {
  JSONEachRow: await createSandbox({
    code: compiled.code,
    env: { WEIR_TABLE_FLAVOR: "legacy" },
    pipelineId: "a",
  }),
  RowBinary: await createSandbox({
    code: compiled.code,
    env: { WEIR_TABLE_FLAVOR: "legacy" },
    pipelineId: "b",
    rowBinary: sinks.RowBinary.rowBinaryColumns!,
  }),
};

let seq = 0;
async function round(f: "JSONEachRow" | "RowBinary") {
  const sb = boxes[f];
  const sink = sinks[f];
  let rows = 0;
  let sandboxMs = 0;
  let sinkMs = 0;
  let server = 0;
  let parts: Array<string | Uint8Array> = [];
  let partRows = 0;
  const flush = async () => {
    if (partRows === 0) return;
    const ids = {
      pipelineId: "rb",
      topic: "t",
      partition: 0,
      firstOffset: String(seq),
      lastOffset: String(++seq),
    };
    const batch: SinkBatch = {
      ...ids,
      chunks: parts.filter((p): p is string => typeof p === "string"),
      ...(f === "RowBinary" ? { rowBinary: parts as Uint8Array[] } : {}),
      rowCount: partRows,
      bytes: 0,
      dedupToken: dedupToken(ids),
    };
    const c = cpuMs();
    const t0 = chTicks();
    await sink.write(batch);
    server += chTicks() - t0;
    sinkMs += cpuMs() - c;
    parts = [];
    partRows = 0;
  };
  for (let i = 0; i < msgs.length; i += 500) {
    const c = cpuMs();
    const results = await sb.runBatch(msgs.slice(i, i + 500));
    sandboxMs += cpuMs() - c;
    for (const r of results) {
      if (!r.ok || r.rowCount === 0) continue;
      parts.push(r.rowBinary ?? r.rows);
      partRows += r.rowCount;
      rows += r.rowCount;
      if (partRows >= 10_000) await flush();
    }
  }
  await flush();
  return { rows, sandboxMs, sinkMs, serverMs: server * 10 };
}

const tot = {
  JSONEachRow: { rows: 0, sandboxMs: 0, sinkMs: 0, serverMs: 0 },
  RowBinary: { rows: 0, sandboxMs: 0, sinkMs: 0, serverMs: 0 },
};
await round("JSONEachRow");
await round("RowBinary"); // warm-up
for (let r = 0; r < ROUNDS; r++) {
  for (const f of (r % 2 ? ["RowBinary", "JSONEachRow"] : ["JSONEachRow", "RowBinary"]) as Array<
    keyof typeof tot
  >) {
    const x = await round(f);
    for (const k of Object.keys(x) as Array<keyof typeof x>) tot[f][k] += x[k];
    console.log(
      `round ${r} ${f.padEnd(11)} rows ${x.rows} sandbox ${((x.sandboxMs / x.rows) * 1e3).toFixed(2)} + sink ${((x.sinkMs / x.rows) * 1e3).toFixed(2)} worker CPU-s/1M rows, server ${((x.serverMs / x.rows) * 1e3).toFixed(2)} CPU-s/1M rows`,
    );
  }
}
for (const [f, x] of Object.entries(tot))
  console.log(
    `TOTAL ${f.padEnd(11)} rows ${x.rows}: worker ${(((x.sandboxMs + x.sinkMs) / x.rows) * 1e3).toFixed(2)} CPU-s/1M rows (sandbox ${((x.sandboxMs / x.rows) * 1e3).toFixed(2)}, sink write ${((x.sinkMs / x.rows) * 1e3).toFixed(2)}), server ${((x.serverMs / x.rows) * 1e3).toFixed(2)} CPU-s/1M rows`,
  );
for (const s of Object.values(boxes)) s.dispose();
for (const s of Object.values(sinks)) await s.close();
await dropTable(ch, table);
await ch.close();
