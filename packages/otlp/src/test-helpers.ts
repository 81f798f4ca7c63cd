/**
 * Test helpers: turn an OTLP JSON object (the official examples' style or the Collector's) into
 * protobuf bytes with the generated encoder, and normalise it into what pdata's otlp_json would
 * print for the same data.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import Long from "long";
import { opentelemetry } from "./generated/otlp.js";

const ID_KEYS = new Set(["traceId", "spanId", "parentSpanId"]);
const U64_KEYS = new Set(["timeUnixNano", "startTimeUnixNano", "endTimeUnixNano", "observedTimeUnixNano"]);

/** Reads a fixture keeping 64-bit integers exact: bare JSON numbers there become strings first. */
export function readFixture(name: "trace.json" | "logs.json"): unknown {
  const path = fileURLToPath(new URL(`../../testing/fixtures/otlp/${name}`, import.meta.url));
  const text = readFileSync(path, "utf8").replace(
    /"(timeUnixNano|startTimeUnixNano|endTimeUnixNano|observedTimeUnixNano|intValue)":\s*(-?\d+)/g,
    '"$1": "$2"',
  );
  return JSON.parse(text);
}

function hexBytes(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex, "hex"));
}

/** OTLP JSON to protobufjs message properties (bytes for ids, Long for 64-bit integers). */
function toProps(v: unknown, key?: string): unknown {
  if (Array.isArray(v)) return v.map((x) => toProps(x));
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = toProps(x, k);
    return out;
  }
  if (key && ID_KEYS.has(key)) return hexBytes(String(v));
  if (key && U64_KEYS.has(key)) return Long.fromString(String(v), true);
  if (key === "intValue") return Long.fromString(String(v), false);
  if (key === "bytesValue") return Uint8Array.from(Buffer.from(String(v), "base64"));
  return v;
}

/** Protobuf bytes of an ExportTraceServiceRequest given as OTLP JSON. */
export function encodeTraces(json: unknown): Uint8Array {
  const T = opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
  return T.encode(toProps(json) as never).finish();
}

/** Protobuf bytes of an ExportLogsServiceRequest given as OTLP JSON. */
export function encodeLogs(json: unknown): Uint8Array {
  const T = opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
  return T.encode(toProps(json) as never).finish();
}

type Obj = Record<string, unknown>;

/**
 * What pdata's otlp_json prints for the data of an OTLP JSON object, parsed back: lower-case ids,
 * 64-bit integers as strings, and the fields pdata always writes (resource, scope, span status, log
 * body) present. Only for the shapes the fixtures and the generator use.
 */
export function normalise(v: unknown, key?: string): unknown {
  if (Array.isArray(v)) return v.map((x) => normalise(x, key));
  if (v !== null && typeof v === "object") {
    const o: Obj = {};
    for (const [k, x] of Object.entries(v)) o[k] = normalise(x, k);
    if (key === "resourceSpans" || key === "resourceLogs") o.resource ??= {};
    if (key === "scopeSpans" || key === "scopeLogs") o.scope ??= {};
    if (key === "spans") o.status ??= {};
    if (key === "logRecords") o.body ??= {};
    return o;
  }
  if (key && ID_KEYS.has(key)) return String(v).toLowerCase();
  if (key && (U64_KEYS.has(key) || key === "intValue")) return String(v);
  return v;
}
