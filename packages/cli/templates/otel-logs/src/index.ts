/**
 * The handler: OTLP JSON logs (the Collector's logs pipeline, kafka exporter, otlp_json) -> one row per
 * log record for otel_logs_processed (table.sql, or the ClickHouse 18.16 shape with
 * WEIR_TABLE_FLAVOR=legacy). Its OTLP helpers are ./otlp.ts, bundled in at upload.
 */
import type {
  Handler,
  Log,
  OtlpExportLogsServiceRequest,
  OtlpLogRecord,
  OtlpSeverityNumber,
} from "@weir/sdk";
import {
  anyValueToString,
  describe,
  findString,
  flattenAttributes,
  formatNanos,
  normalizeId,
  tableFlavor,
  toNanos,
} from "./otlp.ts";

/** A row of otel_logs_processed (table.sql). */
export type LogRow = {
  /** When the event happened (timeUnixNano, else observedTimeUnixNano), UTC "YYYY-MM-DD HH:MM:SS.ffffff". */
  timestamp: string;
  /** When a collector saw it (observedTimeUnixNano, else timeUnixNano). */
  observed_timestamp: string;
  /** As sent ("Information"), else derived from the number ("INFO"), else "". */
  severity_text: string;
  /** 0-24; 0 when unspecified. */
  severity_number: number;
  /** A string body as is; any other body as JSON (see README). */
  body: string;
  service_name: string;
  scope_name: string;
  /** Lower-case hex, "" when the record is not tied to a span. */
  trace_id: string;
  span_id: string;
  attributes: Record<string, string>;
};

/** The ClickHouse 18.16 table's shape (WEIR_TABLE_FLAVOR=legacy). */
export type LegacyLogRow = Omit<LogRow, "timestamp" | "observed_timestamp" | "attributes"> & {
  timestamp: string;
  timestamp_us: number;
  observed_timestamp: string;
  observed_timestamp_us: number;
  attributes_keys: string[];
  attributes_values: string[];
};

/** Entry point: one ExportLogsServiceRequest -> rows. */
export function handler(data: unknown, log: Log): LogRow[] | LegacyLogRow[] {
  const flavor = tableFlavor();
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    throw new TypeError(`expected an OTLP ExportLogsServiceRequest object, got ${describe(data)}`);
  }
  const rows: LogRow[] = [];
  let records = 0;
  let untimed = 0;
  for (const resourceLogs of (data as OtlpExportLogsServiceRequest).resourceLogs ?? []) {
    const serviceName = findString(resourceLogs.resource?.attributes, "service.name") ?? "unknown";
    for (const scopeLogs of resourceLogs.scopeLogs ?? []) {
      const scopeName = typeof scopeLogs.scope?.name === "string" ? scopeLogs.scope.name : "";
      for (const record of scopeLogs.logRecords ?? []) {
        records++;
        const row = recordToRow(record, serviceName, scopeName);
        if (row) rows.push(row);
        else untimed++;
      }
    }
  }
  // One line per message, not per record: the log pipeline is rate-limited and the rows are the data.
  log.info(`otel-logs: ${records} records -> ${rows.length} rows`, { records, rows: rows.length });
  if (untimed > 0) log.warn(`otel-logs: dropped ${untimed} records with neither time nor observed time`);
  if (flavor === "modern") return rows;
  return rows.map(({ timestamp, observed_timestamp, attributes, ...rest }) => ({
    ...rest,
    timestamp: timestamp.slice(0, 19),
    timestamp_us: Number(timestamp.slice(20)),
    observed_timestamp: observed_timestamp.slice(0, 19),
    observed_timestamp_us: Number(observed_timestamp.slice(20)),
    attributes_keys: Object.keys(attributes),
    attributes_values: Object.values(attributes),
  }));
}

handler satisfies Handler;

function recordToRow(record: OtlpLogRecord, serviceName: string, scopeName: string): LogRow | null {
  // The spec: use timeUnixNano when set, otherwise observedTimeUnixNano (0 means unset).
  const time = nonZero(toNanos(record.timeUnixNano));
  const observed = nonZero(toNanos(record.observedTimeUnixNano));
  const when = time ?? observed;
  if (when === null) return null;
  const severityNumber = severityNumberOf(record.severityNumber);
  return {
    timestamp: formatNanos(when),
    observed_timestamp: formatNanos(observed ?? when),
    severity_text:
      typeof record.severityText === "string" && record.severityText
        ? record.severityText
        : severityName(severityNumber),
    severity_number: severityNumber,
    body: anyValueToString(record.body),
    service_name: serviceName,
    scope_name: scopeName,
    trace_id: normalizeId(record.traceId),
    span_id: normalizeId(record.spanId),
    attributes: flattenAttributes(record.attributes),
  };
}

const SEVERITY_BASES = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"] as const;

/** 9, "9" or "SEVERITY_NUMBER_INFO" / "SEVERITY_NUMBER_INFO2" -> 9 / 10; anything else -> 0. */
export function severityNumberOf(value: OtlpSeverityNumber | undefined): number {
  if (typeof value === "number") return Number.isInteger(value) && value >= 0 && value <= 24 ? value : 0;
  if (typeof value !== "string") return 0;
  if (/^\d+$/.test(value)) return severityNumberOf(Number(value));
  const m = /^SEVERITY_NUMBER_([A-Z]+)([2-4])?$/.exec(value.toUpperCase());
  const base = m ? SEVERITY_BASES.indexOf(m[1] as (typeof SEVERITY_BASES)[number]) : -1;
  return base < 0 ? 0 : base * 4 + 1 + (m?.[2] ? Number(m[2]) - 1 : 0);
}

/** 1-4 TRACE, 5-8 DEBUG, 9-12 INFO, 13-16 WARN, 17-20 ERROR, 21-24 FATAL; 0 -> "". */
export function severityName(n: number): string {
  return n >= 1 && n <= 24 ? SEVERITY_BASES[Math.floor((n - 1) / 4)]! : "";
}

function nonZero(ns: bigint | null): bigint | null {
  return ns === null || ns === 0n ? null : ns;
}
