/**
 * Baseline (a), the compute floor: the otel-traces handler as a plain function over message strings
 * already in memory (JSON.parse, handler, JSON.stringify per row into NDJSON), one thread, no Kafka,
 * no ClickHouse. Values are generated in slices outside the timed sections.
 *
 * Alongside it, the JSON floor: the same messages through JSON.parse only, and the handler's rows
 * (made outside the timed section) through JSON.stringify only. Any pipeline that reads OTLP JSON and
 * writes JSONEachRow pays at least this, whatever its handler does, so it bounds what the box can do.
 */
import { benchMessage, type DataSpec } from "./data.ts";
import { transform, transformToNdjson } from "./handler.ts";
import { cpuMs } from "./stats.ts";

export interface ComputeResult {
  messages: number;
  rows: number;
  seconds: number;
  cpuSeconds: number;
  /** CPU seconds of JSON.parse alone over every message. */
  parseCpuSeconds: number;
  /** CPU seconds of JSON.stringify alone over every row (one call per row, as the sandbox does). */
  stringifyCpuSeconds: number;
}

export function computeFloor(spec: DataSpec, messages: number, slice = 500): ComputeResult {
  // Warm the JIT on a few messages first, as a long-running consumer would be.
  for (let i = 0; i < Math.min(50, messages); i++) transformToNdjson(benchMessage(spec, i).value);
  const out: ComputeResult = {
    messages: 0,
    rows: 0,
    seconds: 0,
    cpuSeconds: 0,
    parseCpuSeconds: 0,
    stringifyCpuSeconds: 0,
  };
  let sink = 0;
  for (let start = 0; start < messages; start += slice) {
    const values: string[] = [];
    for (let i = start; i < Math.min(messages, start + slice); i++) values.push(benchMessage(spec, i).value);
    let c0 = cpuMs();
    const t0 = performance.now();
    for (const v of values) out.rows += transformToNdjson(v).rows;
    out.seconds += (performance.now() - t0) / 1000;
    out.cpuSeconds += (cpuMs() - c0) / 1000;
    out.messages += values.length;

    c0 = cpuMs();
    for (const v of values)
      sink += (JSON.parse(v) as { resourceSpans?: unknown[] }).resourceSpans?.length ?? 0;
    out.parseCpuSeconds += (cpuMs() - c0) / 1000;

    const rows = values.map(transform);
    c0 = cpuMs();
    for (const list of rows) for (const row of list) sink += JSON.stringify(row).length;
    out.stringifyCpuSeconds += (cpuMs() - c0) / 1000;
  }
  if (sink < 0) throw new Error("unreachable: keeps the measured work observable");
  return out;
}
