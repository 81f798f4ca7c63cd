/**
 * The decoder proper, shared by the host API and the isolate bundle. Traces: the schema-specialised
 * wire reader of fast-traces.ts; logs (and traces the fast reader leaves aside or rejects):
 * protobufjs' generated static decoders, then the pdata-shaped mapping. Throws a plain Error naming
 * what failed (the isolate has no WeirError; the host API wraps it).
 */
import Long from "long";
import $protobuf from "protobufjs/minimal.js";
import { decodeTracesFast } from "./fast-traces.ts";
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

/**
 * Decodes a protobuf ExportTraceServiceRequest into the Collector's otlp_json object. The fast
 * reader does the work; whatever it throws on (malformed input, or the rare valid input it leaves to
 * protobufjs: groups, a submessage repeated for merging) goes through protobufjs, so errors and
 * their messages are protobufjs' and such input decodes as before.
 */
export function decodeTracesRaw(bytes: Uint8Array): TracesJson {
  const u8 = check(bytes, "ExportTraceServiceRequest");
  try {
    return decodeTracesFast(u8);
  } catch {
    return decodeTracesProtobufjs(u8);
  }
}

/** The protobufjs decoder and map-traces.ts: the fallback of {@link decodeTracesRaw}, and its oracle in tests. */
export function decodeTracesProtobufjs(bytes: Uint8Array): TracesJson {
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
