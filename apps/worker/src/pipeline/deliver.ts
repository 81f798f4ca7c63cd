/**
 * Stage 4, delivery of one flushed batch: the DLQ first (decode and handler failures), then the
 * rows to the sink with retries, bisection of a batch the sink refuses, and the DLQ for what it
 * refuses for good. Offsets are committed by the caller only after this resolves, so everything
 * below the commit point is in the sink or in the DLQ.
 */
import type { DlqInput, Sink, SinkBatch } from "@weir/connectors";
import { DlqWriter, dedupToken, Kafka, kafkaClientConfig, KafkaLogLevel as logLevel } from "@weir/connectors";
import {
  type EgressPolicy,
  isWeirError,
  type PipelineSpec,
  type RetryPolicy,
  type SerializedError,
  serializeError,
  WeirError,
} from "@weir/core";
import pRetry from "p-retry";
import type { RowEntry } from "./batch.ts";

export interface DeliveryHooks {
  pipelineId: string;
  topic: string;
  partition: number;
  handlerVersion: string | null;
  retry: RetryPolicy;
  sink: Sink;
  /** Writes to the dead-letter topic; retried here until it succeeds or `signal` aborts. */
  writeDlq(records: DlqInput[]): Promise<void>;
  /** Called on each failed sink attempt: pause the partition, heartbeat, count the retry. */
  onRetry(error: SerializedError, attempt: number): Promise<void>;
  /** Called after a sink write finally succeeds following failures. */
  onRecovered(): void;
  /** Called when a batch (or part) ends in the DLQ because the sink refused it. */
  onSinkFailure(error: SerializedError, records: number): void;
  onWritten(rows: number, seconds: number): void;
  signal: AbortSignal;
}

/** Retry `fn` on retryable errors with exponential backoff and jitter, honouring a sink's `backoffMs`. */
export async function withRetry<T>(
  fn: () => Promise<T>,
  policy: RetryPolicy,
  signal: AbortSignal,
  onFailed: (error: SerializedError, attempt: number) => Promise<void>,
): Promise<T> {
  return pRetry(fn, {
    retries: policy.max_attempts - 1,
    factor: 2,
    minTimeout: policy.initial_backoff_ms,
    maxTimeout: policy.max_backoff_ms,
    randomize: true,
    signal,
    shouldRetry: ({ error }) => isWeirError(error) && error.retryable,
    onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
      if (!(isWeirError(error) && error.retryable) || retriesLeft === 0) return;
      await onFailed(serializeError(error), attemptNumber);
      // A remote's Retry-After is a floor under our own backoff.
      const floor = isWeirError(error) ? (error.backoffMs ?? 0) : 0;
      if (floor > 0) await sleep(Math.min(floor, policy.max_backoff_ms), signal);
    },
  });
}

/**
 * A pipeline's dead-letter topic on the source's cluster. A write is retried (at least 20 attempts)
 * until it succeeds or `signal` aborts: the offsets of what it carries are committed only after it.
 */
export class DeadLetters {
  private readonly writer: DlqWriter;
  private readonly retry: RetryPolicy;
  private readonly signal: AbortSignal;
  private readonly onRetry: (error: SerializedError) => void;
  constructor(
    spec: PipelineSpec,
    clientId: string,
    signal: AbortSignal,
    onRetry: (error: SerializedError) => void,
    /** Enforced on every broker connection of the DLQ producer. */
    egress?: EgressPolicy,
  ) {
    const kafka = new Kafka({
      ...kafkaClientConfig(spec.source.config, clientId, { egress }),
      logLevel: logLevel.ERROR,
    });
    this.writer = new DlqWriter(kafka, spec.dead_letter.topic, { compression: spec.dead_letter.compression });
    this.retry = { ...spec.retry, max_attempts: Math.max(spec.retry.max_attempts, 20) };
    this.signal = signal;
    this.onRetry = onRetry;
  }

  connect(): Promise<void> {
    return this.writer.connect();
  }

  async write(records: DlqInput[]): Promise<void> {
    await withRetry(
      async () => {
        try {
          await this.writer.write(records);
        } catch (err) {
          const wire = serializeError(err, "DLQ_ERROR");
          throw new WeirError("DLQ_ERROR", `dead-letter write failed: ${wire.message}`, {
            retryable: true,
            cause: err,
          });
        }
      },
      this.retry,
      this.signal,
      async (error) => this.onRetry(error),
    );
  }

  close(): Promise<void> {
    return this.writer.close();
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    });
  });
}

function toSinkBatch(
  h: DeliveryHooks,
  entries: RowEntry[],
  firstOffset: string,
  lastOffset: string,
): SinkBatch {
  let rowCount = 0;
  let bytes = 0;
  const chunks: string[] = [];
  const rowBinary: Uint8Array[] = [];
  for (const e of entries) {
    if (typeof e.rows === "string") {
      chunks.push(e.rows);
      bytes += e.rows.length + 1;
    } else {
      rowBinary.push(e.rows);
      bytes += e.rows.length;
    }
    rowCount += e.rowCount;
  }
  const id = { pipelineId: h.pipelineId, topic: h.topic, partition: h.partition, firstOffset, lastOffset };
  return {
    ...id,
    chunks,
    ...(rowBinary.length > 0 ? { rowBinary } : {}),
    rowCount,
    bytes,
    dedupToken: dedupToken(id),
  };
}

function dlqFor(h: DeliveryHooks, entries: RowEntry[], error: SerializedError, attempts: number): DlqInput[] {
  return entries.map((e) => ({
    pipelineId: h.pipelineId,
    stage: "sink" as const,
    error,
    attempts,
    handlerVersion: h.handlerVersion,
    source: { topic: h.topic, partition: h.partition, offset: e.message.offset },
    key: e.message.key,
    value: e.message.value,
    headers: e.message.headers ?? {},
  }));
}

/**
 * Write `entries` (rows of consecutive messages) as one sink batch spanning `firstOffset..lastOffset`.
 * A permanent refusal of a multi-message batch is bisected so that only the messages whose rows the
 * sink rejects go to the DLQ; retries exhausted send the whole part to the DLQ.
 */
export async function deliverRows(
  h: DeliveryHooks,
  entries: RowEntry[],
  firstOffset: string,
  lastOffset: string,
): Promise<void> {
  if (entries.length === 0) return;
  let failedAttempts = 0;
  const started = performance.now();
  try {
    await withRetry(
      () => h.sink.write(toSinkBatch(h, entries, firstOffset, lastOffset)),
      h.retry,
      h.signal,
      (err, n) => {
        failedAttempts = n;
        return h.onRetry(err, n);
      },
    );
    if (failedAttempts > 0) h.onRecovered();
    h.onWritten(
      entries.reduce((n, e) => n + e.rowCount, 0),
      (performance.now() - started) / 1000,
    );
    return;
  } catch (err) {
    if (h.signal.aborted)
      throw new WeirError("SINK_RETRYABLE", "delivery aborted: the pipeline is stopping", {
        retryable: true,
      });
    const wire = serializeError(err, "SINK_PERMANENT");
    if (!wire.retryable && entries.length > 1) {
      const mid = Math.ceil(entries.length / 2);
      const left = entries.slice(0, mid);
      const right = entries.slice(mid);
      await deliverRows(h, left, firstOffset, left[left.length - 1]!.message.offset);
      await deliverRows(h, right, right[0]!.message.offset, lastOffset);
      return;
    }
    const attempts = wire.retryable ? h.retry.max_attempts : failedAttempts + 1;
    await h.writeDlq(dlqFor(h, entries, wire, attempts));
    h.onSinkFailure(wire, entries.length);
  }
}
