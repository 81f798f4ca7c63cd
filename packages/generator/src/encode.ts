/**
 * Encoding of generated spans into an ExportTraceServiceRequest, in one of the two styles found in the
 * wild: the Collector's otlp_json (lower-case ids, 64-bit ints as strings) or the official OTLP examples
 * (upper-case ids, 64-bit ints as JSON numbers, which JSON.parse rounds above 2^53).
 */
import type {
  OtlpAnyValue,
  OtlpExportTraceServiceRequest,
  OtlpKeyValue,
  OtlpResourceSpans,
  OtlpSpan,
} from "@weir/core";
import type { Model, Resolved } from "./traces.ts";

const LANGUAGES = ["go", "java", "nodejs", "python", "dotnet", "rust"];

/** One ResourceSpans per service (in order of first appearance), one ScopeSpans each. */
export function encode(models: Model[], o: Resolved): OtlpExportTraceServiceRequest {
  const byService = new Map<string, OtlpSpan[]>();
  for (const m of models) {
    const list = byService.get(m.service) ?? [];
    list.push(encodeSpan(m, o));
    byService.set(m.service, list);
  }
  const resourceSpans: OtlpResourceSpans[] = [];
  for (const [service, spans] of byService) {
    const index = o.services.indexOf(service);
    resourceSpans.push({
      resource: {
        attributes: [
          { key: "service.name", value: { stringValue: service } },
          { key: "service.version", value: { stringValue: `1.${index}.0` } },
          { key: "deployment.environment.name", value: { stringValue: "demo" } },
          { key: "host.name", value: { stringValue: `${service}-7d9f-${index}` } },
          { key: "telemetry.sdk.language", value: { stringValue: LANGUAGES[index % LANGUAGES.length]! } },
        ],
      },
      scopeSpans: [{ scope: { name: `weir.generator/${service}`, version: "0.1.0" }, spans }],
    });
  }
  return { resourceSpans };
}

function encodeSpan(m: Model, o: Resolved): OtlpSpan {
  const span: OtlpSpan = {
    traceId: id(m.traceId, o),
    spanId: id(m.spanId, o),
    flags: 256,
    name: m.name,
    kind: m.kind,
    startTimeUnixNano: int64(m.start, o),
    endTimeUnixNano: int64(m.end, o),
    attributes: m.attributes.map((kv) => encodeKeyValue(kv, o)),
    status: m.status ?? {},
  };
  // The Collector omits empty fields: a root span has no parentSpanId at all.
  if (m.parentSpanId) span.parentSpanId = id(m.parentSpanId, o);
  if (m.events && m.events.length > 0) {
    span.events = m.events.map((e) => ({
      ...e,
      timeUnixNano: int64(BigInt(e.timeUnixNano ?? 0), o),
      attributes: (e.attributes ?? []).map((kv) => encodeKeyValue(kv, o)),
    }));
  }
  return span;
}

function id(hex: string, o: Resolved): string {
  return o.idCase === "upper" ? hex.toUpperCase() : hex;
}

function int64(value: bigint, o: Resolved): string | number {
  return o.int64 === "number" ? Number(value) : value.toString();
}

function encodeKeyValue(kv: OtlpKeyValue, o: Resolved): OtlpKeyValue {
  return { key: kv.key, value: encodeValue(kv.value ?? {}, o) };
}

function encodeValue(v: OtlpAnyValue, o: Resolved): OtlpAnyValue {
  if (v.intValue !== undefined) return { intValue: int64(BigInt(v.intValue), o) };
  if (v.arrayValue)
    return { arrayValue: { values: (v.arrayValue.values ?? []).map((x) => encodeValue(x, o)) } };
  if (v.kvlistValue) {
    return { kvlistValue: { values: (v.kvlistValue.values ?? []).map((kv) => encodeKeyValue(kv, o)) } };
  }
  return v;
}
