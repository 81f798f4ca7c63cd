/**
 * The contract every sink implements, and the small helpers the worker uses around it.
 * The worker owns batching, retries and backoff; a sink only writes one batch and says, through a
 * {@link WeirError}, whether trying again could help.
 */
import type { EgressPolicy, RowBinaryColumn, SinkSpec } from "@weir/core";

/** One batch for one partition: rows already serialized by the sandbox as NDJSON chunks. */
export interface SinkBatch {
  pipelineId: string;
  topic: string;
  partition: number;
  /** Decimal strings: Kafka offsets are 64-bit. */
  firstOffset: string;
  lastOffset: string;
  /** Each chunk is NDJSON: one JSON object per line, "\n"-separated, no trailing newline, non-empty. */
  chunks: string[];
  /**
   * Rows as ClickHouse RowBinary for the sink's {@link Sink.rowBinaryColumns}, one part per message,
   * back to back; only for a sink that asked for them (then `chunks` is empty).
   */
  rowBinary?: Uint8Array[];
  rowCount: number;
  bytes: number;
  /** `${pipelineId}-${topic}-${partition}-${firstOffset}-${lastOffset}`, see {@link dedupToken}. */
  dedupToken: string;
}

/** What a sink could and could not do against the target it connected to. Filled in by `connect()`. */
export interface SinkCapabilities {
  /** True when a replayed batch (same {@link SinkBatch.dedupToken}) is dropped by the target itself. */
  dedupToken: boolean;
  /** Human-readable notes on what the target could not do, e.g. a setting the server lacks. */
  notes: string[];
}

export type SinkLogLevel = "debug" | "info" | "warn" | "error";
export type SinkLogger = (level: SinkLogLevel, message: string, fields?: Record<string, unknown>) => void;

export interface SinkContext {
  pipelineId: string;
  logger?: SinkLogger | undefined;
  /**
   * The egress policy to enforce on every connection the sink opens (the address checked as each
   * socket connects; a webhook never follows redirects either way). Absent: no check.
   */
  egress?: EgressPolicy | undefined;
}

/**
 * A sink's lifecycle. `write` never retries internally: it throws a WeirError with code
 * `SINK_RETRYABLE` (retryable: true, maybe `backoffMs`) or `SINK_PERMANENT` (retryable: false).
 * Writing a batch with no chunks (or no rows) is a no-op that never contacts the target: a batch whose
 * rows were all dropped by the handler is still "written" so its offsets can be committed.
 */
export interface Sink {
  readonly type: string;
  /** Startup checks (target exists, server version and settings); throws SINK_SCHEMA / SINK_RETRYABLE. */
  connect(): Promise<void>;
  /** Cheap liveness probe of the target; throws SINK_RETRYABLE when it is unreachable. */
  healthcheck(): Promise<void>;
  write(batch: SinkBatch): Promise<void>;
  /**
   * Set by `connect()` when the sink takes rows as ClickHouse RowBinary for these columns (in this
   * order): the worker then has the sandbox encode rows so and hands them over in
   * {@link SinkBatch.rowBinary}. Undefined: NDJSON chunks.
   */
  readonly rowBinaryColumns?: RowBinaryColumn[] | undefined;
  /** Idempotent. */
  close(): Promise<void>;
  readonly capabilities: SinkCapabilities;
}

/** The part of a batch that identifies it. */
export type BatchIdentity = Pick<
  SinkBatch,
  "pipelineId" | "topic" | "partition" | "firstOffset" | "lastOffset"
>;

/**
 * The deterministic identity of a batch, used as ClickHouse's `insert_deduplication_token` and the
 * webhook's idempotency key. A replay after a crash rebuilds the same batch, hence the same token.
 */
export function dedupToken(b: BatchIdentity): string {
  return `${b.pipelineId}-${b.topic}-${b.partition}-${b.firstOffset}-${b.lastOffset}`;
}

/** Batch bounds the worker's batcher enforces for a sink. */
export interface BatchLimits {
  maxRows: number;
  maxBytes: number;
  maxWaitMs: number;
}

/** Batch bounds from a sink spec (every sink config carries the same three fields, with defaults). */
export function batchLimits(sink: SinkSpec): BatchLimits {
  const c = sink.config;
  return {
    maxRows: c.max_batch_rows ?? 10_000,
    maxBytes: c.max_batch_bytes ?? 16 * 1024 * 1024,
    maxWaitMs: c.max_batch_wait_ms ?? 1000,
  };
}

/** True when a batch carries no rows; sinks treat it as a no-op. */
export function isEmptyBatch(batch: SinkBatch): boolean {
  const noText = batch.chunks.length === 0 || batch.chunks.every((c) => c.length === 0);
  return noText && !batch.rowBinary?.some((p) => p.length > 0);
}

/** The batch body as NDJSON with a trailing newline, built by concatenation (no per-row parsing). */
export function ndjsonBody(batch: SinkBatch): string {
  let out = "";
  for (const chunk of batch.chunks) if (chunk.length > 0) out += `${chunk}\n`;
  return out;
}
