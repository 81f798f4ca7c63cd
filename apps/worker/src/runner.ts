/**
 * Runs one pipeline on this worker: a consumer in the pipeline's Kafka group, the handler in the
 * sandbox, batches per partition to the sink, the DLQ for what fails. Offsets are committed only up
 * to the end of a flushed batch, after its rows are in the sink and its failures in the DLQ.
 *
 * A batch whose rows may reach the sink before its offsets are committed is announced first by a
 * commit of its start offset with `weir:pending:<last>` metadata. If the worker dies in between, the
 * next owner reads that mark and cuts its first batch at the same offset, so the replayed insert has
 * the same dedup token and a deduplicating table drops it.
 */
import {
  type Admin,
  batchLimits,
  type Consumer,
  classifyKafkaError,
  createSink,
  type DlqInput,
  DlqWriter,
  type EachBatchPayload,
  Kafka,
  kafkaClientConfig,
  KafkaLogLevel as logLevel,
  type Sink,
} from "@weir/connectors";
import {
  type Counters,
  type DesiredPipeline,
  type PipelineReport,
  type PipelineState,
  type SerializedError,
  serializeError,
  WeirError,
  ZERO_COUNTERS,
} from "@weir/core";
import { createSandbox, isBinaryFormat, type Sandbox, sandboxFormat } from "@weir/sandbox";
import type { Logger } from "pino";
import { nextOffset, OpenBatch, parsePendingMetadata, pendingMetadata } from "./batch.ts";
import { type ChunkInFlight, locateInflight } from "./cell/inflight.ts";
import { mergeResults, splitPoison } from "./cell/poison.ts";
import type { InflightReport, PartitionProgress, PoisonEntry } from "./cell/protocol.ts";
import { deliverRows, sleep, withRetry } from "./deliver.ts";
import type { LogShipper } from "./logs.ts";
import type { WorkerMetrics } from "./metrics.ts";
import { PartitionState } from "./partition.ts";

export interface RunnerDeps {
  workerId: string;
  logs: LogShipper;
  metrics: WorkerMetrics;
  logger: Logger;
  sandboxChunk: number;
  /** Isolates per pipeline; partitions processed at the same time share them (default 1). */
  sandboxIsolates?: number;
  partitionConcurrency: number;
  /** Kafka group session timeout (ms). */
  sessionTimeoutMs: number;
  /** Called after each flushed batch is in the sink (and its failures in the DLQ), before its commit. */
  onFlushed?: (batch: FlushedBatch) => void;
  /** Messages to dead-letter instead of running (they killed or hung an earlier cell). */
  poisonFor?: (pipeline: string, topic: string, partition: number, offset: string) => PoisonEntry | undefined;
}

/** What a flush delivered: the offset range of one partition and each row-producing message's timestamp. */
export interface FlushedBatch {
  partition: number;
  firstOffset: string;
  lastOffset: string;
  rows: number;
  /** Kafka record timestamps (ms) of the messages whose rows were written, in offset order. */
  timestamps: number[];
  /** Date.now() when the sink acknowledged the batch. */
  writtenAt: number;
}

export class PipelineRunner {
  readonly id: string;
  readonly revision: number;
  private state: PipelineState = "deploying";
  private lastError: SerializedError | null = null;
  private readonly counters: Counters = { ...ZERO_COUNTERS };
  private readonly partitions = new Map<number, PartitionState>();
  /** Aborted when a stop begins: ends start-up retries. */
  private readonly stopCtl = new AbortController();
  /** Aborted when a graceful stop runs out of time: ends sink retries without committing. */
  private readonly abort = new AbortController();
  private generation = 0;
  private sandbox: Sandbox | null = null;
  private sink: Sink | null = null;
  private kafka: Kafka | null = null;
  private consumer: Consumer | null = null;
  private admin: Admin | null = null;
  private dlq: DlqWriter | null = null;
  private timer: NodeJS.Timeout | undefined;
  /** Log lines the sandbox dropped (rate limit) that were already reported to the log shipper. */
  private droppedLogLines = 0;
  private starting: Promise<void> | null = null;
  private stopping = false;
  /** Chunks in the sandbox right now: the cell reports the message in progress from them. */
  private readonly chunks = new Set<ChunkInFlight>();
  private readonly limits;
  private readonly log: Logger;

  private readonly desired: DesiredPipeline;
  private readonly deps: RunnerDeps;
  constructor(desired: DesiredPipeline, deps: RunnerDeps) {
    this.desired = desired;
    this.deps = deps;
    this.id = desired.id;
    this.revision = desired.revision;
    this.limits = batchLimits(desired.spec.sink);
    this.log = deps.logger.child({ pipeline: desired.id, revision: desired.revision });
  }

  private get heartbeatMs(): number {
    return Math.max(500, Math.floor(this.deps.sessionTimeoutMs / 10));
  }

  private get spec() {
    return this.desired.spec;
  }

  private get topic(): string {
    return this.spec.source.config.topic;
  }

  private get groupId(): string {
    return this.spec.source.config.group_id ?? `weir-${this.id}`;
  }

  /** Start in the background; failures to start are reported as `failing` and retried. */
  start(): void {
    this.starting ??= this.startLoop();
  }

  private async startLoop(): Promise<void> {
    if (!this.desired.handler) {
      // Not an error: the pipeline starts when a version is uploaded (that bumps the revision).
      this.state = "waiting_for_handler";
      this.workerLog("info", "waiting for a handler version to be uploaded");
      return;
    }
    let attempt = 0;
    while (!this.stopping) {
      try {
        await this.startOnce();
        return;
      } catch (err) {
        // A refused login or an untrusted broker certificate reads as KAFKA_AUTH / KAFKA_TLS, not INTERNAL.
        this.fail(classifyKafkaError(err, this.spec.source.config), "start");
        await this.teardown();
        attempt++;
        const wait = Math.min(
          this.spec.retry.max_backoff_ms,
          this.spec.retry.initial_backoff_ms * 2 ** attempt,
        );
        await sleep(wait * (0.5 + Math.random() / 2), this.stopCtl.signal);
      }
    }
  }

  private async startOnce(): Promise<void> {
    const handler = this.desired.handler;
    if (!handler) throw new WeirError("VALIDATION", "no handler version uploaded for this pipeline");
    this.sandbox ??= await createSandbox({
      code: handler.code,
      sourceMap: handler.source_map,
      env: this.spec.env,
      limits: this.spec.limits,
      pipelineId: this.id,
      handlerVersion: String(handler.version),
      format: sandboxFormat(this.spec.source.config),
      isolates: Math.min(this.deps.sandboxIsolates ?? 1, this.deps.partitionConcurrency),
    });
    this.sink ??= createSink(this.spec.sink, {
      pipelineId: this.id,
      logger: (level, message, fields) => this.workerLog(level, message, fields),
    });
    await this.sink.connect();
    for (const note of this.sink.capabilities.notes) this.workerLog("warn", note);

    const source = this.spec.source.config;
    this.kafka = new Kafka({
      ...kafkaClientConfig(source, `weir-${this.deps.workerId}`),
      logLevel: logLevel.ERROR,
    });
    this.admin = this.kafka.admin();
    await this.admin.connect();
    this.dlq = new DlqWriter(this.kafka, this.spec.dead_letter.topic, {
      compression: this.spec.dead_letter.compression,
    });
    await this.dlq.connect();
    const consumer = this.kafka.consumer({
      groupId: this.groupId,
      sessionTimeout: this.deps.sessionTimeoutMs,
      heartbeatInterval: this.heartbeatMs,
      maxBytesPerPartition: 8 * 1024 * 1024,
      maxBytes: 32 * 1024 * 1024,
      maxWaitTimeInMs: Math.min(500, Math.max(50, this.limits.maxWaitMs)),
    });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, () => this.onRejoin());
    consumer.on(consumer.events.CRASH, (e) => {
      this.onRejoin();
      this.fail(classifyKafkaError(e.payload.error, source), "consumer");
    });
    await consumer.connect();
    await consumer.subscribe({ topic: this.topic, fromBeginning: source.auto_offset_reset === "earliest" });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.deps.partitionConcurrency,
      eachBatch: (payload) => this.eachBatch(payload),
    });
    this.timer = setInterval(() => this.flushAged(), Math.max(20, Math.min(250, this.limits.maxWaitMs / 4)));
    this.timer.unref();
    if (this.state === "deploying" || this.state === "failing") this.state = "running";
    this.lastError = null;
    this.log.info({ group: this.groupId, topic: this.topic }, "pipeline started");
  }

  /** A (re)join restarts kafkajs at the committed offsets: open batches are dropped, nothing was written from them. */
  private onRejoin(): void {
    this.generation++;
    this.partitions.clear();
  }

  private partitionState(partition: number): PartitionState {
    let p = this.partitions.get(partition);
    if (!p || p.generation !== this.generation) {
      p = new PartitionState(this.topic, partition, this.generation);
      this.partitions.set(partition, p);
    }
    return p;
  }

  private async loadCommitted(p: PartitionState): Promise<void> {
    const offsets = await this.admin!.fetchOffsets({ groupId: this.groupId, topics: [this.topic] });
    const mine = offsets[0]?.partitions.find((x) => x.partition === p.partition);
    p.committed = mine && mine.offset !== "-1" ? mine.offset : null;
    p.cutAt = parsePendingMetadata(mine?.metadata);
    if (p.cutAt)
      this.workerLog("info", "resuming a batch that may have been written", {
        partition: p.partition,
        cut_at: p.cutAt,
      });
  }

  private async eachBatch({
    batch,
    resolveOffset,
    heartbeat,
    isRunning,
    isStale,
  }: EachBatchPayload): Promise<void> {
    const p = this.partitionState(batch.partition);
    p.highWatermark = batch.highWatermark;
    p.heartbeat = heartbeat;
    await p.lock(async () => {
      if (p.generation !== this.generation) return;
      p.loaded ??= this.loadCommitted(p);
      await p.loaded;
      const format = sandboxFormat(this.spec.source.config);
      const binary = isBinaryFormat(format);
      const chunk = this.deps.sandboxChunk;
      for (let i = 0; i < batch.messages.length; i += chunk) {
        if (this.stopping || !isRunning() || isStale() || p.generation !== this.generation) return;
        const slice = batch.messages.slice(i, i + chunk);
        const started = performance.now();
        // A chunk of slow or looping handlers can take timeout_ms per message: keep the group
        // membership alive meanwhile (the isolates run off the main thread), or the session times
        // out, the partition moves and the same chunk is processed again and again.
        const beat = setInterval(() => void heartbeat().catch(() => undefined), this.heartbeatMs);
        // Poison messages (they killed or hung a cell before) are dead-lettered, not run.
        const { runnable, poisoned } = splitPoison(
          slice.map((m) => m.offset),
          (offset) => this.deps.poisonFor?.(this.id, batch.topic, batch.partition, offset),
        );
        const inFlight: ChunkInFlight = {
          topic: batch.topic,
          partition: batch.partition,
          offsets: runnable.map((k) => slice[k]!.offset),
          startedAt: Date.now(),
        };
        this.chunks.add(inFlight);
        const ran = await this.sandbox!.runBatch(
          runnable.map((k) => {
            const m = slice[k]!;
            return {
              // Bytes are copied into the isolate: a kafkajs value is a view of the whole fetch
              // response, so copy this message's bytes alone (Buffer#slice would share them).
              value: binary ? copyBytes(m.value) : m.value === null ? "" : m.value.toString("utf8"),
              meta: { topic: batch.topic, partition: batch.partition, offset: m.offset, format },
            };
          }),
        ).finally(() => {
          clearInterval(beat);
          this.chunks.delete(inFlight);
        });
        const results = mergeResults(slice.length, runnable, ran, poisoned);
        p.lastProgressAt = Date.now();
        this.deps.metrics.handlerSeconds.observe({ pipeline: this.id }, (performance.now() - started) / 1000);
        this.reportDroppedLogLines();
        this.counters.messages_in += slice.length;
        this.deps.metrics.messagesIn.inc({ pipeline: this.id }, slice.length);
        const now = Date.now();
        for (let j = 0; j < slice.length; j++) {
          const m = slice[j]!;
          const r = results[j]!;
          if (r.logs.length > 0) this.deps.logs.push(this.id, r.logs);
          p.batch.touch(m.offset, now);
          const held = {
            offset: m.offset,
            key: m.key,
            value: m.value,
            headers: m.headers,
            timestamp: m.timestamp,
          };
          if (r.ok) {
            if (r.rowCount > 0) p.batch.addRows({ message: held, rows: r.rows, rowCount: r.rowCount });
            else {
              this.counters.dropped++;
              this.deps.metrics.dropped.inc({ pipeline: this.id });
            }
          } else {
            this.counters.failed++;
            this.deps.metrics.failed.inc({ pipeline: this.id });
            p.batch.addFailure(this.failure(batch.partition, held, r.error));
          }
          resolveOffset(m.offset);
          if (this.shouldCut(p, m.offset)) await this.flush(p);
        }
        await heartbeat();
      }
    });
  }

  /**
   * Lines over the pipeline's log rate limit are dropped in the sandbox and appear in no RunResult;
   * hand their count to the shipper so the API stores "N log lines dropped" instead of losing them
   * silently.
   */
  private reportDroppedLogLines(): void {
    const total = this.sandbox?.droppedLogLines() ?? this.droppedLogLines;
    if (total <= this.droppedLogLines) return;
    this.deps.logs.push(this.id, [], total - this.droppedLogLines);
    this.droppedLogLines = total;
  }

  private failure(
    partition: number,
    m: { offset: string; key: Buffer | null; value: Buffer | null; headers: DlqInput["headers"] | undefined },
    error: SerializedError,
  ): DlqInput {
    return {
      pipelineId: this.id,
      stage: error.code === "DECODE_ERROR" ? "decode" : "handler",
      error,
      attempts: 1,
      handlerVersion: this.desired.handler ? String(this.desired.handler.version) : null,
      source: { topic: this.topic, partition, offset: m.offset },
      key: m.key,
      value: m.value,
      headers: m.headers ?? {},
    };
  }

  /** Cut by size, or exactly at the previous owner's pending mark. */
  private shouldCut(p: PartitionState, offset: string): boolean {
    if (p.cutAt !== null) return BigInt(offset) >= BigInt(p.cutAt);
    const b = p.batch;
    return b.rowCount >= this.limits.maxRows || b.bytes >= this.limits.maxBytes;
  }

  private flushAged(): void {
    const now = Date.now();
    for (const p of this.partitions.values()) {
      // A partition stuck in sink retries holds its lock; keep the group membership alive meanwhile.
      if (p.paused) p.heartbeat?.().catch(() => undefined);
      const b = p.batch;
      if (b.empty || p.cutAt !== null || now - b.openedAt < this.limits.maxWaitMs) continue;
      p.lock(async () => {
        if (
          p.generation === this.generation &&
          !p.batch.empty &&
          Date.now() - p.batch.openedAt >= this.limits.maxWaitMs
        ) {
          await this.flush(p);
        }
      }).catch((err) => this.fail(err, "flush"));
    }
  }

  private async flush(p: PartitionState): Promise<void> {
    const b = p.batch;
    if (b.empty) return;
    const first = b.firstOffset!;
    const last = b.lastOffset!;
    if (b.failures.length > 0) await this.writeDlq(b.failures);
    if (b.rowCount > 0) {
      await this.commit(p, first, pendingMetadata(last));
      await deliverRows(
        {
          pipelineId: this.id,
          topic: this.topic,
          partition: p.partition,
          handlerVersion: this.desired.handler ? String(this.desired.handler.version) : null,
          retry: this.spec.retry,
          sink: this.sink!,
          signal: this.abort.signal,
          writeDlq: (records) => this.writeDlq(records),
          onRetry: async (error, attempt) => {
            this.counters.retries++;
            this.deps.metrics.retries.inc({ pipeline: this.id });
            this.lastError = error;
            if (attempt >= 2) this.state = "failing";
            if (!p.paused) {
              p.paused = true;
              this.consumer?.pause([{ topic: this.topic, partitions: [p.partition] }]);
            }
            this.workerLog("warn", `sink write failed, retrying: ${error.message}`, {
              partition: p.partition,
              attempt,
            });
          },
          onRecovered: () => {
            if (this.state === "failing") this.state = "running";
            this.workerLog("info", "sink write succeeded after retries", { partition: p.partition });
          },
          onSinkFailure: (error, records) => {
            this.state = "failing";
            this.lastError = error;
            this.workerLog(
              "error",
              `sink refused rows; ${records} message(s) sent to the DLQ: ${error.message}`,
              {
                partition: p.partition,
                code: error.code,
              },
            );
          },
          onWritten: (rows, seconds) => {
            this.counters.rows_out += rows;
            this.deps.metrics.rowsOut.inc({ pipeline: this.id }, rows);
            this.deps.metrics.sinkSeconds.observe({ pipeline: this.id }, seconds);
          },
        },
        b.entries,
        first,
        last,
      );
      this.flushed(p.partition, b);
    }
    await this.commit(p, nextOffset(last), null);
    p.batch = new OpenBatch();
    p.cutAt = null;
    if (p.paused) {
      p.paused = false;
      this.consumer?.resume([{ topic: this.topic, partitions: [p.partition] }]);
    }
  }

  /** End-to-end latency (record timestamp -> sink acknowledged) of every message whose rows were written. */
  private flushed(partition: number, b: OpenBatch): void {
    const writtenAt = Date.now();
    const timestamps = new Array<number>(b.entries.length);
    for (let i = 0; i < b.entries.length; i++) {
      const ts = Number(b.entries[i]!.message.timestamp);
      timestamps[i] = ts;
      if (ts > 0) this.deps.metrics.endToEndSeconds.observe({ pipeline: this.id }, (writtenAt - ts) / 1000);
    }
    this.deps.onFlushed?.({
      partition,
      firstOffset: b.firstOffset!,
      lastOffset: b.lastOffset!,
      rows: b.rowCount,
      timestamps,
      writtenAt,
    });
  }

  private async commit(p: PartitionState, offset: string, metadata: string | null): Promise<void> {
    if (p.generation !== this.generation) {
      throw new WeirError("SOURCE_ERROR", "partition was reassigned; dropping the open batch", {
        retryable: true,
      });
    }
    await this.consumer!.commitOffsets([{ topic: this.topic, partition: p.partition, offset, metadata }]);
    p.committed = offset;
    p.lastProgressAt = Date.now();
  }

  private async writeDlq(records: DlqInput[]): Promise<void> {
    await withRetry(
      async () => {
        try {
          await this.dlq!.write(records);
        } catch (err) {
          const wire = serializeError(err, "DLQ_ERROR");
          throw new WeirError("DLQ_ERROR", `dead-letter write failed: ${wire.message}`, {
            retryable: true,
            cause: err,
          });
        }
      },
      { ...this.spec.retry, max_attempts: Math.max(this.spec.retry.max_attempts, 20) },
      this.abort.signal,
      async (error) => {
        this.lastError = error;
      },
    );
    this.counters.dlq += records.length;
    this.deps.metrics.dlq.inc({ pipeline: this.id }, records.length);
  }

  private fail(err: unknown, where: string): void {
    this.lastError = serializeError(err);
    this.state = "failing";
    this.log.warn({ err, where }, "pipeline failing");
    this.workerLog("error", `${where}: ${this.lastError.message}`, { code: this.lastError.code });
  }

  private workerLog(
    level: "debug" | "info" | "warn" | "error",
    message: string,
    fields?: Record<string, unknown>,
  ): void {
    this.deps.logs.push(this.id, [{ time: Date.now(), level, message, fields, source: "worker" }]);
  }

  /** Status, counters and lag for the API. */
  report(): PipelineReport {
    const lag = [...this.partitions.values()].map((p) => {
      const l = p.lag();
      this.deps.metrics.lag.set({ pipeline: this.id, topic: p.topic, partition: String(p.partition) }, l);
      return {
        topic: p.topic,
        partition: p.partition,
        committed: p.committed,
        high_watermark: p.highWatermark ?? "0",
        lag: l,
      };
    });
    return {
      pipeline_id: this.id,
      revision: this.revision,
      state: this.state,
      last_error: this.lastError,
      counters: { ...this.counters },
      lag,
      handler_version: this.desired.handler ? String(this.desired.handler.version) : null,
    };
  }

  /** The handler calls in progress (for the supervisor's hard deadline). */
  inflight(): InflightReport[] {
    return locateInflight(this.sandbox, this.chunks, this.id, this.spec.limits.timeout_ms);
  }

  /** Lag and last progress per assigned partition (for stall detection). */
  progress(): PartitionProgress[] {
    // A message starting inside a chunk means the one before it finished: that is progress too.
    const started = new Map<number, number>();
    for (const c of this.inflight())
      started.set(c.partition, Math.max(started.get(c.partition) ?? 0, c.startedAt));
    return [...this.partitions.values()].map((p) => ({
      pipeline: this.id,
      topic: p.topic,
      partition: p.partition,
      lag: p.lag(),
      lastProgressAt: Math.max(p.lastProgressAt, started.get(p.partition) ?? 0),
      paused: p.paused,
    }));
  }

  /**
   * Drain and leave: stop fetching, flush every open batch, commit, leave the group. If the sink
   * cannot take the rows within `timeoutMs`, give up without committing (the next owner replays).
   */
  async stop(timeoutMs = 30_000): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.stopCtl.abort();
    if (this.timer) clearInterval(this.timer);
    await this.starting?.catch(() => undefined);
    try {
      this.consumer?.pause([{ topic: this.topic }]);
    } catch {
      // not running: nothing to pause
    }
    const drain = Promise.allSettled([...this.partitions.values()].map((p) => p.lock(() => this.flush(p))));
    const timer = setTimeout(() => this.abort.abort(), timeoutMs);
    const results = await drain;
    clearTimeout(timer);
    for (const r of results)
      if (r.status === "rejected")
        this.log.warn({ err: r.reason }, "flush on stop failed; the next owner replays");
    await this.teardown();
    this.sandbox?.dispose();
    this.sandbox = null;
    await this.sink?.close().catch(() => undefined);
    this.sink = null;
    this.log.info("pipeline stopped");
  }

  private async teardown(): Promise<void> {
    await Promise.allSettled([this.consumer?.disconnect(), this.admin?.disconnect(), this.dlq?.close()]);
    this.consumer = null;
    this.admin = null;
    this.dlq = null;
    this.kafka = null;
  }
}

/** A message's bytes in a buffer of their own (a typed-array copy, not a view). */
function copyBytes(value: Buffer | null): Uint8Array {
  return value ? new Uint8Array(value) : new Uint8Array(0);
}
