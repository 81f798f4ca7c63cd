/**
 * filter-enrich: OTLP JSON traces -> one row per span for otel_spans_enriched
 * (migrations/clickhouse/003, legacy/003), after three steps an operator typically wants in the stream:
 *   1. drop health-check spans (liveness/readiness probes are most of the volume and none of the value),
 *   2. redact PII in attribute values (by attribute key, and by value pattern: emails, card numbers,
 *      bearer tokens), recording which keys were touched,
 *   3. add `deploy_env` from the pipeline's env (DEPLOY_ENV).
 * Self-contained: uploaded as one file; only type imports and the sandbox's `env` global.
 */
import type {
  Handler,
  Log,
  OtlpAnyValue,
  OtlpExportTraceServiceRequest,
  OtlpInt64,
  OtlpSpan,
  OtlpStatusCode,
} from "@weir/core";

/** The pipeline's `env` object (spec `env`), a global in the sandbox. */
declare const env: Readonly<Record<string, string | undefined>> | undefined;

/** A row of otel_spans_enriched (migrations/clickhouse/003). */
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

/** The 18.16 shape (legacy/003): DateTime + microseconds, parallel arrays instead of a Map. */
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
  const vars = typeof env === "object" && env !== null ? env : {};
  const flavor = vars.WEIR_TABLE_FLAVOR ?? "modern";
  if (flavor !== "modern" && flavor !== "legacy") {
    throw new Error(`WEIR_TABLE_FLAVOR must be "modern" or "legacy", got ${JSON.stringify(flavor)}`);
  }
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

// Helpers shared in spirit with functions/otel-traces (see there for the reasoning); a handler is one
// uploaded file and cannot import them.

/** Ids are hex in either case; lower-case them. Anything else (e.g. base64) passes through untouched. */
function normalizeId(id: unknown): string {
  if (typeof id !== "string") return "";
  return /^[0-9a-fA-F]*$/.test(id) ? id.toLowerCase() : id;
}

/**
 * A 64-bit nanosecond value as a bigint. Strings keep every digit; a JSON number above 2^53 was already
 * rounded by JSON.parse before the handler saw it, so it is taken as given (its exact double value).
 */
function toNanos(value: OtlpInt64 | undefined): bigint | null {
  if (typeof value === "string") return /^\d+$/.test(value) ? BigInt(value) : null;
  if (typeof value === "number" && Number.isFinite(value) && value >= 0) return BigInt(Math.trunc(value));
  return null;
}

/** Nanoseconds since the epoch -> "YYYY-MM-DD HH:MM:SS.ffffff" in UTC, truncated to microseconds. */
function formatNanos(ns: bigint): string {
  const seconds = ns / 1_000_000_000n;
  const micros = (ns % 1_000_000_000n) / 1000n;
  const iso = new Date(Number(seconds) * 1000).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${micros.toString().padStart(6, "0")}`;
}

/** Nanoseconds -> milliseconds rounded half away from zero to 2 decimals, in integer math. */
function roundMs(ns: bigint): number {
  const sign = ns < 0n ? -1n : 1n;
  const hundredths = (ns * sign + 5_000n) / 10_000n;
  return Number(hundredths * sign) / 100;
}

const STATUS_NAMES = ["UNSET", "OK", "ERROR"] as const;

/** 0/1/2, "STATUS_CODE_OK"-style names or short names -> "UNSET" | "OK" | "ERROR". */
function statusName(code: OtlpStatusCode | undefined): string {
  if (code === undefined || code === null || code === "") return "UNSET";
  const text = String(code)
    .toUpperCase()
    .replace(/^STATUS_CODE_/, "");
  const byNumber = /^\d+$/.test(text) ? STATUS_NAMES[Number(text)] : undefined;
  if (byNumber) return byNumber;
  return (STATUS_NAMES as readonly string[]).includes(text) ? text : String(code);
}

/** The string stored for one attribute value; arrays and kvlists as JSON, bytes as their base64. */
function anyValueToString(value: OtlpAnyValue | undefined): string {
  if (!value || typeof value !== "object") return "";
  if (typeof value.stringValue === "string") return value.stringValue;
  if (typeof value.boolValue === "boolean") return value.boolValue ? "true" : "false";
  if (value.intValue != null) return intToString(value.intValue);
  if (value.doubleValue != null) return String(value.doubleValue);
  if (typeof value.bytesValue === "string") return value.bytesValue;
  if (value.arrayValue || value.kvlistValue) return anyValueToJson(value);
  return "";
}

/** JSON for any value, written by hand so 64-bit ints keep every digit (JSON.stringify has no bigint). */
function anyValueToJson(value: OtlpAnyValue | undefined): string {
  if (!value || typeof value !== "object") return "null";
  if (typeof value.stringValue === "string") return JSON.stringify(value.stringValue);
  if (typeof value.boolValue === "boolean") return String(value.boolValue);
  if (value.intValue != null) {
    const digits = intToString(value.intValue);
    return /^-?\d+$/.test(digits) ? digits : JSON.stringify(digits);
  }
  if (value.doubleValue != null) {
    const d = value.doubleValue;
    // NaN and Infinity are not JSON numbers; proto3 JSON writes them as strings, and so do we.
    return typeof d === "number" && Number.isFinite(d) ? String(d) : JSON.stringify(String(d));
  }
  if (typeof value.bytesValue === "string") return JSON.stringify(value.bytesValue);
  if (value.arrayValue) return `[${(value.arrayValue.values ?? []).map(anyValueToJson).join(",")}]`;
  if (value.kvlistValue) {
    const members = (value.kvlistValue.values ?? []).map(
      (kv) => `${JSON.stringify(String(kv.key))}:${anyValueToJson(kv.value)}`,
    );
    return `{${members.join(",")}}`;
  }
  return "null";
}

/** A 64-bit int as decimal text: strings as sent, integral numbers through BigInt (no "1e+21"). */
function intToString(value: OtlpInt64): string {
  if (typeof value === "string") return value.trim();
  return Number.isInteger(value) ? BigInt(value).toString() : String(value);
}
