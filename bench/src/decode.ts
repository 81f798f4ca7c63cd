/**
 * Issue 17, lever 2: what reading a message costs per span, otlp_json against otlp_proto, on the
 * same generated requests.
 *
 * - host: JSON.parse of the JSON string against @weir/otlp's `decodeTraces` of the protobuf bytes,
 *   in this process, best of a few rounds, the formats alternating (process CPU: this thread plus
 *   V8's GC helpers; nothing else runs meanwhile);
 * - isolate: the same messages through a sandbox whose handler does nothing
 *   (`export function handler(d) { return null }`), one sandbox per format (`json`, which parses in
 *   the isolate, and `otlp_proto_traces`, which decodes there), in chunks as the worker calls it,
 *   best of a few rounds, alternating.
 *   `isolateCpuUsPerSpan` is the isolate's own CPU (`stats().cpuTimeMs`: parse or decode plus the
 *   runtime's per-message loop); `processCpuUsPerSpan` is this process's whole CPU over the calls
 *   (isolate thread, copying the values in, results out).
 */

import { decodeTraces } from "@weir/otlp";
import { compileHandler, createSandbox, type Sandbox } from "@weir/sandbox";
import { benchValue, type DataSpec } from "./data.ts";
import { round } from "./measure.ts";
import { cpuMs } from "./stats.ts";

const TRIVIAL = "export function handler(d: unknown) { return null; }";

export interface DecodeCost {
  /** Messages measured (the first of the run's, at most `limit`) and their spans. */
  messages: number;
  spans: number;
  /** Microseconds of CPU per span. `ratio` is otlp_proto / otlp_json. */
  host: { jsonParseUsPerSpan: number; protoDecodeUsPerSpan: number; ratio: number };
  isolate: {
    json: { isolateCpuUsPerSpan: number; processCpuUsPerSpan: number };
    otlp_proto: { isolateCpuUsPerSpan: number; processCpuUsPerSpan: number };
    /** otlp_proto / json, isolate CPU. */
    ratio: number;
    chunk: number;
  };
  /** Mean message size, bytes: the JSON string and the protobuf encoding of the same request. */
  jsonBytesPerMessage: number;
  protoBytesPerMessage: number;
}

export async function decodeCost(
  spec: DataSpec,
  messages: number,
  opts: { limit?: number; chunk?: number; rounds?: number } = {},
): Promise<DecodeCost> {
  const n = Math.min(messages, opts.limit ?? 1000);
  const chunk = opts.chunk ?? 500;
  const rounds = opts.rounds ?? 3;
  const json: string[] = [];
  const proto: Uint8Array[] = [];
  let spans = 0;
  for (let i = 0; i < n; i++) {
    const j = benchValue(spec, i, "otlp_json");
    json.push(j.value as string);
    proto.push(benchValue(spec, i, "otlp_proto").value as Uint8Array);
    spans += j.spans;
  }
  let sink = 0;
  const timed = (fn: () => void) => {
    const c0 = cpuMs();
    fn();
    return cpuMs() - c0;
  };
  // Warm both paths, then best of `rounds`, the two formats alternating so drift hits both alike.
  for (let i = 0; i < Math.min(50, n); i++) {
    JSON.parse(json[i]!);
    decodeTraces(proto[i]!);
  }
  let parseMs = Number.POSITIVE_INFINITY;
  let decodeMs = Number.POSITIVE_INFINITY;
  for (let r = 0; r < rounds; r++) {
    parseMs = Math.min(
      parseMs,
      timed(() => {
        for (const v of json) sink += (JSON.parse(v) as { resourceSpans: unknown[] }).resourceSpans.length;
      }),
    );
    decodeMs = Math.min(
      decodeMs,
      timed(() => {
        for (const v of proto) sink += decodeTraces(v).resourceSpans?.length ?? 0;
      }),
    );
  }
  if (sink < 0) throw new Error("unreachable: keeps the measured work observable");

  const compiled = await compileHandler(TRIVIAL, { filename: "handler.ts" });
  if (!compiled.ok)
    throw new Error(`trivial handler does not compile: ${JSON.stringify(compiled.diagnostics)}`);
  type PerSpan = { isolateCpuUsPerSpan: number; processCpuUsPerSpan: number };
  let iso: PerSpan[] = [];
  const sandboxes: { format: "json" | "otlp_proto_traces"; values: (string | Uint8Array)[]; sb: Sandbox }[] =
    [];
  try {
    for (const [format, values] of [
      ["json", json],
      ["otlp_proto_traces", proto],
    ] as const) {
      const sb = await createSandbox({ code: compiled.code, format, pipelineId: `decode-${format}` });
      sandboxes.push({ format, values, sb });
    }
    const pass = async ({ format, values, sb }: (typeof sandboxes)[number]) => {
      for (let i = 0; i < values.length; i += chunk) {
        const results = await sb.runBatch(values.slice(i, i + chunk).map((value) => ({ value })));
        for (const r of results) if (!r.ok) throw new Error(`${format}: ${JSON.stringify(r.error)}`);
      }
    };
    for (const s of sandboxes) await pass(s); // warm-up
    const isolateMs = [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY];
    const processMs = [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY];
    for (let r = 0; r < rounds; r++)
      for (const [k, s] of sandboxes.entries()) {
        const i0 = s.sb.stats().cpuTimeMs;
        const c0 = cpuMs();
        await pass(s);
        processMs[k] = Math.min(processMs[k]!, cpuMs() - c0);
        isolateMs[k] = Math.min(isolateMs[k]!, s.sb.stats().cpuTimeMs - i0);
      }
    iso = sandboxes.map((_, k) => ({
      isolateCpuUsPerSpan: round((isolateMs[k]! * 1000) / spans, 3),
      processCpuUsPerSpan: round((processMs[k]! * 1000) / spans, 3),
    }));
  } finally {
    for (const s of sandboxes) s.sb.dispose();
  }
  const [isoJson, isoProto] = iso as [PerSpan, PerSpan];
  const us = (ms: number) => round((ms * 1000) / spans, 3);
  return {
    messages: n,
    spans,
    host: {
      jsonParseUsPerSpan: us(parseMs),
      protoDecodeUsPerSpan: us(decodeMs),
      ratio: round(decodeMs / parseMs, 2),
    },
    isolate: {
      json: isoJson,
      otlp_proto: isoProto,
      ratio: round(isoProto.isolateCpuUsPerSpan / isoJson.isolateCpuUsPerSpan, 2),
      chunk,
    },
    jsonBytesPerMessage: Math.round(json.reduce((s, v) => s + Buffer.byteLength(v), 0) / n),
    protoBytesPerMessage: Math.round(proto.reduce((s, v) => s + v.byteLength, 0) / n),
  };
}
