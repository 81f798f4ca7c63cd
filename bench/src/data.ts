/**
 * The benchmark's data: OTLP trace messages generated deterministically from (seed, index, base
 * time), so the loader, the compute-floor baseline and any later run rebuild byte-identical values
 * without keeping ~0.5 GB of JSON in memory.
 */
import { generateTraces, messageSeed } from "@weir/generator";

export interface DataSpec {
  seed: number;
  spansPerMessage: number;
  /** Start time of every message's first trace (ns since epoch, decimal). */
  baseTimeUnixNano: string;
}

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
