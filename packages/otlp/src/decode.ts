/**
 * The decoder proper, shared by the host API and the isolate bundle: protobufjs' generated static
 * decoders, then the pdata-shaped mapping. Throws a plain Error naming what failed (the isolate has
 * no WeirError; the host API wraps it).
 */
import Long from "long";
import $protobuf from "protobufjs/minimal.js";
import { opentelemetry } from "./generated/otlp.js";
import { mapLogs } from "./map-logs.ts";
import { mapTraces } from "./map-traces.ts";
import type { LogsJson, TracesJson } from "./types.ts";

// 64-bit fields must arrive as Long (exact halves), never as a rounded number. In Node protobufjs
// finds `long` by itself; in a bundle (the isolate) its dynamic require cannot, so it is set here.
if (!$protobuf.util.Long) {
  $protobuf.util.Long = Long;
  $protobuf.configure();
}

const TraceRequest = opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
const LogsRequest = opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;

function check(bytes: unknown, what: string): Uint8Array {
  if (!(bytes instanceof Uint8Array)) {
    throw new Error(
      `OTLP protobuf ${what}: expected a Uint8Array, got ${bytes === null ? "null" : typeof bytes}`,
    );
  }
  return bytes;
}

function fail(what: string, err: unknown): never {
  const reason = err instanceof Error ? err.message : String(err);
  throw new Error(`OTLP protobuf ${what}: ${reason}`, { cause: err });
}

/** Decodes a protobuf ExportTraceServiceRequest into the Collector's otlp_json object. */
export function decodeTracesRaw(bytes: Uint8Array): TracesJson {
  const what = "ExportTraceServiceRequest";
  const u8 = check(bytes, what);
  try {
    return mapTraces(TraceRequest.decode(u8));
  } catch (err) {
    fail(what, err);
  }
}

/** Decodes a protobuf ExportLogsServiceRequest into the Collector's otlp_json object. */
export function decodeLogsRaw(bytes: Uint8Array): LogsJson {
  const what = "ExportLogsServiceRequest";
  const u8 = check(bytes, what);
  try {
    return mapLogs(LogsRequest.decode(u8));
  } catch (err) {
    fail(what, err);
  }
}
