/**
 * Stage 1, the source: where a pipeline's messages come from and where its progress is kept. The
 * pipeline loop sees only this interface; kafka-source.ts is the one implementation today. A source
 * delivers batches per partition (one at a time per partition, in offset order), commits an offset
 * with optional metadata (the pending-commit mark), reads it back after a reassignment, and can
 * hold a partition back while the sink retries.
 */
import type { IHeaders } from "@weir/connectors";

/** One message as the rest of the pipeline sees it (kept until its batch is flushed, for the DLQ). */
export interface SourceMessage {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers?: IHeaders | undefined;
  /** Record timestamp (ms since epoch, decimal). */
  timestamp: string;
}

/** A run of consecutive messages of one partition. */
export interface SourceBatch {
  topic: string;
  partition: number;
  /** The partition's end offset when the batch was fetched (for lag). */
  highWatermark: string;
  messages: SourceMessage[];
  /** False once the partition was taken away or the source is stopping: stop working on the batch. */
  isActive(): boolean;
  /** Mark a message as consumed (the source moves its fetch position past it). */
  resolve(offset: string): void;
  /** Keep the partition's ownership alive during a long handler call or sink retry. */
  heartbeat(): Promise<void>;
}

/** A partition's committed position and the pending-commit mark the previous owner left, if any. */
export interface Committed {
  /** Next offset to read, null when nothing was ever committed. */
  offset: string | null;
  metadata: string | null;
}

export interface SourceHandlers {
  batch(batch: SourceBatch): Promise<void>;
  /** The partitions were reassigned: work not committed will be delivered again. */
  reassigned(): void;
  /** The source stopped by itself (a crash of the consumer); it restarts on its own if it can. */
  crashed(err: unknown): void;
}

export interface Source {
  readonly topic: string;
  /** Connect and start delivering batches to `handlers`. */
  start(handlers: SourceHandlers): Promise<void>;
  committed(partition: number): Promise<Committed>;
  commit(partition: number, offset: string, metadata: string | null): Promise<void>;
  pause(partition?: number): void;
  resume(partition: number): void;
  /** Read a partition again from `offset` (after a delivery failed: nothing from there on is committed). */
  seek(partition: number, offset: string): void;
  /** This source's identity in its consumer group, for eviction if its process is killed. */
  memberId(): string | null;
  /** Partitions of the topic as last read from the cluster's metadata (null before), for placement. */
  partitionCount(): number | null;
  /** Leave (the group) and close connections. */
  close(): Promise<void>;
}
