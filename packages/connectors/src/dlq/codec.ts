/**
 * The DLQ message format, both directions (see @weir/core dlq.ts): the original key, value and
 * headers byte for byte, Weir's metadata in `weir.*` headers. Pure functions over kafkajs' message
 * shape (types only), so the API can read and replay without the writer.
 */
import { isUtf8 } from "node:buffer";
import {
  DLQ_HEADER,
  DLQ_HEADER_PREFIX,
  DLQ_STAGES,
  type DlqAttemptError,
  type DlqRecord,
  type DlqStage,
  ERROR_CODES,
  MAX_ATTEMPT_ERROR_MESSAGE,
  MAX_ATTEMPT_ERRORS,
  type SerializedError,
  WeirError,
} from "@weir/core";
import type { IHeaders } from "../kafka/kafkajs.ts";

export type HeaderValue = Buffer | string | Array<Buffer | string> | undefined;

/** One failed message, as the worker hands it to the DLQ writer. */
export interface DlqInput {
  pipelineId: string;
  stage: DlqStage;
  error: SerializedError;
  attempts: number;
  handlerVersion: string | null;
  source: { topic: string; partition: number; offset: string };
  key: Buffer | null;
  value: Buffer | null;
  /** The original message headers, untouched. */
  headers: Record<string, HeaderValue>;
}

/** The producer-side message (kafkajs `Message` shape). */
export interface DlqMessage {
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
}

/** A consumed message (the fields of kafkajs `KafkaMessage` this module reads). */
export interface ConsumedMessage {
  key: Buffer | null;
  value: Buffer | null;
  headers?: IHeaders | undefined;
  offset: string;
  timestamp: string;
}

/** Prefix of a displayed header value that was not valid UTF-8. */
export const BINARY_HEADER_PREFIX = "base64:";

/** Keeps a DLQ message well under Kafka's default 1 MB limit whatever the handler threw. */
const MAX_ERROR_MESSAGE = 4096;
const MAX_ERROR_STACK = 16_384;

function clip(s: string | undefined, max: number): string | undefined {
  return s === undefined || s.length <= max ? s : `${s.slice(0, max)}... [${s.length - max} chars cut]`;
}

/** Every attempt's error (see {@link DlqAttemptError}): the last MAX_ATTEMPT_ERRORS, messages clipped, no stacks. */
function clipAttemptErrors(list: unknown[]): DlqAttemptError[] {
  return list.slice(-MAX_ATTEMPT_ERRORS).map((raw) => {
    const e = (typeof raw === "object" && raw !== null ? raw : {}) as Partial<DlqAttemptError>;
    const out: DlqAttemptError = {
      attempt: Number(e.attempt ?? 0),
      code: (ERROR_CODES as readonly string[]).includes(String(e.code)) ? e.code! : "INTERNAL",
      name: clip(String(e.name ?? "Error"), 256)!,
      message: clip(String(e.message ?? ""), MAX_ATTEMPT_ERROR_MESSAGE)!,
      failed_at: Number(e.failed_at ?? 0),
    };
    if (typeof e.retry_after_ms === "number") out.retry_after_ms = e.retry_after_ms;
    return out;
  });
}

/**
 * Build the DLQ message for a failed record. Original headers are copied as they are, except any
 * original `weir.*` header, which Weir's own metadata replaces (replay strips them, so only a message
 * produced with such names by someone else would lose them).
 */
export function encodeDlqMessage(input: DlqInput, now = Date.now()): DlqMessage {
  const headers: IHeaders = {};
  for (const [k, v] of Object.entries(input.headers)) {
    if (v !== undefined && !k.startsWith(DLQ_HEADER_PREFIX)) headers[k] = v;
  }
  const error: SerializedError = {
    ...input.error,
    message: clip(input.error.message, MAX_ERROR_MESSAGE) ?? "",
    stack: clip(input.error.stack, MAX_ERROR_STACK),
  };
  const attemptErrors = input.error.details?.attempt_errors;
  if (Array.isArray(attemptErrors)) {
    error.details = { ...input.error.details, attempt_errors: clipAttemptErrors(attemptErrors) };
  }
  headers[DLQ_HEADER.pipelineId] = input.pipelineId;
  headers[DLQ_HEADER.sourceTopic] = input.source.topic;
  headers[DLQ_HEADER.sourcePartition] = String(input.source.partition);
  headers[DLQ_HEADER.sourceOffset] = input.source.offset;
  headers[DLQ_HEADER.stage] = input.stage;
  headers[DLQ_HEADER.error] = JSON.stringify(error);
  headers[DLQ_HEADER.attempts] = String(input.attempts);
  // Absent header = no handler version (a decode failure happens before any handler runs).
  if (input.handlerVersion !== null) headers[DLQ_HEADER.handlerVersion] = input.handlerVersion;
  headers[DLQ_HEADER.failedAt] = String(now);
  return { key: input.key, value: input.value, headers };
}

function headerBuffer(v: HeaderValue): Buffer | undefined {
  const one = Array.isArray(v) ? v[v.length - 1] : v;
  if (one === undefined) return undefined;
  return typeof one === "string" ? Buffer.from(one, "utf8") : one;
}

function weirHeader(headers: IHeaders, name: string, required = true): string | undefined {
  const b = headerBuffer(headers[name]);
  if (b === undefined && required) {
    throw new WeirError("DLQ_ERROR", `not a Weir DLQ record: header ${name} is missing`, {
      details: { header: name },
    });
  }
  return b?.toString("utf8");
}

function parseError(raw: string): SerializedError {
  try {
    const e = JSON.parse(raw) as Partial<SerializedError>;
    const code = (ERROR_CODES as readonly string[]).includes(String(e.code))
      ? (e.code as SerializedError["code"])
      : "INTERNAL";
    return {
      name: String(e.name ?? "Error"),
      message: String(e.message ?? ""),
      code,
      retryable: e.retryable === true,
      ...(e.stack !== undefined ? { stack: String(e.stack) } : {}),
      ...(e.details !== undefined ? { details: e.details } : {}),
    };
  } catch {
    return { name: "Error", message: raw, code: "INTERNAL", retryable: false };
  }
}

/**
 * Read a DLQ message as the API shows it. Key and value are UTF-8 when both are valid UTF-8, else
 * both base64 (`encoding` says which); an original header that is not valid UTF-8 is shown as
 * `base64:<base64>` (replay uses the raw bytes, see {@link dlqReplayMessage}). Repeated headers
 * show their last value. Throws DLQ_ERROR for a message that lacks Weir's headers.
 */
export function parseDlqMessage(message: ConsumedMessage, partition: number): DlqRecord {
  const h = message.headers ?? {};
  const stage = weirHeader(h, DLQ_HEADER.stage) as DlqStage;
  if (!DLQ_STAGES.includes(stage)) {
    throw new WeirError("DLQ_ERROR", `not a Weir DLQ record: unknown stage ${JSON.stringify(stage)}`);
  }
  const original: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(h)) {
    const b = headerBuffer(v);
    if (b !== undefined && !k.startsWith(DLQ_HEADER_PREFIX)) original[k] = b;
  }
  const encoding = [message.key, message.value].every((b) => b === null || isUtf8(b)) ? "utf8" : "base64";
  const text = (b: Buffer | null) => (b === null ? null : b.toString(encoding));
  const headers: Record<string, string> = {};
  for (const [k, b] of Object.entries(original)) {
    headers[k] = isUtf8(b) ? b.toString("utf8") : `${BINARY_HEADER_PREFIX}${b.toString("base64")}`;
  }
  const failedAt = Number(weirHeader(h, DLQ_HEADER.failedAt, false) ?? message.timestamp);
  return {
    id: `${partition}-${message.offset}`,
    dlq_partition: partition,
    dlq_offset: message.offset,
    pipeline_id: weirHeader(h, DLQ_HEADER.pipelineId) ?? "",
    source: {
      topic: weirHeader(h, DLQ_HEADER.sourceTopic) ?? "",
      partition: Number(weirHeader(h, DLQ_HEADER.sourcePartition)),
      offset: weirHeader(h, DLQ_HEADER.sourceOffset) ?? "",
    },
    stage,
    error: parseError(weirHeader(h, DLQ_HEADER.error) ?? "{}"),
    attempts: Number(weirHeader(h, DLQ_HEADER.attempts) ?? 0),
    handler_version: weirHeader(h, DLQ_HEADER.handlerVersion, false) ?? null,
    failed_at: failedAt,
    key: text(message.key),
    value: text(message.value),
    encoding,
    headers,
  };
}

/**
 * What replay produces back to `source.topic`: the original key, value and headers, byte for byte
 * (repeated headers stay repeated), without Weir's `weir.*` metadata.
 */
export function dlqReplayMessage(message: ConsumedMessage): DlqMessage & { topic: string } {
  const headers: IHeaders = {};
  for (const [k, v] of Object.entries(message.headers ?? {})) {
    if (v !== undefined && !k.startsWith(DLQ_HEADER_PREFIX)) headers[k] = v;
  }
  const topic = weirHeader(message.headers ?? {}, DLQ_HEADER.sourceTopic) ?? "";
  return { topic, key: message.key, value: message.value, headers };
}
