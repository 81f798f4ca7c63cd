/**
 * The handler: OTLP JSON traces -> otel_traces_processed rows (the table of table.sql). Its OTLP helpers
 * live in ./otlp.ts, which `weir handler upload` bundles in: the sandbox runs one module, with the
 * sandbox globals declared below.
 *
 * One row per span with duration >= 1 ms. Table shapes: table.sql (modern ClickHouse) or, with env
 * WEIR_TABLE_FLAVOR=legacy, the ClickHouse 18.16 shape (no DateTime64, no Map; see README.md).
 */
import type { Handler, Log, OtlpExportTraceServiceRequest, OtlpSpan } from "@weir/sdk";
import {
  attributeLists,
  describe,
  findString,
  flattenAttributes,
  formatSeconds,
  normalizeId,
  pad,
  roundMs,
  type SplitNanos,
  splitNanos,
  statusName,
  tableFlavor,
} from "./otlp.ts";

/** Sandbox standard library: `hash.md5(text)` is the MD5 of the UTF-8 text as lower-case hex. */
declare const hash: { md5(input: string): string };

/** A row of the otel_traces_processed table (table.sql). */
// Type aliases, not interfaces: only aliases are assignable to core's Row (Record<string, unknown>).
export type TraceRow = {
  /** Span start, UTC, "YYYY-MM-DD HH:MM:SS.ffffff" (DateTime64(6)); sub-microsecond digits truncated. */
  timestamp: string;
  /** Lower-case hex. */
  trace_id: string;
  span_id: string;
  /** "" for a root span. */
  parent_span_id: string;
  /** Resource attribute service.name, "unknown" when missing. */
  service_name: string;
  span_name: string;
  /** end - start in milliseconds, rounded half up to 2 decimals. */
  duration_ms: number;
  /** "UNSET" | "OK" | "ERROR" (numeric codes and STATUS_CODE_* names are mapped to these). */
  status_code: string;
  /** Span attributes, every value flattened to a string (see README). */
  attributes: Record<string, string>;
  /** md5(trace_id + span_id) over the lower-cased ids, so the same span has one fingerprint. */
  fingerprint: string;
};

/** The same row for a ClickHouse 18.16 table (WEIR_TABLE_FLAVOR=legacy): no DateTime64, no Map. */
export type LegacyTraceRow = Omit<TraceRow, "timestamp" | "attributes"> & {
  /** "YYYY-MM-DD HH:MM:SS" UTC (DateTime('UTC')). */
  timestamp: string;
  /** Microseconds within the second, 0..999999. */
  timestamp_us: number;
  attributes_keys: string[];
  attributes_values: string[];
};

const NS_PER_MS_NUMBER = 1_000_000;

/** Entry point: one Kafka message (an ExportTraceServiceRequest) -> rows. */
export function handler(data: unknown, log: Log): TraceRow[] | LegacyTraceRow[] {
  const flavor = tableFlavor();
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    // Thrown, not dropped: the message goes to the DLQ where someone can see what it was.
    throw new TypeError(`expected an OTLP ExportTraceServiceRequest object, got ${describe(data)}`);
  }
  const request = data as OtlpExportTraceServiceRequest;
  const rows: (TraceRow | LegacyTraceRow)[] = [];
  const stats: SpanStats = {
    spans: 0,
    short: 0,
    negative: 0,
    invalid: 0,
    firstNegative: "",
    firstInvalid: "",
  };

  for (const resourceSpans of request.resourceSpans ?? []) {
    const serviceName = findString(resourceSpans.resource?.attributes, "service.name") ?? "unknown";
    for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
      for (const span of scopeSpans.spans ?? []) {
        stats.spans++;
        const row = spanToRow(span, serviceName, flavor, stats);
        if (row !== null) rows.push(row);
      }
    }
  }

  // One summary line per message rather than the article's line per span: a batch of 4096 spans
  // would otherwise write 4096 lines and trip the pipeline's log rate limit.
  const summary = { spans: stats.spans, rows: rows.length, dropped_short: stats.short };
  log.info(`otel-traces: ${stats.spans} spans -> ${rows.length} rows`, summary);
  if (stats.negative > 0) {
    log.warn(`otel-traces: dropped ${stats.negative} spans that end before they start`, {
      count: stats.negative,
      first_span_id: stats.firstNegative,
    });
  }
  if (stats.invalid > 0) {
    log.warn(`otel-traces: dropped ${stats.invalid} spans without ids or times`, {
      count: stats.invalid,
      first_reason: stats.firstInvalid,
    });
  }
  return rows as TraceRow[] | LegacyTraceRow[];
}

/** What the handler's summary lines report about one message's spans. */
type SpanStats = {
  spans: number;
  short: number;
  negative: number;
  invalid: number;
  firstNegative: string;
  firstInvalid: string;
};

/**
 * A row in the table flavor's shape, or null when the span is dropped (counted in `stats`).
 * The hot path, run once per span: times are split into whole seconds and nanoseconds as plain
 * numbers (no BigInt, no Date), the legacy row is built directly rather than converted from the
 * modern one, and no tuple or reason string is made for a span that becomes a row.
 */
function spanToRow(
  span: OtlpSpan,
  serviceName: string,
  flavor: "modern" | "legacy",
  stats: SpanStats,
): TraceRow | LegacyTraceRow | null {
  const traceId = normalizeId(span.traceId);
  const spanId = normalizeId(span.spanId);
  if (!traceId || !spanId) return invalid(stats, "missing traceId or spanId");
  const start = splitNanos(span.startTimeUnixNano);
  const end = splitNanos(span.endTimeUnixNano);
  // The article reads a missing time as 0, which makes 1970 rows or ~55-year durations; drop instead.
  if (start === null || isZero(start) || end === null || isZero(end)) {
    return invalid(stats, `span ${spanId}: missing times`);
  }
  const durationNs = diffNanos(end, start);
  const parentSpanId = normalizeId(span.parentSpanId);
  const spanName = typeof span.name === "string" ? span.name : "";
  const statusCode = statusName(span.status?.code);
  // The attributes are read and the start formatted before the duration checks, as they always were:
  // a time past Date's range or a malformed list throws (and sends the message to the DLQ) whether
  // or not its span would have been dropped. Formatting is a cache hit for most spans anyway.
  const attributes =
    flavor === "legacy" ? attributeLists(span.attributes) : flattenAttributes(span.attributes);
  const startSecond = formatSeconds(start[0]);
  const startMicros = Math.floor(start[1] / 1000);
  if (durationNs < 0) {
    stats.negative++;
    stats.firstNegative ||= spanId;
    return null;
  }
  if (durationNs < NS_PER_MS_NUMBER) {
    stats.short++;
    return null;
  }
  const durationMs =
    Math.abs(end[0] - start[0]) < 9_000_000
      ? roundMsNumber(durationNs)
      : roundMs(bigNanos(end) - bigNanos(start));
  // Only rows pay for their fingerprint (md5 of two strings cannot throw).
  const fingerprint = hash.md5(traceId + spanId);
  if (Array.isArray(attributes)) {
    // Same keys in the same order as toLegacyRow(modern row).
    const row: LegacyTraceRow = {
      trace_id: traceId,
      span_id: spanId,
      parent_span_id: parentSpanId,
      service_name: serviceName,
      span_name: spanName,
      duration_ms: durationMs,
      status_code: statusCode,
      fingerprint,
      timestamp: startSecond,
      timestamp_us: startMicros,
      attributes_keys: attributes[0],
      attributes_values: attributes[1],
    };
    return row;
  }
  const row: TraceRow = {
    timestamp: `${startSecond}.${pad(startMicros, 6)}`,
    trace_id: traceId,
    span_id: spanId,
    parent_span_id: parentSpanId,
    service_name: serviceName,
    span_name: spanName,
    duration_ms: durationMs,
    status_code: statusCode,
    attributes,
    fingerprint,
  };
  return row;
}

function invalid(stats: SpanStats, reason: string): null {
  stats.invalid++;
  stats.firstInvalid ||= reason;
  return null;
}

const isZero = (t: SplitNanos) => t[0] === 0 && t[1] === 0;

/** end - start in ns: exact in doubles below 2^53 ns (~104 days); only its sign and size matter beyond. */
function diffNanos(end: SplitNanos, start: SplitNanos): number {
  return (end[0] - start[0]) * 1e9 + (end[1] - start[1]);
}

function bigNanos(t: SplitNanos): bigint {
  return BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);
}

// Checked against core's contract without widening the return type the tests rely on.
handler satisfies Handler;

/** The legacy table's shape of a row: seconds + microseconds, parallel key/value arrays. */
export function toLegacyRow(row: TraceRow): LegacyTraceRow {
  const { timestamp, attributes, ...rest } = row;
  return {
    ...rest,
    timestamp: timestamp.slice(0, 19),
    timestamp_us: Number(timestamp.slice(20)),
    attributes_keys: Object.keys(attributes),
    attributes_values: Object.values(attributes),
  };
}

/** Rounding of {@link roundMs} on a number of ns (exact for |ns| < 2^53). */
function roundMsNumber(ns: number): number {
  const sign = ns < 0 ? -1 : 1;
  const hundredths = Math.floor((ns * sign + 5_000) / 10_000);
  return (hundredths * sign) / 100;
}
