/**
 * The dead-letter record format, shared by the worker (writer) and the API (reader, replay).
 * A DLQ message keeps the original key, value and headers byte for byte; Weir's own metadata rides
 * in headers prefixed with `weir.`, so replaying is "produce key, value and the original headers
 * back to the source topic".
 */
import type { SerializedError } from "./errors.ts";

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
