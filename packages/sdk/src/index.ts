/**
 * @weir/sdk: typed fetch client of the Weir REST API, used by the CLI and by workers, and the types
 * handler authors write against. Wire types come from @weir/core (api.ts, worker.ts, dlq.ts, log.ts).
 */

/** The handler contract and the OTLP JSON payload types, for handler authors. */
export type {
  Handler,
  HandlerResult,
  Log,
  LogRecord,
  OtlpAnyValue,
  OtlpArrayValue,
  OtlpExportLogsServiceRequest,
  OtlpExportTraceServiceRequest,
  OtlpInstrumentationScope,
  OtlpInt64,
  OtlpKeyValue,
  OtlpKeyValueList,
  OtlpLogRecord,
  OtlpResource,
  OtlpResourceLogs,
  OtlpResourceSpans,
  OtlpScopeLogs,
  OtlpScopeSpans,
  OtlpSeverityNumber,
  OtlpSpan,
  OtlpSpanEvent,
  OtlpSpanKind,
  OtlpSpanLink,
  OtlpStatus,
  OtlpStatusCode,
  Row,
  SerializedError,
} from "@weir/core";
// The bundler itself (esbuild) is `@weir/sdk/bundle` and the sandbox `@weir/sdk/testing`; only their
// types are re-exported here.
export type { BundleOptions, BundleProblem, HandlerBundle } from "./bundle.ts";
export { type LogQueryOptions, type PipelineSpecInput, type UploadOptions, WeirClient } from "./client.ts";
export { type RequestOptions, toError, type WeirClientOptions } from "./http.ts";
export { readSse, type SseEvent } from "./sse.ts";
export type {
  CompileDiagnostic,
  CompiledHandler,
  EventFormat,
  EventResult,
  HandlerEntry,
  LoadedHandler,
  RunHandlerOptions,
} from "./testing.ts";
