/**
 * The wire format between the host and the in-isolate runtime. Shared by both sides (this file
 * has no imports, so it is safe to bundle into the isolate).
 *
 * One call processes a chunk of messages and returns ONE string: a JSON header line, "\n", then
 * the rows of every successful message, each message's NDJSON followed by "\n" when non-empty.
 * Copying one flat string out of the isolate is far cheaper than copying object graphs.
 *
 * With {@link RuntimeConfig.rowBinary} the rows are ClickHouse RowBinary instead: the call returns
 * `[header, bytes]`, the bytes being every successful message's rows back to back (no separator),
 * and the lengths in {@link ChunkHeader.s} count bytes.
 */

/** Log levels by index, as written in {@link ChunkHeader.l}. */
export const LEVELS = ["debug", "info", "warn", "error"] as const;

/** Longest delay a `RetryAfterError` can ask for (ms); longer ones are clamped to it. */
export const RETRY_AFTER_MAX_MS = 60_000;

/** Host-to-isolate settings, fixed for the life of an isolate. */
export interface RuntimeConfig {
  /** Per-message cap on the NDJSON text, in UTF-16 code units (= bytes for ASCII). */
  maxOutputChars: number;
  /** Per-line cap on a log line (message plus JSON fields), in code units. */
  maxLogLineChars: number;
  /** A chunk stops after the message that takes its output past this size; the host calls again. */
  chunkChars: number;
  env: Record<string, string>;
  /** The isolate's memory limit, for the allocation guards. */
  memoryMb: number;
  /**
   * Encode rows as ClickHouse RowBinary for these columns (the table's insertable columns, in order)
   * instead of NDJSON. A row that does not fit fails its message with HANDLER_OUTPUT.
   */
  rowBinary?: Array<{ name: string; type: string }>;
}

/**
 * One character per message in a call's `formats` string: how the runtime turns the value into the
 * handler's `data`. j: JSON.parse; t: the string as is; p / l: an OTLP protobuf
 * ExportTraceServiceRequest / ExportLogsServiceRequest decoded by the @weir/otlp decoder script.
 */
export const FORMAT_CODES = {
  json: "j",
  text: "t",
  otlp_proto_traces: "p",
  otlp_proto_logs: "l",
} as const;

/** Layout of the SharedArrayBuffer the runtime writes progress into, read by the host watchdog. */
export const PROGRESS = {
  bytes: 16,
  /** Int32Array index (bytes 0-3): index (within the call) of the message being processed. */
  indexSlot: 0,
  /** Float64Array index (bytes 8-15): Date.now() when that message started. */
  startSlot: 1,
} as const;

/** The JSON header line of a chunk's output. */
export interface ChunkHeader {
  /** Index of the first message NOT processed by this call (== messages.length when done). */
  n: number;
  /** Per processed message, flat: rowCount (-1 on failure), rows length in code units, duration ms. */
  s: number[];
  /** Failures: [message index, code, name, message, stack], plus the delay for HANDLER_RETRY_AFTER. */
  e: [number, string, string, string, string, number?][];
  /** Log lines: [message index, time ms, level index, message, fields JSON or null, truncated 0/1]. */
  l: [number, number, number, string, unknown, number][];
  /** Lines dropped by the rate limit during this call. */
  d: number;
}
