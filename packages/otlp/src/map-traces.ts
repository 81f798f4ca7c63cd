/** ExportTraceServiceRequest (decoded by protobufjs) to the otlp_json object, pdata's field order. */
import type { opentelemetry } from "./generated/otlp.js";
import { id, keyValues, resource, scope, time } from "./map-common.ts";
import type {
  ResourceSpansJson,
  ScopeSpansJson,
  SpanEventJson,
  SpanJson,
  SpanLinkJson,
  TracesJson,
} from "./types.ts";

type trace = typeof opentelemetry.proto.trace.v1;
type PbRequest = InstanceType<typeof opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest>;
type PbResourceSpans = InstanceType<trace["ResourceSpans"]>;
type PbScopeSpans = InstanceType<trace["ScopeSpans"]>;
type PbSpan = InstanceType<trace["Span"]>;
type PbEvent = InstanceType<trace["Span"]["Event"]>;
type PbLink = InstanceType<trace["Span"]["Link"]>;
type Loose<T> = { [K in keyof T]?: T[K] | null };

/** The whole request. */
export function mapTraces(req: Loose<PbRequest>): TracesJson {
  const list = req.resourceSpans;
  if (!list || list.length === 0) return {};
  const out: ResourceSpansJson[] = new Array(list.length);
  for (let i = 0; i < list.length; i++) out[i] = resourceSpans(list[i]!);
  return { resourceSpans: out };
}

function resourceSpans(rs: Loose<PbResourceSpans>): ResourceSpansJson {
  const o: ResourceSpansJson = { resource: resource(rs.resource) };
  const list = rs.scopeSpans;
  if (list && list.length > 0) {
    const out: ScopeSpansJson[] = new Array(list.length);
    for (let i = 0; i < list.length; i++) out[i] = scopeSpans(list[i]!);
    o.scopeSpans = out;
  }
  if (rs.schemaUrl) o.schemaUrl = rs.schemaUrl;
  return o;
}

function scopeSpans(ss: Loose<PbScopeSpans>): ScopeSpansJson {
  const o: ScopeSpansJson = { scope: scope(ss.scope) };
  const list = ss.spans;
  if (list && list.length > 0) {
    const out: SpanJson[] = new Array(list.length);
    for (let i = 0; i < list.length; i++) out[i] = span(list[i]!);
    o.spans = out;
  }
  if (ss.schemaUrl) o.schemaUrl = ss.schemaUrl;
  return o;
}

function span(s: Loose<PbSpan>): SpanJson {
  // Built in pdata's key order so JSON.stringify of both gives the same text.
  const o = {} as SpanJson;
  const traceId = id(s.traceId, 16, "span traceId");
  if (traceId) o.traceId = traceId;
  const spanId = id(s.spanId, 8, "span spanId");
  if (spanId) o.spanId = spanId;
  if (s.traceState) o.traceState = s.traceState;
  const parentSpanId = id(s.parentSpanId, 8, "span parentSpanId");
  if (parentSpanId) o.parentSpanId = parentSpanId;
  if (s.flags) o.flags = s.flags;
  if (s.name) o.name = s.name;
  if (s.kind) o.kind = s.kind;
  const start = time(s.startTimeUnixNano);
  if (start) o.startTimeUnixNano = start;
  const end = time(s.endTimeUnixNano);
  if (end) o.endTimeUnixNano = end;
  const attributes = keyValues(s.attributes);
  if (attributes) o.attributes = attributes;
  if (s.droppedAttributesCount) o.droppedAttributesCount = s.droppedAttributesCount;
  if (s.events && s.events.length > 0) o.events = s.events.map(event);
  if (s.droppedEventsCount) o.droppedEventsCount = s.droppedEventsCount;
  if (s.links && s.links.length > 0) o.links = s.links.map(link);
  if (s.droppedLinksCount) o.droppedLinksCount = s.droppedLinksCount;
  // pdata always writes status, `{}` when unset.
  const status: SpanJson["status"] = {};
  const st = s.status;
  if (st) {
    if (st.message) status.message = st.message;
    if (st.code) status.code = st.code;
  }
  o.status = status;
  return o;
}

function event(e: Loose<PbEvent>): SpanEventJson {
  const o: SpanEventJson = {};
  const t = time(e.timeUnixNano);
  if (t) o.timeUnixNano = t;
  if (e.name) o.name = e.name;
  const attributes = keyValues(e.attributes);
  if (attributes) o.attributes = attributes;
  if (e.droppedAttributesCount) o.droppedAttributesCount = e.droppedAttributesCount;
  return o;
}

function link(l: Loose<PbLink>): SpanLinkJson {
  const o: SpanLinkJson = {};
  const traceId = id(l.traceId, 16, "link traceId");
  if (traceId) o.traceId = traceId;
  const spanId = id(l.spanId, 8, "link spanId");
  if (spanId) o.spanId = spanId;
  if (l.traceState) o.traceState = l.traceState;
  const attributes = keyValues(l.attributes);
  if (attributes) o.attributes = attributes;
  if (l.droppedAttributesCount) o.droppedAttributesCount = l.droppedAttributesCount;
  if (l.flags) o.flags = l.flags;
  return o;
}
