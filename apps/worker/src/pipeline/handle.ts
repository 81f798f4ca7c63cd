/**
 * Stage 2, the handler call: a chunk of one partition's messages into the sandbox, one result per
 * message back. Poison messages (they killed or hung a cell before) are not run: they come back
 * as failures with the supervisor's code. The chunk is recorded while it runs so the cell can tell
 * the supervisor which message is in the handler (its hard deadline), and the partition is kept
 * alive meanwhile (the isolates run off the main thread; a chunk of slow handlers can take
 * timeout_ms per message). A message whose handler threw `RetryAfterError` is run again alone
 * after its delay ({@link HandlerStage.retryAfter}).
 */
import { setTimeout as delay } from "node:timers/promises";
import {
  type DesiredPipeline,
  type DlqAttemptError,
  type RetryPolicy,
  type RowBinaryColumn,
  type SerializedError,
  WeirError,
} from "@weir/core";
import {
  createSandbox,
  isBinaryFormat,
  type MessageFormat,
  type RunResult,
  type Sandbox,
  sandboxFormat,
} from "@weir/sandbox";
import { type ChunkInFlight, locateInflight } from "../cell/inflight.ts";
import { mergeResults, splitPoison } from "../cell/poison.ts";
import type { InflightReport, PoisonEntry } from "../cell/protocol.ts";
import type { SourceBatch, SourceMessage } from "./source.ts";

/** True when the handler threw `RetryAfterError` for this message. */
export function isRetryAfter(result: RunResult): boolean {
  return !result.ok && result.error.code === "HANDLER_RETRY_AFTER";
}

export interface RetryAfterHooks {
  retry: RetryPolicy;
  /** Aborted when the pipeline stops: the wait ends at once and the message is not finished. */
  signal: AbortSignal;
  poisonFor: (offset: string) => PoisonEntry | undefined;
  heartbeatMs: number;
  /** Before each wait: `attempt` is the attempt about to be made (2 for the first retry). */
  onRetry(attempt: number, error: SerializedError, delayMs: number): void;
}

/** What a message that asked to be retried finally came to. */
export interface Retried {
  /**
   * The last attempt's result with every attempt's log lines. A failure's error carries every
   * attempt's error in `details.attempt_errors` (see @weir/core's DlqAttemptError).
   */
  result: RunResult;
  /** Attempts made, the first (in its chunk) included. */
  attempts: number;
}

export class HandlerStage {
  private readonly chunks = new Set<ChunkInFlight>();
  private readonly format: MessageFormat;
  private readonly binary: boolean;
  /** Null while unloaded (idle): the next call loads it again. */
  private sandbox: Sandbox | null;
  private loading: Promise<Sandbox> | null = null;
  private lastUsed = Date.now();
  /** Log lines dropped by sandboxes unloaded since the stage started. */
  private droppedBefore = 0;
  private disposed = false;
  /** The columns rows are encoded for as RowBinary, when they are. */
  rowBinary: RowBinaryColumn[] | undefined;
  private readonly load: () => Promise<Sandbox>;
  private readonly pipeline: DesiredPipeline;
  private constructor(sandbox: Sandbox, pipeline: DesiredPipeline, load: () => Promise<Sandbox>) {
    this.sandbox = sandbox;
    this.pipeline = pipeline;
    this.load = load;
    this.format = sandboxFormat(pipeline.spec.source.config);
    this.binary = isBinaryFormat(this.format);
  }

  /**
   * Load the handler now (a handler that cannot load fails the pipeline's start, not its first message).
   * `rowBinary`: the sink's `rowBinaryColumns`: rows are then encoded so in the isolate.
   */
  static async create(
    pipeline: DesiredPipeline,
    isolates: number,
    rowBinary?: RowBinaryColumn[],
  ): Promise<HandlerStage> {
    const handler = pipeline.handler!;
    const load = () =>
      createSandbox({
        code: handler.code,
        sourceMap: handler.source_map,
        env: pipeline.spec.env,
        limits: pipeline.spec.limits,
        pipelineId: pipeline.id,
        handlerVersion: String(handler.version),
        format: sandboxFormat(pipeline.spec.source.config),
        isolates,
        ...(rowBinary ? { rowBinary } : {}),
      });
    const stage = new HandlerStage(await load(), pipeline, load);
    stage.rowBinary = rowBinary;
    return stage;
  }

  /**
   * Free the isolates of a handler that ran nothing for `idleMs` (an idle pipeline then costs no
   * isolate); the next call loads them again (tens of ms). Module-level state does not survive it,
   * as it does not survive a recycle after a memory or time limit.
   */
  unloadIfIdle(idleMs: number, now = Date.now()): boolean {
    if (!this.sandbox || this.chunks.size > 0 || now - this.lastUsed < idleMs) return false;
    this.droppedBefore += this.sandbox.droppedLogLines();
    this.sandbox.dispose();
    this.sandbox = null;
    return true;
  }

  get loaded(): boolean {
    return this.sandbox !== null;
  }

  private async current(): Promise<Sandbox> {
    if (this.sandbox) return this.sandbox;
    this.loading ??= this.load().finally(() => {
      this.loading = null;
    });
    const sandbox = await this.loading;
    if (this.disposed) {
      sandbox.dispose();
      throw new WeirError("SANDBOX_DISPOSED", "the handler stage was disposed while it loaded");
    }
    this.sandbox ??= sandbox;
    if (this.sandbox !== sandbox) sandbox.dispose();
    return this.sandbox;
  }

  /**
   * Run `messages` (consecutive, of `batch`'s partition); results are in the same order. Never
   * rejects for handler faults (they are failed results), only once the sandbox is disposed.
   */
  async run(
    batch: SourceBatch,
    messages: readonly SourceMessage[],
    poisonFor: (offset: string) => PoisonEntry | undefined,
    heartbeatMs: number,
  ): Promise<RunResult[]> {
    const { runnable, poisoned } = splitPoison(
      messages.map((m) => m.offset),
      poisonFor,
    );
    const chunk: ChunkInFlight = {
      topic: batch.topic,
      partition: batch.partition,
      offsets: runnable.map((k) => messages[k]!.offset),
      startedAt: Date.now(),
    };
    this.chunks.add(chunk);
    this.lastUsed = Date.now();
    const beat = setInterval(() => void batch.heartbeat().catch(() => undefined), heartbeatMs);
    try {
      const sandbox = await this.current();
      const ran = await sandbox.runBatch(
        runnable.map((k) => {
          const m = messages[k]!;
          return {
            // Bytes are copied into the isolate: a kafkajs value is a view of the whole fetch
            // response, so copy this message's bytes alone (Buffer#slice would share them).
            value: this.binary ? copyBytes(m.value) : m.value === null ? "" : m.value.toString("utf8"),
            meta: { topic: batch.topic, partition: batch.partition, offset: m.offset, format: this.format },
          };
        }),
      );
      return mergeResults(messages.length, runnable, ran, poisoned);
    } finally {
      clearInterval(beat);
      this.chunks.delete(chunk);
      this.lastUsed = Date.now();
    }
  }

  /**
   * The retry step for a message whose handler threw `RetryAfterError` (`first`, its result in its
   * chunk): wait the delay it asked for (at most `retry.max_backoff_ms`), run it again alone, until
   * it ends otherwise or `retry.max_attempts` attempts were made. The partition stays alive during
   * the waits. Null when the pipeline stops or loses the partition during a wait.
   */
  async retryAfter(
    batch: SourceBatch,
    message: SourceMessage,
    first: RunResult,
    hooks: RetryAfterHooks,
  ): Promise<Retried | null> {
    const errors: DlqAttemptError[] = [];
    const logs = [...first.logs];
    let result = first;
    let attempts = 1;
    while (!result.ok) {
      errors.push(attemptError(attempts, result.error));
      if (result.error.code !== "HANDLER_RETRY_AFTER" || attempts >= hooks.retry.max_attempts) break;
      const ms = Math.min(Number(result.error.details?.retry_after_ms) || 0, hooks.retry.max_backoff_ms);
      hooks.onRetry(attempts + 1, result.error, ms);
      if (!(await waitAlive(ms, batch, hooks.signal, hooks.heartbeatMs))) return null;
      [result] = (await this.run(batch, [message], hooks.poisonFor, hooks.heartbeatMs)) as [RunResult];
      logs.push(...result.logs);
      attempts++;
    }
    if (result.ok) return { result: { ...result, logs }, attempts };
    const details = { ...result.error.details, attempt_errors: errors };
    return { result: { ...result, error: { ...result.error, details }, logs }, attempts };
  }

  /** The handler calls in progress (for the supervisor's hard deadline). */
  inflight(): InflightReport[] {
    if (!this.sandbox) return [];
    return locateInflight(this.sandbox, this.chunks, this.pipeline.id, this.pipeline.spec.limits.timeout_ms);
  }

  /** Log lines the sandbox dropped over the rate limit since it started. */
  droppedLogLines(): number {
    return this.droppedBefore + (this.sandbox?.droppedLogLines() ?? 0);
  }

  dispose(): void {
    this.disposed = true;
    this.sandbox?.dispose();
    this.sandbox = null;
  }
}

/** A message's bytes in a buffer of their own (a typed-array copy, not a view). */
function copyBytes(value: Buffer | null): Uint8Array {
  return value ? new Uint8Array(value) : new Uint8Array(0);
}

/** One failed attempt as the DLQ record lists it (no stack: the last attempt's is the record's error). */
function attemptError(attempt: number, e: SerializedError): DlqAttemptError {
  const out: DlqAttemptError = {
    attempt,
    code: e.code,
    name: e.name,
    message: e.message,
    failed_at: Date.now(),
  };
  if (typeof e.details?.retry_after_ms === "number") out.retry_after_ms = e.details.retry_after_ms;
  return out;
}

/** Wait `ms`, heartbeating; false when `signal` aborts or the partition is taken away meanwhile. */
async function waitAlive(ms: number, batch: SourceBatch, signal: AbortSignal, heartbeatMs: number) {
  const until = Date.now() + ms;
  for (let left = ms; left > 0 && !signal.aborted && batch.isActive(); left = until - Date.now()) {
    await delay(Math.min(left, heartbeatMs), undefined, { signal }).catch(() => undefined);
    if (!signal.aborted) await batch.heartbeat().catch(() => undefined);
  }
  return !signal.aborted && batch.isActive();
}

/**
 * Where a sandbox call starting at `start` ends (exclusive): at most `maxMessages` messages and, when
 * `maxBytes` is set, at most that many bytes of values, but always at least one message.
 */
export function chunkEnd(
  messages: readonly { value: Buffer | null }[],
  start: number,
  maxMessages: number,
  maxBytes?: number,
): number {
  const end = Math.min(messages.length, start + maxMessages);
  if (maxBytes === undefined || start >= end) return end;
  let bytes = messages[start]!.value?.length ?? 0;
  let i = start + 1;
  for (; i < end; i++) {
    bytes += messages[i]!.value?.length ?? 0;
    if (bytes > maxBytes) break;
  }
  return i;
}
