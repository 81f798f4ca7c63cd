/**
 * Baseline (a), the compute floor: the otel-traces handler as a plain function over message values
 * already in memory (parse or decode, handler, JSON.stringify per row into NDJSON), one thread, no
 * Kafka, no ClickHouse. Values are generated in slices outside the timed sections. For `otlp_json`
 * a value is the JSON string and is parsed with JSON.parse; for `otlp_proto` it is the protobuf bytes
 * and is decoded with @weir/otlp's `decodeTraces`, the decoder the sandbox runs in the isolate.
 *
 * Alongside it, the format floor: the same messages through JSON.parse (or decodeTraces) only, and
 * the handler's rows (made outside the timed section) through JSON.stringify only. Any pipeline that
 * reads this format and writes JSONEachRow pays at least this, whatever its handler does, so it
 * bounds what the box can do.
 */
import { type BenchValue, benchValue, type DataSpec, type InputFormat } from "./data.ts";
import { parseValue, transform, transformToNdjson } from "./handler.ts";
import { cpuMs } from "./stats.ts";

export interface ComputeResult {
  /** The input format the values were in (schema 5). */
  format: InputFormat;
  messages: number;
  spans: number;
  rows: number;
  seconds: number;
  cpuSeconds: number;
  /** CPU seconds of JSON.parse (otlp_json) or decodeTraces (otlp_proto) alone over every message. */
  parseCpuSeconds: number;
  /** CPU seconds of JSON.stringify alone over every row (one call per row, as the sandbox does). */
  stringifyCpuSeconds: number;
}

export function computeFloor(
  spec: DataSpec,
  messages: number,
  slice = 500,
  format: InputFormat = "otlp_json",
): ComputeResult {
  // Warm the JIT on a few messages first, as a long-running consumer would be.
  for (let i = 0; i < Math.min(50, messages); i++) transformToNdjson(benchValue(spec, i, format).value);
  const out: ComputeResult = {
    format,
    messages: 0,
    spans: 0,
    rows: 0,
    seconds: 0,
    cpuSeconds: 0,
    parseCpuSeconds: 0,
    stringifyCpuSeconds: 0,
  };
  let sink = 0;
  for (let start = 0; start < messages; start += slice) {
    const values: BenchValue[] = [];
    for (let i = start; i < Math.min(messages, start + slice); i++) {
      const m = benchValue(spec, i, format);
      values.push(m.value);
      out.spans += m.spans;
    }
    let c0 = cpuMs();
    const t0 = performance.now();
    for (const v of values) out.rows += transformToNdjson(v).rows;
    out.seconds += (performance.now() - t0) / 1000;
    out.cpuSeconds += (cpuMs() - c0) / 1000;
    out.messages += values.length;

    c0 = cpuMs();
    for (const v of values)
      sink += (parseValue(v) as { resourceSpans?: unknown[] }).resourceSpans?.length ?? 0;
    out.parseCpuSeconds += (cpuMs() - c0) / 1000;

    const rows = values.map(transform);
    c0 = cpuMs();
    for (const list of rows) for (const row of list) sink += JSON.stringify(row).length;
    out.stringifyCpuSeconds += (cpuMs() - c0) / 1000;
  }
  if (sink < 0) throw new Error("unreachable: keeps the measured work observable");
  return out;
}
