/**
 * Baseline (a), the compute floor: the otel-traces handler as a plain function over message strings
 * already in memory (JSON.parse, handler, JSON.stringify per row into NDJSON), one thread, no Kafka,
 * no ClickHouse. Values are generated in slices outside the timed sections.
 */
import { benchMessage, type DataSpec } from "./data.js";
import { transformToNdjson } from "./handler.js";
import { cpuMs } from "./stats.js";

export interface ComputeResult {
  messages: number;
  rows: number;
  seconds: number;
  cpuSeconds: number;
}

export function computeFloor(spec: DataSpec, messages: number, slice = 500): ComputeResult {
  // Warm the JIT on a few messages first, as a long-running consumer would be.
  for (let i = 0; i < Math.min(50, messages); i++) transformToNdjson(benchMessage(spec, i).value);
  const out: ComputeResult = { messages: 0, rows: 0, seconds: 0, cpuSeconds: 0 };
  for (let start = 0; start < messages; start += slice) {
    const values: string[] = [];
    for (let i = start; i < Math.min(messages, start + slice); i++) values.push(benchMessage(spec, i).value);
    const c0 = cpuMs();
    const t0 = performance.now();
    for (const v of values) out.rows += transformToNdjson(v).rows;
    out.seconds += (performance.now() - t0) / 1000;
    out.cpuSeconds += (cpuMs() - c0) / 1000;
    out.messages += values.length;
  }
  return out;
}
