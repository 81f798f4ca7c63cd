/**
 * Sink error classification: one table of ClickHouse error codes plus HTTP status rules, shared by
 * the ClickHouse sink, the webhook sink (which may be aimed at ClickHouse's HTTP port) and the
 * embedded engine. Permanent means "sending the same bytes again gets the same answer": the worker
 * dead-letters the rows. Retryable means the target may recover: the worker backs off and retries.
 */
import { WeirError } from "@weir/core";

export interface ErrorClass {
  /** ClickHouse's symbolic name, for messages and docs. */
  name: string;
  retryable: boolean;
}

/**
 * ClickHouse error codes with a known class. Codes not listed fall back to the HTTP status
 * (see {@link classifySinkFailure}). Keep this sorted by code.
 */
export const CLICKHOUSE_ERROR_CLASSES: Readonly<Record<number, ErrorClass>> = {
  3: { name: "UNEXPECTED_END_OF_FILE", retryable: true }, // a body cut short by the network
  6: { name: "CANNOT_PARSE_TEXT", retryable: false },
  16: { name: "NO_SUCH_COLUMN_IN_TABLE", retryable: false },
  26: { name: "CANNOT_PARSE_QUOTED_STRING", retryable: false },
  27: { name: "CANNOT_PARSE_INPUT_ASSERTION_FAILED", retryable: false },
  38: { name: "CANNOT_PARSE_DATE", retryable: false },
  41: { name: "CANNOT_PARSE_DATETIME", retryable: false },
  53: { name: "TYPE_MISMATCH", retryable: false },
  60: { name: "UNKNOWN_TABLE", retryable: false },
  62: { name: "SYNTAX_ERROR", retryable: false },
  69: { name: "ARGUMENT_OUT_OF_BOUND", retryable: false },
  70: { name: "CANNOT_CONVERT_TYPE", retryable: false },
  72: { name: "CANNOT_PARSE_NUMBER", retryable: false },
  81: { name: "UNKNOWN_DATABASE", retryable: false },
  115: { name: "UNKNOWN_SETTING", retryable: false },
  117: { name: "INCORRECT_DATA", retryable: false }, // also "Unknown field found while parsing JSONEachRow"
  159: { name: "TIMEOUT_EXCEEDED", retryable: true },
  // Credentials and grants are operator mistakes, not bad rows: retrying (with the pipeline backing
  // off and reporting the error) is better than dead-lettering every row until someone fixes them.
  192: { name: "UNKNOWN_USER", retryable: true },
  193: { name: "WRONG_PASSWORD", retryable: true },
  202: { name: "TOO_MANY_SIMULTANEOUS_QUERIES", retryable: true },
  203: { name: "NO_FREE_CONNECTION", retryable: true },
  209: { name: "SOCKET_TIMEOUT", retryable: true },
  210: { name: "NETWORK_ERROR", retryable: true },
  236: { name: "ABORTED", retryable: true },
  241: { name: "MEMORY_LIMIT_EXCEEDED", retryable: true },
  242: { name: "TABLE_IS_READ_ONLY", retryable: true },
  252: { name: "TOO_MANY_PARTS", retryable: true },
  279: { name: "ALL_CONNECTION_TRIES_FAILED", retryable: true },
  285: { name: "TOO_FEW_LIVE_REPLICAS", retryable: true },
  286: { name: "UNSATISFIED_QUORUM_FOR_PREVIOUS_WRITE", retryable: true },
  319: { name: "UNKNOWN_STATUS_OF_INSERT", retryable: true },
  394: { name: "QUERY_WAS_CANCELLED", retryable: true },
  425: { name: "SYSTEM_ERROR", retryable: true },
  497: { name: "ACCESS_DENIED", retryable: true },
  516: { name: "AUTHENTICATION_FAILED", retryable: true },
  999: { name: "KEEPER_EXCEPTION", retryable: true },
};

/** What we know about one failed request. `status` is absent for network errors. */
export interface SinkFailure {
  /** ClickHouse exception code, when the target is ClickHouse and said one. */
  code?: number | undefined;
  /** HTTP status, when a response arrived. */
  status?: number | undefined;
  /** Milliseconds the remote asked us to wait (Retry-After). */
  backoffMs?: number | undefined;
}

/**
 * Classify a failure: the ClickHouse code when the table knows it, else the HTTP status (408, 429 and
 * 5xx retryable, other 4xx permanent), else (no response at all: refused, reset, timed out) retryable.
 */
export function classifySinkFailure(f: SinkFailure): { retryable: boolean; reason: string } {
  if (f.code !== undefined) {
    const known = CLICKHOUSE_ERROR_CLASSES[f.code];
    if (known) return { retryable: known.retryable, reason: `ClickHouse ${f.code} ${known.name}` };
  }
  if (f.status !== undefined) {
    const retryable = f.status === 408 || f.status === 429 || f.status >= 500;
    const code = f.code === undefined ? "" : ` (ClickHouse code ${f.code})`;
    return { retryable, reason: `HTTP ${f.status}${code}` };
  }
  return { retryable: true, reason: "no response" };
}

/**
 * The ClickHouse exception code of an error response: the `X-ClickHouse-Exception-Code` header
 * (newer servers) or the `Code: NNN` prefix of the body (every version; 18.x sends only the body).
 */
export function parseClickHouseCode(body: string, header?: string | null): number | undefined {
  if (header && /^\d+$/.test(header.trim())) return Number(header.trim());
  const m = /(?:^|\s|: )Code: (\d+)[.,]/.exec(body);
  return m ? Number(m[1]) : undefined;
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date. Undefined when absent or garbage. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** Build the WeirError a sink throws for a classified failure. */
export function sinkError(
  message: string,
  failure: SinkFailure,
  extra: { cause?: unknown; details?: Record<string, unknown> } = {},
): WeirError {
  const { retryable, reason } = classifySinkFailure(failure);
  return new WeirError(retryable ? "SINK_RETRYABLE" : "SINK_PERMANENT", `${message} (${reason})`, {
    retryable,
    ...(retryable && failure.backoffMs !== undefined ? { backoffMs: failure.backoffMs } : {}),
    details: {
      ...extra.details,
      ...(failure.status !== undefined ? { status: failure.status } : {}),
      ...(failure.code !== undefined ? { clickhouse_code: failure.code } : {}),
    },
    ...(extra.cause !== undefined ? { cause: extra.cause } : {}),
  });
}

/** Cut a remote error body to something fit for a log line or a DLQ header. */
export function excerpt(text: string, max = 1000): string {
  const t = text.trim();
  return t.length <= max ? t : `${t.slice(0, max)}... (${t.length - max} more chars)`;
}

/** Message of anything thrown. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    const causeMsg = cause instanceof Error ? `: ${cause.message}` : "";
    return `${err.message}${causeMsg}`;
  }
  return String(err);
}
