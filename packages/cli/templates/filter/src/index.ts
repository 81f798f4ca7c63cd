/**
 * The handler: OTLP JSON traces -> one row per span for otel_spans_enriched (table.sql, or the
 * ClickHouse 18.16 shape with WEIR_TABLE_FLAVOR=legacy), after three steps an operator typically wants
 * in the stream:
 *   1. drop health-check spans (liveness/readiness probes are most of the volume and none of the value),
 *   2. redact PII in attribute values (by attribute key, and by value pattern: emails, card numbers,
 *      bearer tokens), recording which keys were touched,
 *   3. add `deploy_env` from the pipeline's env (DEPLOY_ENV).
 * Its OTLP helpers are ./otlp.ts, bundled in at upload; it reads the sandbox's `env` global.
 */
import type { Handler, Log, OtlpExportTraceServiceRequest, OtlpSpan } from "@weir/sdk";
import {
  anyValueToString,
  formatNanos,
  normalizeId,
  roundMs,
  statusName,
  tableFlavor,
  toNanos,
} from "./otlp.ts";

/** The pipeline's `env` object (spec `env`), a global in the sandbox. */
declare const env: Readonly<Record<string, string | undefined>> | undefined;

/** A row of otel_spans_enriched (table.sql). */
export type EnrichedRow = {
  timestamp: string;
  trace_id: string;
  span_id: string;
  parent_span_id: string;
  service_name: string;
  span_name: string;
  duration_ms: number;
  status_code: string;
  /** Span attributes as strings, PII replaced by "[REDACTED]" / "[REDACTED:email]" / "[REDACTED:card]". */
  attributes: Record<string, string>;
  /** Keys whose value was redacted, so analysts know a value existed. */
  redacted_keys: string[];
  /** env.DEPLOY_ENV, "unknown" when the pipeline does not set it. */
  deploy_env: string;
};

/** The ClickHouse 18.16 shape (WEIR_TABLE_FLAVOR=legacy): DateTime + microseconds, arrays for the Map. */
export type LegacyEnrichedRow = Omit<EnrichedRow, "timestamp" | "attributes"> & {
  timestamp: string;
  timestamp_us: number;
  attributes_keys: string[];
  attributes_values: string[];
};

/** Paths of liveness/readiness probes, with an optional trailing slash or query. */
const HEALTH_PATH = /^\/(health|healthz|healthcheck|ready|readyz|live|livez|ping)\/?(\?.*)?$/i;
/** Attributes that carry the request path, old and new semantic conventions. */
const PATH_KEYS = ["url.path", "http.target", "http.route", "url.full"];

/** Keys whose whole value is personal or secret, whatever it looks like. */
const PII_KEY =
  /(^|[._-])(e-?mail|password|passwd|secret|token|api[._-]?key|authorization|cookie|set-cookie|ssn|card[._-]?number|credit[._-]?card|phone)$/i;
const PII_KEYS_EXACT = new Set(["enduser.id", "user.id", "user.name", "user.full_name", "client.address"]);
const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;
const CARD = /\b\d(?:[ -]?\d){12,18}\b/g;
const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi;

let warnedNoDeployEnv = false;

export function handler(data: unknown, log: Log): EnrichedRow[] | LegacyEnrichedRow[] {
  const flavor = tableFlavor();
  const vars = typeof env === "object" && env !== null ? env : {};
  const deployEnv = vars.DEPLOY_ENV || "unknown";
  if (!vars.DEPLOY_ENV && !warnedNoDeployEnv) {
    // Once per isolate, not per message: module state lives as long as the pipeline's isolate.
    warnedNoDeployEnv = true;
    log.warn("filter-enrich: DEPLOY_ENV is not set in the pipeline env; writing deploy_env = 'unknown'");
  }
  // Extra keys to redact, comma-separated, e.g. REDACT_KEYS=app.customer_name,app.address
  const extraKeys = new Set(
    (vars.REDACT_KEYS ?? "")
      .split(",")
      .map((k) => k.trim())
      .filter(Boolean),
  );
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    throw new TypeError("expected an OTLP ExportTraceServiceRequest object");
  }

  const rows: EnrichedRow[] = [];
  let spans = 0;
  let health = 0;
  let redacted = 0;
  for (const rs of (data as OtlpExportTraceServiceRequest).resourceSpans ?? []) {
    const service = anyValueToString(rs.resource?.attributes?.find((a) => a?.key === "service.name")?.value);
    for (const ss of rs.scopeSpans ?? []) {
      for (const span of ss.spans ?? []) {
        spans++;
        if (isHealthCheck(span)) {
          health++;
          continue;
        }
        const row = toRow(span, service || "unknown", deployEnv, extraKeys);
        if (!row) continue;
        redacted += row.redacted_keys.length;
        rows.push(row);
      }
    }
  }
  log.info(`filter-enrich: ${spans} spans -> ${rows.length} rows`, {
    spans,
    rows: rows.length,
    health_checks_dropped: health,
    values_redacted: redacted,
  });
  if (flavor === "modern") return rows;
  return rows.map(({ timestamp, attributes, ...rest }) => ({
    ...rest,
    timestamp: timestamp.slice(0, 19),
    timestamp_us: Number(timestamp.slice(20)),
    attributes_keys: Object.keys(attributes),
    attributes_values: Object.values(attributes),
  }));
}

handler satisfies Handler;

/** A probe: a path attribute or the span name ("GET /healthz") names a health endpoint. */
export function isHealthCheck(span: OtlpSpan): boolean {
  for (const kv of span.attributes ?? []) {
    if (!PATH_KEYS.includes(kv?.key)) continue;
    const value = anyValueToString(kv.value);
    const path = kv.key === "url.full" ? value.replace(/^[a-z]+:\/\/[^/]+/i, "") : value;
    if (HEALTH_PATH.test(path)) return true;
  }
  const name = typeof span.name === "string" ? span.name : "";
  return HEALTH_PATH.test(name.replace(/^[A-Z]+ /, ""));
}

/**
 * Redacts one attribute: the whole value for a PII key, otherwise (for text values only: `patterns`)
 * the PII-looking parts. Numbers are exempt so a 16-digit counter is never mistaken for a card.
 */
export function redact(
  key: string,
  value: string,
  extraKeys: ReadonlySet<string> = new Set(),
  patterns = true,
): string {
  if (PII_KEY.test(key) || PII_KEYS_EXACT.has(key) || extraKeys.has(key)) {
    return value === "" ? "" : "[REDACTED]";
  }
  if (!patterns) return value;
  return value
    .replace(BEARER, (_m, scheme: string) => `${scheme} [REDACTED]`)
    .replace(EMAIL, "[REDACTED:email]")
    .replace(CARD, (m) => (isCardNumber(m.replace(/\D/g, "")) ? "[REDACTED:card]" : m));
}

/** Card numbers start with a card network's prefix and pass the Luhn check; ids and counters rarely do both. */
function isCardNumber(digits: string): boolean {
  if (!/^(4|5[1-5]|2[2-7]|3[47]|6011|65)/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum % 10 === 0;
}

function toRow(
  span: OtlpSpan,
  service: string,
  deployEnv: string,
  extraKeys: ReadonlySet<string>,
): EnrichedRow | null {
  const start = toNanos(span.startTimeUnixNano);
  const end = toNanos(span.endTimeUnixNano);
  if (typeof span.traceId !== "string" || typeof span.spanId !== "string" || start === null || end === null) {
    return null;
  }
  const attributes: Record<string, string> = {};
  const redactedKeys: string[] = [];
  for (const kv of span.attributes ?? []) {
    if (!kv || typeof kv.key !== "string") continue;
    const raw = anyValueToString(kv.value);
    const text =
      kv.value?.stringValue != null || kv.value?.arrayValue != null || kv.value?.kvlistValue != null;
    const clean = redact(kv.key, raw, extraKeys, text);
    if (clean !== raw) redactedKeys.push(kv.key);
    attributes[kv.key] = clean;
  }
  return {
    timestamp: formatNanos(start),
    trace_id: normalizeId(span.traceId),
    span_id: normalizeId(span.spanId),
    parent_span_id: normalizeId(span.parentSpanId),
    service_name: service,
    span_name: redact("span.name", typeof span.name === "string" ? span.name : ""),
    duration_ms: roundMs(end - start),
    status_code: statusName(span.status?.code),
    attributes,
    redacted_keys: redactedKeys,
    deploy_env: deployEnv,
  };
}
