/**
 * OTLP/JSON payload types (opentelemetry-proto `ExportTraceServiceRequest` and
 * `ExportLogsServiceRequest`) as they arrive in a Kafka message written by the Collector's kafka
 * exporter with `encoding: otlp_json`. Served by the API so handlers can type their input.
 *
 * These describe what real producers emit, which is looser than the spec:
 * - 64-bit integers (`*TimeUnixNano`, `intValue`) are decimal strings from the Collector but JSON
 *   numbers in the official examples; once `JSON.parse` has run, a number above 2^53 has already
 *   lost precision, so handlers should prefer the string form when they get it.
 * - ids (`traceId`, `spanId`, `parentSpanId`) are hex strings in either case; `""` or absent means none.
 * - enums (`kind`, `status.code`, `severityNumber`) are numbers, or the enum's name as a string.
 * - every field may be absent (proto3 omits defaults).
 * Names are prefixed `Otlp` so they never clash with Weir's own types (e.g. core's `LogRecord`).
 */

/** A 64-bit integer: a decimal string (Collector) or a JSON number (may have lost precision). */
export type OtlpInt64 = string | number;

/** One attribute value; exactly one member is set (none set means an empty value). */
export interface OtlpAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: OtlpInt64;
  /** A number, or "NaN" / "Infinity" / "-Infinity" as proto3 JSON writes non-finite doubles. */
  doubleValue?: number | string;
  arrayValue?: OtlpArrayValue;
  kvlistValue?: OtlpKeyValueList;
  /** Base64 (standard alphabet, padded) as proto3 JSON writes `bytes`. */
  bytesValue?: string;
}

export interface OtlpArrayValue {
  values?: OtlpAnyValue[];
}

export interface OtlpKeyValueList {
  values?: OtlpKeyValue[];
}

export interface OtlpKeyValue {
  key: string;
  value?: OtlpAnyValue;
}

export interface OtlpResource {
  attributes?: OtlpKeyValue[];
  droppedAttributesCount?: number;
}

export interface OtlpInstrumentationScope {
  name?: string;
  version?: string;
  attributes?: OtlpKeyValue[];
  droppedAttributesCount?: number;
}

/** Span kind: 0 unspecified, 1 internal, 2 server, 3 client, 4 producer, 5 consumer (or the enum name). */
export type OtlpSpanKind = number | string;

/** Status code: 0 unset, 1 ok, 2 error, or "STATUS_CODE_UNSET" | "STATUS_CODE_OK" | "STATUS_CODE_ERROR". */
export type OtlpStatusCode = number | string;

export interface OtlpStatus {
  message?: string;
  code?: OtlpStatusCode;
}

export interface OtlpSpanEvent {
  timeUnixNano?: OtlpInt64;
  name?: string;
  attributes?: OtlpKeyValue[];
  droppedAttributesCount?: number;
}

export interface OtlpSpanLink {
  traceId?: string;
  spanId?: string;
  traceState?: string;
  attributes?: OtlpKeyValue[];
  droppedAttributesCount?: number;
  flags?: number;
}

export interface OtlpSpan {
  traceId?: string;
  spanId?: string;
  traceState?: string;
  parentSpanId?: string;
  flags?: number;
  name?: string;
  kind?: OtlpSpanKind;
  startTimeUnixNano?: OtlpInt64;
  endTimeUnixNano?: OtlpInt64;
  attributes?: OtlpKeyValue[];
  droppedAttributesCount?: number;
  events?: OtlpSpanEvent[];
  droppedEventsCount?: number;
  links?: OtlpSpanLink[];
  droppedLinksCount?: number;
  status?: OtlpStatus;
}

export interface OtlpScopeSpans {
  scope?: OtlpInstrumentationScope;
  spans?: OtlpSpan[];
  schemaUrl?: string;
}

export interface OtlpResourceSpans {
  resource?: OtlpResource;
  scopeSpans?: OtlpScopeSpans[];
  schemaUrl?: string;
}

/** One Kafka message value from the Collector's traces pipeline (otlp_json). */
export interface OtlpExportTraceServiceRequest {
  resourceSpans?: OtlpResourceSpans[];
}

/** Severity: 0 unspecified, 1-4 TRACE, 5-8 DEBUG, 9-12 INFO, 13-16 WARN, 17-20 ERROR, 21-24 FATAL. */
export type OtlpSeverityNumber = number | string;

export interface OtlpLogRecord {
  timeUnixNano?: OtlpInt64;
  observedTimeUnixNano?: OtlpInt64;
  severityNumber?: OtlpSeverityNumber;
  severityText?: string;
  body?: OtlpAnyValue;
  attributes?: OtlpKeyValue[];
  droppedAttributesCount?: number;
  flags?: number;
  traceId?: string;
  spanId?: string;
  eventName?: string;
}

export interface OtlpScopeLogs {
  scope?: OtlpInstrumentationScope;
  logRecords?: OtlpLogRecord[];
  schemaUrl?: string;
}

export interface OtlpResourceLogs {
  resource?: OtlpResource;
  scopeLogs?: OtlpScopeLogs[];
  schemaUrl?: string;
}

/** One Kafka message value from the Collector's logs pipeline (otlp_json). */
export interface OtlpExportLogsServiceRequest {
  resourceLogs?: OtlpResourceLogs[];
}
