/**
 * @weir/otlp: OTLP protobuf (ExportTraceServiceRequest, ExportLogsServiceRequest) decoded into the
 * exact object the Collector's `otlp_json` encoding produces, so one handler serves both encodings.
 * Use {@link decodeTraces} / {@link decodeLogs} on the host, {@link otlpDecoderSource} inside an
 * isolated-vm isolate.
 */
import { WeirError } from "@weir/core";
import { decodeLogsRaw, decodeTracesRaw } from "./decode.ts";
import type { LogsJson, TracesJson } from "./types.ts";

export { otlpDecoderSource } from "./source.ts";
export type * from "./types.ts";

function wrap<T>(decode: (u8: Uint8Array) => T, bytes: Uint8Array): T {
  try {
    return decode(bytes);
  } catch (err) {
    // A malformed message never becomes valid on retry: a dead letter, not a retry.
    throw new WeirError("DECODE_ERROR", (err as Error).message, { retryable: false, cause: err });
  }
}

/**
 * Decodes protobuf ExportTraceServiceRequest bytes into the otlp_json object.
 * @throws WeirError DECODE_ERROR (not retryable) for malformed, truncated or wrong-type bytes.
 */
export function decodeTraces(bytes: Uint8Array): TracesJson {
  return wrap(decodeTracesRaw, bytes);
}

/**
 * Decodes protobuf ExportLogsServiceRequest bytes into the otlp_json object.
 * @throws WeirError DECODE_ERROR (not retryable) for malformed, truncated or wrong-type bytes.
 */
export function decodeLogs(bytes: Uint8Array): LogsJson {
  return wrap(decodeLogsRaw, bytes);
}
