/**
 * The benchmark's data: OTLP trace messages generated deterministically from (seed, index, base
 * time), so the loader, the compute-floor baseline and any later run rebuild byte-identical values
 * without keeping ~0.5 GB of JSON in memory. Each message exists in two encodings of the same
 * request: `otlp_json` (the Collector's JSON encoding, a string) and `otlp_proto` (the Collector's
 * default, protobuf `ExportTraceServiceRequest` bytes from @weir/otlp's generated encoder).
 */
import { generateTraces, messageSeed } from "@weir/generator";
import { encodeTraces } from "@weir/otlp/testing";

export interface DataSpec {
  seed: number;
  spansPerMessage: number;
  /** Start time of every message's first trace (ns since epoch, decimal). */
  baseTimeUnixNano: string;
}

/** The message encodings the bench loads, as a Kafka source's `format` names them. */
export const INPUT_FORMATS = ["otlp_json", "otlp_proto"] as const;
export type InputFormat = (typeof INPUT_FORMATS)[number];

export interface BenchMessage {
  value: string;
  spans: number;
  /** Rows the otel-traces handler writes for it (spans lasting >= 1 ms). */
  expectedRows: number;
}

/** Message `index` of a run: same spec and index, same bytes. */
export function benchMessage(spec: DataSpec, index: number): BenchMessage {
  const g = generateTraces({
    seed: messageSeed(spec.seed, index),
    spansPerMessage: spec.spansPerMessage,
    timeUnixNano: BigInt(spec.baseTimeUnixNano),
  });
  return { value: JSON.stringify(g.request), spans: g.spans, expectedRows: g.expectedRows };
}

/** A message value in one of the input formats: the JSON string, or the protobuf bytes. */
export type BenchValue = string | Uint8Array;

/** Message `index` in `format`: the same request as `benchMessage`, encoded as the format says. */
export function benchValue(
  spec: DataSpec,
  index: number,
  format: InputFormat,
): { value: BenchValue; spans: number; expectedRows: number } {
  const m = benchMessage(spec, index);
  if (format === "otlp_json") return m;
  return { value: encodeTraces(JSON.parse(m.value)), spans: m.spans, expectedRows: m.expectedRows };
}

/** Bytes of a value as Kafka carries it. */
export function valueBytes(value: BenchValue): number {
  return typeof value === "string" ? Buffer.byteLength(value) : value.byteLength;
}
