/**
 * The decoded objects: exactly what `JSON.parse` makes of the Collector's otlp_json for the same
 * data (pdata's JSON marshaller). 64-bit integers are decimal strings, ids lower-case hex, bytes
 * base64, enums numbers; zero values are absent except where pdata always writes the field
 * (`resource`, `scope`, span `status`, log `body`, KeyValue `value`, which may be `{}`).
 */

/** One AnyValue: exactly one key set, or none (`{}`) for an unset value. */
export interface AnyValueJson {
  stringValue?: string;
  boolValue?: boolean;
  /** int64 as a decimal string. */
  intValue?: string;
  /** A number, or "NaN" / "Infinity" / "-Infinity" as pdata writes non-finite doubles. */
  doubleValue?: number | string;
  arrayValue?: { values?: AnyValueJson[] };
  kvlistValue?: { values?: KeyValueJson[] };
  /** Standard base64. */
  bytesValue?: string;
  /** Profiles dictionary index (pdata writes it; OTLP traces and logs do not use it). */
  stringValueStrindex?: number;
}

export interface KeyValueJson {
  key?: string;
  value: AnyValueJson;
  keyStrindex?: number;
}

export interface EntityRefJson {
  schemaUrl?: string;
  type?: string;
  idKeys?: string[];
  descriptionKeys?: string[];
}

export interface ResourceJson {
  attributes?: KeyValueJson[];
  droppedAttributesCount?: number;
  entityRefs?: EntityRefJson[];
}

export interface ScopeJson {
  name?: string;
  version?: string;
  attributes?: KeyValueJson[];
  droppedAttributesCount?: number;
}

export interface SpanEventJson {
  timeUnixNano?: string;
  name?: string;
  attributes?: KeyValueJson[];
  droppedAttributesCount?: number;
}

export interface SpanLinkJson {
  traceId?: string;
  spanId?: string;
  traceState?: string;
  attributes?: KeyValueJson[];
  droppedAttributesCount?: number;
  flags?: number;
}

export interface SpanJson {
  traceId?: string;
  spanId?: string;
  traceState?: string;
  parentSpanId?: string;
  flags?: number;
  name?: string;
  kind?: number;
  startTimeUnixNano?: string;
  endTimeUnixNano?: string;
  attributes?: KeyValueJson[];
  droppedAttributesCount?: number;
  events?: SpanEventJson[];
  droppedEventsCount?: number;
  links?: SpanLinkJson[];
  droppedLinksCount?: number;
  /** Always present, `{}` when unset. */
  status: { message?: string; code?: number };
}

export interface ScopeSpansJson {
  scope: ScopeJson;
  spans?: SpanJson[];
  schemaUrl?: string;
}

export interface ResourceSpansJson {
  resource: ResourceJson;
  scopeSpans?: ScopeSpansJson[];
  schemaUrl?: string;
}

/** An ExportTraceServiceRequest as otlp_json. */
export interface TracesJson {
  resourceSpans?: ResourceSpansJson[];
}

export interface LogRecordJson {
  timeUnixNano?: string;
  observedTimeUnixNano?: string;
  severityNumber?: number;
  severityText?: string;
  /** Always present, `{}` when unset. */
  body: AnyValueJson;
  attributes?: KeyValueJson[];
  droppedAttributesCount?: number;
  flags?: number;
  traceId?: string;
  spanId?: string;
  eventName?: string;
}

export interface ScopeLogsJson {
  scope: ScopeJson;
  logRecords?: LogRecordJson[];
  schemaUrl?: string;
}

export interface ResourceLogsJson {
  resource: ResourceJson;
  scopeLogs?: ScopeLogsJson[];
  schemaUrl?: string;
}

/** An ExportLogsServiceRequest as otlp_json. */
export interface LogsJson {
  resourceLogs?: ResourceLogsJson[];
}
