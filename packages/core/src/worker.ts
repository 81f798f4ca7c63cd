/** The contract between the API (desired state, reports) and workers. */
import type { EgressLists } from "./egress.ts";
import type { SerializedError } from "./errors.ts";
import type { LogRecord } from "./log.ts";
import type { PipelineSpec } from "./spec.ts";

/**
 * What a pipeline can report. `stalled`: a partition has lag and made no progress for the worker's
 * stall window (reason in last_error); `waiting_for_handler`: running but no handler version uploaded.
 */
export const PIPELINE_STATES = [
  "running",
  "paused",
  "failing",
  "deploying",
  "stalled",
  "waiting_for_handler",
] as const;
export type PipelineState = (typeof PIPELINE_STATES)[number];

/** A compiled handler version as workers load it. */
export interface HandlerBundle {
  version_id: string;
  version: number;
  sha256: string;
  /** esbuild output, in the format packages/sandbox loads. */
  code: string;
  source_map: string | null;
}

/** One pipeline a worker should run, with connector config decrypted. */
export interface DesiredPipeline {
  id: string;
  /** Bumped on every change of spec, handler or desired state; workers swap when it moves. */
  revision: number;
  desired: "running" | "paused";
  spec: PipelineSpec;
  handler: HandlerBundle | null;
}

export interface DesiredState {
  /** Global revision: the max over pipelines and deletions. Workers pass it back as `since`. */
  revision: number;
  pipelines: DesiredPipeline[];
  /**
   * The operator's egress lists (WEIR_EGRESS_ALLOW / WEIR_EGRESS_DENY); workers add the default deny
   * rules (egressPolicyFromLists) and check before connecting. Absent: no operator lists.
   */
  egress?: EgressLists | undefined;
}

export interface Counters {
  messages_in: number;
  rows_out: number;
  dropped: number;
  failed: number;
  dlq: number;
  retries: number;
}

export const ZERO_COUNTERS: Counters = {
  messages_in: 0,
  rows_out: 0,
  dropped: 0,
  failed: 0,
  dlq: 0,
  retries: 0,
};

export interface PartitionLag {
  topic: string;
  partition: number;
  /** Committed offset of the group, or null before the first commit. */
  committed: string | null;
  high_watermark: string;
  lag: number;
}

/** What a worker reports for one pipeline. Counters are cumulative since the worker started. */
export interface PipelineReport {
  pipeline_id: string;
  revision: number;
  state: PipelineState;
  last_error: SerializedError | null;
  counters: Counters;
  lag: PartitionLag[];
  handler_version: string | null;
  /** Partitions of the source topic, when the worker has read the topic's metadata (for placement). */
  partitions?: number | undefined;
}

export interface WorkerReport {
  worker_id: string;
  started_at: number;
  pipelines: PipelineReport[];
}

export interface LogBatch {
  worker_id: string;
  pipeline_id: string;
  records: LogRecord[];
  /** Lines the worker dropped (rate limit, size cap) since its previous batch. */
  dropped: number;
}
