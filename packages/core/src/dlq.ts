/**
 * The dead-letter record format, shared by the worker (writer) and the API (reader, replay).
 * A DLQ message keeps the original key, value and headers byte for byte; Weir's own metadata rides
 * in headers prefixed with `weir.`, so replaying is "produce key, value and the original headers
 * back to the source topic".
 */
import type { ErrorCode, SerializedError } from "./errors.ts";

export const DLQ_STAGES = ["decode", "handler", "sink"] as const;
export type DlqStage = (typeof DLQ_STAGES)[number];

export const DLQ_HEADER = {
  pipelineId: "weir.pipeline_id",
  sourceTopic: "weir.source.topic",
  sourcePartition: "weir.source.partition",
  sourceOffset: "weir.source.offset",
  stage: "weir.stage",
  /** JSON of a {@link SerializedError}. */
  error: "weir.error",
  attempts: "weir.attempts",
  handlerVersion: "weir.handler_version",
  failedAt: "weir.failed_at",
} as const;

export const DLQ_HEADER_PREFIX = "weir.";

/**
 * A message the handler asked to retry (`RetryAfterError`) and that still failed after
 * `weir.attempts` attempts carries every attempt's error, oldest first, in its `weir.error`'s
 * `details.attempt_errors` (the last one is also the record's `error`, with its stack). Bounded:
 * at most {@link MAX_ATTEMPT_ERRORS} entries (`retry.max_attempts` is at most 100), each message
 * clipped to {@link MAX_ATTEMPT_ERROR_MESSAGE} chars, no stacks.
 */
export interface DlqAttemptError {
  /** 1-based. */
  attempt: number;
  code: ErrorCode;
  name: string;
  message: string;
  /** HANDLER_RETRY_AFTER only: the delay the handler asked for (clamped). */
  retry_after_ms?: number;
  /** When the worker took the attempt's failure (epoch ms; the first: when its retry step began). */
  failed_at: number;
}

export const MAX_ATTEMPT_ERRORS = 100;
export const MAX_ATTEMPT_ERROR_MESSAGE = 1024;

/** One DLQ record as the API shows it. `value`/`key` are UTF-8 when valid, else base64 with a flag. */
export interface DlqRecord {
  /** `<partition>-<offset>` of the record in the dead-letter topic. */
  id: string;
  dlq_partition: number;
  dlq_offset: string;
  pipeline_id: string;
  source: { topic: string; partition: number; offset: string };
  stage: DlqStage;
  error: SerializedError;
  attempts: number;
  handler_version: string | null;
  failed_at: number;
  key: string | null;
  value: string | null;
  encoding: "utf8" | "base64";
  headers: Record<string, string>;
}
