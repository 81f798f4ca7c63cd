/** The public types of @weir/sandbox. */
import type { Limits, LogRecord, SerializedError } from "@weir/core";

/**
 * How a message's value reaches the handler: `json` is parsed in the isolate, `text` is passed as
 * is, `otlp_proto_traces` / `otlp_proto_logs` are OTLP protobuf requests decoded in the isolate
 * (by @weir/otlp) into the same object the Collector's otlp_json encoding gives.
 */
export type MessageFormat = "json" | "text" | "otlp_proto_traces" | "otlp_proto_logs";

/** Where a message came from; used to tag its log lines. */
export interface MessageMeta {
  topic?: string;
  partition?: number;
  offset?: string;
  /** Overrides the sandbox's default format for this message. */
  format?: MessageFormat;
}

/**
 * One message of a batch: the raw Kafka value, plus its metadata. A string for `json`/`text`; the
 * bytes for the protobuf formats (copied into the isolate, so pass a view of just the message, not
 * of a larger buffer).
 */
export interface SandboxMessage {
  value: string | Uint8Array;
  meta?: MessageMeta;
}

/** The error codes a message can fail with. */
export type RunErrorCode =
  | "DECODE_ERROR"
  | "HANDLER_ERROR"
  /** The handler threw `NonRetryableError`. */
  | "HANDLER_NON_RETRYABLE"
  /** The handler threw `RetryAfterError(ms)`: `retryable: true`, `details.retry_after_ms`. */
  | "HANDLER_RETRY_AFTER"
  | "HANDLER_TIMEOUT"
  | "HANDLER_MEMORY"
  | "HANDLER_OUTPUT"
  /** The child process hosting the sandbox died (signal, exit code, V8 fatal error): createProcessSandbox only. */
  | "HANDLER_CRASH";

/**
 * The outcome of one message. `rows` is NDJSON ready for ClickHouse JSONEachRow: one
 * JSON object per line, joined by "\n", no trailing newline, "" when the handler dropped it.
 * With {@link SandboxOptions.rowBinary}, `rows` is "" and `rowBinary` holds the rows as ClickHouse
 * RowBinary instead (present when the message produced rows).
 */
export type RunResult =
  | {
      ok: true;
      rows: string;
      rowBinary?: Uint8Array;
      rowCount: number;
      durationMs: number;
      logs: LogRecord[];
    }
  | {
      ok: false;
      /** `code` is one of {@link RunErrorCode}; `stack` points at the uploaded TypeScript. */
      error: SerializedError;
      durationMs: number;
      logs: LogRecord[];
    };

/** Cumulative figures since the sandbox was created (across recycled isolates). */
export interface SandboxStats {
  /** CPU time spent in the handler's isolates. */
  cpuTimeMs: number;
  /** Wall time the isolates spent running (including waiting on the handler's promises). */
  wallTimeMs: number;
  /** Isolates thrown away after a breach (timeout, memory, crash) and replaced. */
  recycles: number;
  /** Log lines dropped by the rate limit. */
  droppedLogLines: number;
  /** Log lines cut to the per-line cap. */
  truncatedLogLines: number;
  /** Heap in use by the current isolate, when idle. */
  heapUsedBytes?: number;
}

export interface SandboxOptions {
  /** `code` from {@link compileHandler}. */
  code: string;
  /** `sourceMap` from {@link compileHandler}; maps failure stacks to the uploaded lines. */
  sourceMap?: string | null;
  /** The pipeline's env, readable by the handler as the frozen global `env`. */
  env?: Record<string, string>;
  limits?: Partial<Limits>;
  /** Sandboxes with the same pipelineId share one log rate limit (e.g. old and new version during a deploy). */
  pipelineId?: string;
  /** Tags log records (`handler_version`). */
  handlerVersion?: string;
  /** Default message format (default `json`). */
  format?: MessageFormat;
  /**
   * Encode rows in the isolate as ClickHouse RowBinary for these columns (a ClickHouse sink's
   * `rowBinaryColumns`) instead of NDJSON: see {@link RunResult}. Ignored by createProcessSandbox.
   */
  rowBinary?: Array<{ name: string; type: string }>;
  /**
   * Isolates to load (default 1). With more than one, concurrent runBatch calls run in parallel on
   * separate threads (each call on one isolate, in order); memory is `memory_mb` per isolate.
   */
  isolates?: number;
  /**
   * Called if V8 reports a catastrophic error in an isolate (it then cannot be trusted). The
   * isolated-vm advice is to stop taking work and exit. Default: print to stderr.
   */
  onCatastrophicError?: (message: string) => void;
}

/** A loaded handler: one isolate per pipeline version, replaced after a breach. */
export interface Sandbox {
  /** Run one message. Never rejects for handler faults; rejects only once disposed. */
  run(value: string | Uint8Array, meta?: MessageMeta): Promise<RunResult>;
  /** Run messages in order with one isolate call per chunk; one result per message, in order. */
  runBatch(messages: readonly SandboxMessage[]): Promise<RunResult[]>;
  stats(): SandboxStats;
  /** `stats().droppedLogLines` without the rest: no isolate lock, cheap enough to call per chunk. */
  droppedLogLines(): number;
  /** Log records since the last drain (also on each RunResult; use one of the two). */
  drainLogs(): { records: LogRecord[]; dropped: number };
  /**
   * One entry per runBatch call executing right now (queued calls are not listed): the index,
   * within that call's messages, of the message in progress and when it started (Date.now() ms).
   * Read from shared memory the isolate writes: no isolate lock, cheap enough to poll.
   */
  inflight(): InflightCall[];
  dispose(): void;
}

/** A runBatch call in progress, as reported by {@link Sandbox.inflight}. */
export interface InflightCall {
  /** Index within the call's `messages` of the message in progress. */
  index: number;
  /** When that message started, Date.now() ms. */
  startedAt: number;
}
