/**
 * Host side of the wire format: turn one chunk's output string into per-message results. Rows
 * stay strings (sliced, not re-parsed) all the way to the sink; only the small header is parsed.
 */
import { type ErrorCode, LOG_LEVELS, type LogRecord, type SerializedError } from "@weir/core";
import type { ChunkHeader } from "./isolate/protocol.ts";
import { clampRetryAfter } from "./isolate/retry.ts";
import { mapStack, type SourceMap } from "./sourcemap.ts";
import type { MessageMeta, RunErrorCode, RunResult } from "./types.ts";

const RUN_CODES = new Set<string>([
  "DECODE_ERROR",
  "HANDLER_ERROR",
  "HANDLER_NON_RETRYABLE",
  "HANDLER_RETRY_AFTER",
  "HANDLER_OUTPUT",
]);

/** Tags added to every log record of a message. */
export interface LogTags {
  handlerVersion: string | undefined;
}

/**
 * A per-message failure in the wire form, with the stack mapped to the uploaded source. Only
 * HANDLER_RETRY_AFTER is retryable; its `details.retry_after_ms` is the delay the handler asked for.
 */
export function runError(
  code: RunErrorCode,
  name: string,
  message: string,
  stack: string,
  map: SourceMap | undefined,
  retryAfterMs?: number,
): SerializedError {
  const mapped = stack ? mapStack(stack, map) : undefined;
  const retryAfter = code === "HANDLER_RETRY_AFTER";
  const err: SerializedError = { name, message, code, retryable: retryAfter };
  if (mapped?.stack) err.stack = mapped.stack;
  const details: Record<string, unknown> = {};
  if (mapped?.location) details.location = mapped.location;
  if (retryAfter) details.retry_after_ms = clampRetryAfter(retryAfterMs);
  if (Object.keys(details).length > 0) err.details = details;
  return err;
}

export function logRecord(
  entry: ChunkHeader["l"][number],
  meta: MessageMeta | undefined,
  tags: LogTags,
): LogRecord {
  const [, time, level, message, fields] = entry;
  const record: LogRecord = {
    time,
    level: LOG_LEVELS[level] ?? "info",
    message,
    source: "handler",
  };
  if (fields !== null && fields !== undefined) {
    record.fields =
      typeof fields === "object" && !Array.isArray(fields)
        ? (fields as Record<string, unknown>)
        : { value: fields };
  }
  if (meta?.topic !== undefined) record.topic = meta.topic;
  if (meta?.partition !== undefined) record.partition = meta.partition;
  if (meta?.offset !== undefined) record.offset = meta.offset;
  if (tags.handlerVersion !== undefined) record.handler_version = tags.handlerVersion;
  return record;
}

export interface DecodedChunk {
  /** Messages of the call that were processed (a prefix). */
  processed: number;
  results: RunResult[];
  logLines: number;
  dropped: number;
  truncated: number;
}

/** Decode a chunk's output. Throws if the header is malformed (treated as a breach by the caller). */
export function decodeChunk(
  out: string | [string, Uint8Array],
  metas: (MessageMeta | undefined)[],
  map: SourceMap | undefined,
  tags: LogTags,
): DecodedChunk {
  // RowBinary: [header, bytes]; NDJSON: one string, the header line then the rows.
  const binary = typeof out === "string" ? undefined : out[1];
  const text = typeof out === "string" ? out : out[0];
  const nl = binary ? text.length : text.indexOf("\n");
  if (nl < 0) throw new Error("runtime output has no header line");
  if (binary && !(binary instanceof Uint8Array)) throw new Error("runtime output has no row bytes");
  const header = JSON.parse(text.slice(0, nl)) as ChunkHeader;
  const rows = binary ? "" : text.slice(nl + 1);
  const processed = header.n;
  if (!Number.isInteger(processed) || header.s.length !== processed * 3) {
    throw new Error("runtime output header does not match the chunk");
  }
  const logs: LogRecord[][] = [];
  let truncated = 0;
  for (const entry of header.l) {
    const i = entry[0];
    if (entry[5]) truncated++;
    const list = logs[i] ?? [];
    list.push(logRecord(entry, metas[i], tags));
    logs[i] = list;
  }
  const errors = new Map<number, ChunkHeader["e"][number]>();
  for (const e of header.e) errors.set(e[0], e);

  const results: RunResult[] = new Array(processed);
  let offset = 0;
  for (let i = 0; i < processed; i++) {
    const rowCount = header.s[i * 3]!;
    const length = header.s[i * 3 + 1]!;
    const durationMs = header.s[i * 3 + 2]!;
    const messageLogs = logs[i] ?? [];
    if (rowCount >= 0 && binary) {
      results[i] =
        length > 0
          ? {
              ok: true,
              rows: "",
              rowBinary: binary.subarray(offset, offset + length),
              rowCount,
              durationMs,
              logs: messageLogs,
            }
          : { ok: true, rows: "", rowCount, durationMs, logs: messageLogs };
      offset += length;
    } else if (rowCount >= 0) {
      results[i] = {
        ok: true,
        rows: length > 0 ? rows.slice(offset, offset + length) : "",
        rowCount,
        durationMs,
        logs: messageLogs,
      };
      if (length > 0) offset += length + 1;
    } else {
      const e = errors.get(i);
      const code = (e && RUN_CODES.has(e[1]) ? e[1] : "HANDLER_ERROR") as ErrorCode as RunErrorCode;
      results[i] = {
        ok: false,
        error: runError(code, e?.[2] ?? "Error", e?.[3] ?? "unknown failure", e?.[4] ?? "", map, e?.[5]),
        durationMs,
        logs: messageLogs,
      };
    }
  }
  return { processed, results, logLines: header.l.length, dropped: header.d, truncated };
}
