/**
 * The seed article's transform (packages/testing/fixtures/seed-article) as a Weir handler: flatten
 * resourceSpans -> scopeSpans -> spans into rows with an md5 fingerprint, dropping spans < 1 ms.
 * Used by the benchmark both as uploaded code (in the sandbox) and as a plain function.
 */

/** The sandbox's hashing global (the plain run installs a node:crypto one). */
declare const hash: { md5(text: string): string };

interface AnyValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
}
interface KeyValue {
  key: string;
  value?: AnyValue;
}
interface Span {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name?: string;
  startTimeUnixNano?: string;
  endTimeUnixNano?: string;
  attributes?: KeyValue[];
  status?: { code?: string | number };
}
interface TracesData {
  resourceSpans?: {
    resource?: { attributes?: KeyValue[] };
    scopeSpans?: { spans?: Span[] }[];
  }[];
}
interface Log {
  info(message: string, fields?: Record<string, unknown>): void;
}

/** "2024-01-02 03:04:05.123456" from a nanosecond epoch string, as the seed's strftime. */
function timestamp(ns: string): string {
  const ms = Number(ns.slice(0, -6) || "0");
  const micros = ns.length > 6 ? ns.slice(-6, -3) : "000";
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}${micros}`;
}

export function handler(data: TracesData, log: Log) {
  const results: Record<string, unknown>[] = [];
  for (const resourceSpan of data.resourceSpans ?? []) {
    let serviceName = "unknown";
    for (const attr of resourceSpan.resource?.attributes ?? []) {
      if (attr.key === "service.name") serviceName = attr.value?.stringValue ?? "";
    }
    for (const scopeSpan of resourceSpan.scopeSpans ?? []) {
      for (const span of scopeSpan.spans ?? []) {
        const start = span.startTimeUnixNano ?? "0";
        const durationMs = (Number(span.endTimeUnixNano ?? "0") - Number(start)) / 1_000_000;
        const attributes: Record<string, string> = {};
        for (const attr of span.attributes ?? []) {
          const v = attr.value ?? {};
          if (v.stringValue !== undefined) attributes[attr.key] = v.stringValue;
          else if (v.intValue !== undefined) attributes[attr.key] = String(v.intValue);
          else if (v.boolValue !== undefined) attributes[attr.key] = v.boolValue ? "True" : "False";
        }
        if (durationMs >= 1.0) {
          results.push({
            timestamp: timestamp(start),
            trace_id: span.traceId,
            span_id: span.spanId,
            parent_span_id: span.parentSpanId ?? "",
            service_name: serviceName,
            span_name: span.name ?? "",
            duration_ms: Math.round(durationMs * 100) / 100,
            status_code: String(span.status?.code ?? "UNSET"),
            attributes,
            fingerprint: hash.md5(`${span.traceId}${span.spanId}`),
          });
        }
        log.info(`Processed span ${span.spanId} from ${serviceName}`);
      }
    }
  }
  return results;
}
