/** ExportLogsServiceRequest (decoded by protobufjs) to the otlp_json object, pdata's field order. */
import type { opentelemetry } from "./generated/otlp.js";
import { anyValue, id, keyValues, resource, scope, time } from "./map-common.ts";
import type { LogRecordJson, LogsJson, ResourceLogsJson, ScopeLogsJson } from "./types.ts";

type logs = typeof opentelemetry.proto.logs.v1;
type PbRequest = InstanceType<typeof opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest>;
type PbResourceLogs = InstanceType<logs["ResourceLogs"]>;
type PbScopeLogs = InstanceType<logs["ScopeLogs"]>;
type PbLogRecord = InstanceType<logs["LogRecord"]>;
type Loose<T> = { [K in keyof T]?: T[K] | null };

/** The whole request. */
export function mapLogs(req: Loose<PbRequest>): LogsJson {
  const list = req.resourceLogs;
  if (!list || list.length === 0) return {};
  const out: ResourceLogsJson[] = new Array(list.length);
  for (let i = 0; i < list.length; i++) out[i] = resourceLogs(list[i]!);
  return { resourceLogs: out };
}

function resourceLogs(rl: Loose<PbResourceLogs>): ResourceLogsJson {
  const o: ResourceLogsJson = { resource: resource(rl.resource) };
  const list = rl.scopeLogs;
  if (list && list.length > 0) {
    const out: ScopeLogsJson[] = new Array(list.length);
    for (let i = 0; i < list.length; i++) out[i] = scopeLogs(list[i]!);
    o.scopeLogs = out;
  }
  if (rl.schemaUrl) o.schemaUrl = rl.schemaUrl;
  return o;
}

function scopeLogs(sl: Loose<PbScopeLogs>): ScopeLogsJson {
  const o: ScopeLogsJson = { scope: scope(sl.scope) };
  const list = sl.logRecords;
  if (list && list.length > 0) {
    const out: LogRecordJson[] = new Array(list.length);
    for (let i = 0; i < list.length; i++) out[i] = logRecord(list[i]!);
    o.logRecords = out;
  }
  if (sl.schemaUrl) o.schemaUrl = sl.schemaUrl;
  return o;
}

function logRecord(r: Loose<PbLogRecord>): LogRecordJson {
  // Built in pdata's key order; body is always written, `{}` when unset.
  const o = {} as LogRecordJson;
  const t = time(r.timeUnixNano);
  if (t) o.timeUnixNano = t;
  const observed = time(r.observedTimeUnixNano);
  if (observed) o.observedTimeUnixNano = observed;
  if (r.severityNumber) o.severityNumber = r.severityNumber;
  if (r.severityText) o.severityText = r.severityText;
  o.body = anyValue(r.body);
  const attributes = keyValues(r.attributes);
  if (attributes) o.attributes = attributes;
  if (r.droppedAttributesCount) o.droppedAttributesCount = r.droppedAttributesCount;
  if (r.flags) o.flags = r.flags;
  const traceId = id(r.traceId, 16, "log record traceId");
  if (traceId) o.traceId = traceId;
  const spanId = id(r.spanId, 8, "log record spanId");
  if (spanId) o.spanId = spanId;
  if (r.eventName) o.eventName = r.eventName;
  return o;
}
