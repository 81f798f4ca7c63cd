/**
 * The supervisor <-> cell IPC contract. Only control crosses the process boundary: desired state and
 * the poison list go down; reports, log records and metrics come up. Message data never does.
 */
import type { DesiredPipeline, EgressLists, LogRecord, PipelineReport } from "@weir/core";
import type { MetricObjectWithValues, MetricValue } from "prom-client";

/** A message the cell must dead-letter instead of handing to the handler (it killed or hung a cell). */
export interface PoisonEntry {
  pipeline: string;
  topic: string;
  partition: number;
  offset: string;
  code: "HANDLER_TIMEOUT" | "HANDLER_CRASH";
  message: string;
}

/** A handler call in progress, located by the runner from the chunk it passed to the sandbox. */
export interface InflightReport {
  pipeline: string;
  topic: string;
  partition: number;
  offset: string;
  /** When this message started in the isolate (Date.now() ms). */
  startedAt: number;
  /** The pipeline's limits.timeout_ms. */
  timeoutMs: number;
}

/** Per-partition liveness: lag and the last time a message finished or a batch was committed. */
export interface PartitionProgress {
  pipeline: string;
  topic: string;
  partition: number;
  lag: number;
  lastProgressAt: number;
  /** Held back by sink retries: that is `failing`, not a stall. */
  paused: boolean;
}

/** Consumer-group members a killed cell left behind, per pipeline: the next cell evicts them first. */
export interface Eviction {
  pipeline: string;
  memberIds: string[];
}

export type ToCell =
  | {
      type: "desired";
      pipelines: DesiredPipeline[];
      poison: PoisonEntry[];
      evict: Eviction[];
      /** The API's egress lists; runners check their destinations against them before connecting. */
      egress?: EgressLists | undefined;
    }
  /** Drain every pipeline and exit; the supervisor SIGKILLs the cell after its deadline anyway. */
  | { type: "stop" };

export type FromCell =
  | {
      type: "report";
      pipelines: PipelineReport[];
      inflight: InflightReport[];
      progress: PartitionProgress[];
      /** Pipelines whose start/swap/pause/delete is still running, and since when. */
      changes: { pipeline: string; since: number }[];
      /** Each pipeline's consumer-group member id (evicted if this cell is killed). */
      members: { pipeline: string; memberId: string }[];
      metrics: MetricObjectWithValues<MetricValue<string>>[];
    }
  | { type: "logs"; pipeline: string; records: LogRecord[]; dropped: number }
  | { type: "stopped" };
