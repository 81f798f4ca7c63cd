/**
 * One pipeline on this worker, as named stages (src/pipeline/): the source (Kafka consumer,
 * committed offsets, pending-commit marks) -> the handler call (sandbox) -> the batcher (one open
 * batch per partition) -> delivery (DLQ, sink with retries and bisection) -> commit. This file is
 * the loop that wires them, plus state, counters and start/stop.
 *
 * Offsets are committed only up to the end of a flushed batch, after its rows are in the sink and
 * its failures in the DLQ. A batch whose rows may reach the sink before its offsets are committed
 * is announced first by a commit of its start offset with `weir:pending:<last>` metadata. If the
 * worker dies in between, the next owner reads that mark and cuts its first batch at the same
 * offset, so the replayed insert has the same dedup token and a deduplicating table drops it.
 */
import { batchLimits, classifyKafkaError, createSink, type DlqInput, type Sink } from "@weir/connectors";
import {
  type Counters,
  checkEgress,
  type DesiredPipeline,
  type EgressLists,
  egressPolicyFromLists,
  type PipelineReport,
  type PipelineState,
  type SerializedError,
  serializeError,
  WeirError,
  ZERO_COUNTERS,
} from "@weir/core";
import type { RunResult } from "@weir/sandbox";
import type { Logger } from "pino";
import type { InflightReport, PartitionProgress, PoisonEntry } from "./cell/protocol.ts";
import type { LogShipper } from "./logs.ts";
import type { WorkerMetrics } from "./metrics.ts";
import {
  nextOffset,
  OpenBatch,
  type Outcome,
  parsePendingMetadata,
  pendingMetadata,
} from "./pipeline/batch.ts";
import { DeadLetters, deliverRows, sleep } from "./pipeline/deliver.ts";
import { chunkEnd, HandlerStage, isRetryAfter } from "./pipeline/handle.ts";
import { KafkaSource } from "./pipeline/kafka-source.ts";
import { PartitionState } from "./pipeline/partition.ts";
import type { SourceBatch, SourceMessage } from "./pipeline/source.ts";

export interface RunnerDeps {
  workerId: string;
  logs: LogShipper;
  metrics: WorkerMetrics;
  logger: Logger;
  sandboxChunk: number;
  /** Bytes of values per sandbox call, at most (at least one message a call); unbounded when absent. */
  sandboxChunkBytes?: number;
  /** Isolates per pipeline; partitions processed at the same time share them (default 1). */
  sandboxIsolates?: number;
  partitionConcurrency: number;
  /** Kafka group session timeout (ms). */
  sessionTimeoutMs: number;
  /** How long an idle fetch waits at the broker (WEIR_WORKER_FETCH_WAIT_MS); 500 when absent. */
  fetchWaitMs?: number;
  /** Unload an idle handler's isolates after this long without a call (WEIR_WORKER_IDLE_UNLOAD_MS; 0: never). */
  idleUnloadMs?: number;
  /** Called after each flushed batch is in the sink (and its failures in the DLQ), before its commit. */
  onFlushed?: (batch: FlushedBatch) => void;
  /** Messages to dead-letter instead of running (they killed or hung an earlier cell). */
  poisonFor?: (pipeline: string, topic: string, partition: number, offset: string) => PoisonEntry | undefined;
  /** Group members a killed cell left for this pipeline: evicted before joining. */
  evictFor?: (pipeline: string) => readonly string[];
  /** The operator's egress lists (read at every start); absent: only the default deny rules apply. */
  egress?: () => EgressLists | undefined;
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
  /** Aborted when a graceful stop runs out of time: ends sink and DLQ retries without committing. */
  private readonly abort = new AbortController();
  /** Bumped on every reassignment: state of an older generation is dropped, never committed. */
  private generation = 0;
  private handler: HandlerStage | null = null;
  private sink: Sink | null = null;
  private source: KafkaSource | null = null;
  private dlq: DeadLetters | null = null;
  private timer: NodeJS.Timeout | undefined;
  private flusherBusy = false;
  /** Log lines the sandbox dropped (rate limit) that were already reported to the log shipper. */
  private droppedLogLines = 0;
  private starting: Promise<void> | null = null;
  private stopping = false;
  private readonly limits;
  private readonly log: Logger;

  readonly desired: DesiredPipeline;
  private readonly deps: RunnerDeps;
  constructor(desired: DesiredPipeline, deps: RunnerDeps) {
    this.desired = desired;
    this.deps = deps;
    this.id = desired.id;
    this.revision = desired.revision;
    this.limits = batchLimits(desired.spec.sink);
    this.log = deps.logger.child({ pipeline: desired.id, revision: desired.revision });
  }

  private get spec() {
    return this.desired.spec;
  }

  private get topic(): string {
    return this.spec.source.config.topic;
  }

  private get handlerVersion(): string | null {
    return this.desired.handler ? String(this.desired.handler.version) : null;
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

  /**
   * Check the destinations against the egress policy (after DNS resolution), then build the stages
   * back to front (sink, DLQ, handler) and start the source feeding them.
   */
  private async startOnce(): Promise<void> {
    if (!this.desired.handler)
      throw new WeirError("VALIDATION", "no handler version uploaded for this pipeline");
    // Before anything connects: a refused destination fails the start (EGRESS_DENIED), retried with backoff.
    const egress = egressPolicyFromLists(this.deps.egress?.());
    await checkEgress(egress, this.spec);
    this.sink ??= createSink(this.spec.sink, {
      pipelineId: this.id,
      logger: (level, message, fields) => this.workerLog(level, message, fields),
      egress, // and at every connection (advertised brokers, redirects, DNS changes)
    });
    await this.sink.connect();
    for (const note of this.sink.capabilities.notes) this.workerLog("warn", note);
    // The handler encodes rows in the format the sink chose at connect (RowBinary for a column list).
    const rowBinary = this.sink.rowBinaryColumns;
    if (this.handler && JSON.stringify(this.handler.rowBinary) !== JSON.stringify(rowBinary)) {
      this.handler.dispose();
      this.handler = null;
    }
    this.handler ??= await HandlerStage.create(
      this.desired,
      Math.min(this.deps.sandboxIsolates ?? 1, this.deps.partitionConcurrency),
      rowBinary,
    );

    const clientId = `weir-${this.deps.workerId}`;
    this.dlq = new DeadLetters(
      this.spec,
      clientId,
      this.abort.signal,
      (error) => {
        this.lastError = error;
      },
      egress,
    );
    // Not connected here: the DLQ producer (and the DLQ topic) is made on the first dead letter. An
    // idle pipeline's eager producer cost ~3 MB RSS in its cell (measured: bench/README.md, "Scale").
    this.source = new KafkaSource({
      config: this.spec.source.config,
      groupId: this.spec.source.config.group_id ?? `weir-${this.id}`,
      clientId,
      sessionTimeoutMs: this.deps.sessionTimeoutMs,
      partitionConcurrency: this.deps.partitionConcurrency,
      fetchWaitMs: this.deps.fetchWaitMs ?? 500,
      evict: this.deps.evictFor?.(this.id) ?? [],
      log: this.log,
      egress,
    });
    await this.source.start({
      batch: (b) => this.onBatch(b),
      reassigned: () => this.onReassigned(),
      crashed: (err) => this.fail(err, "consumer"),
    });
    this.armFlusher(false);
    if (this.state === "deploying" || this.state === "failing") this.state = "running";
    this.lastError = null;
    this.log.info({ topic: this.topic }, "pipeline started");
  }

  /** A reassignment restarts the source at the committed offsets: open batches are dropped, nothing was written from them. */
  private onReassigned(): void {
    this.generation++;
    this.partitions.clear();
  }

  /** Still this partition's state: not reassigned away and not reset after a failed delivery. */
  private current(p: PartitionState): boolean {
    return p.generation === this.generation && this.partitions.get(p.partition) === p;
  }

  private partitionState(partition: number): PartitionState {
    let p = this.partitions.get(partition);
    if (!p || p.generation !== this.generation) {
      p = new PartitionState(this.topic, partition, this.generation);
      this.partitions.set(partition, p);
    }
    return p;
  }

  /** The committed offset, and the cut point when the previous owner left a pending mark. */
  private async loadCommitted(p: PartitionState): Promise<void> {
    const c = await this.source!.committed(p.partition);
    p.committed = c.offset;
    p.cutAt = parsePendingMetadata(c.metadata);
    if (p.cutAt)
      this.workerLog("info", "resuming a batch that may have been written", {
        partition: p.partition,
        cut_at: p.cutAt,
      });
  }

  /** One source batch of one partition: chunks through the handler, results into the open batch, flush when due. */
  private async onBatch(b: SourceBatch): Promise<void> {
    const p = this.partitionState(b.partition);
    p.highWatermark = b.highWatermark;
    p.heartbeat = b.heartbeat;
    const live = () => !this.stopping && b.isActive() && this.current(p);
    await p.lock(async () => {
      if (!live()) return;
      p.loaded ??= this.loadCommitted(p);
      await p.loaded;
      for (let i = 0; i < b.messages.length; ) {
        if (!live()) return;
        const end = chunkEnd(b.messages, i, this.deps.sandboxChunk, this.deps.sandboxChunkBytes);
        const slice = b.messages.slice(i, end);
        const results = await this.handle(b, slice);
        p.lastProgressAt = Date.now();
        const now = Date.now();
        let j = 0;
        while (j < slice.length) {
          const m = slice[j]!;
          let r = results[j]!;
          let attempts = 1;
          if (isRetryAfter(r)) {
            const retried = live() ? await this.retryAfter(b, p, m, r) : null;
            if (!retried) break; // stopping or the partition is gone: the message stays uncommitted
            ({ result: r, attempts } = retried);
          }
          j++;
          if (r.logs.length > 0) this.deps.logs.push(this.id, r.logs);
          this.count(p.batch.add(m, r, now, (error) => this.failure(b.partition, m, error, attempts)));
          if (!this.flusherBusy && !this.stopping) this.armFlusher(true);
          b.resolve(m.offset);
          if (p.batch.due(m.offset, p.cutAt, this.limits)) {
            await this.flush(p);
            if (!live()) return; // the batch before failed to deliver: this partition reads again from there
          }
          // The chunk's later messages ran before this one's last attempt: run them again, in order.
          if (attempts > 1) break;
        }
        this.countIn(j);
        i += j;
        await b.heartbeat();
      }
    });
  }

  /** The retry step: the partition is paused (nothing more fetched) while the message waits and runs again. */
  private async retryAfter(b: SourceBatch, p: PartitionState, m: SourceMessage, first: RunResult) {
    // Deliver what came before it now rather than after the waits (not when cutting at a pending mark).
    if (p.cutAt === null) await this.flush(p);
    this.hold(p, "retry");
    try {
      return await this.handler!.retryAfter(b, m, first, {
        retry: this.spec.retry,
        signal: this.stopCtl.signal,
        poisonFor: (offset) => this.deps.poisonFor?.(this.id, b.topic, b.partition, offset),
        heartbeatMs: this.source!.heartbeatMs,
        onRetry: (attempt, error, delayMs) => {
          this.counters.retries++;
          this.deps.metrics.handlerRetries.inc({ pipeline: this.id });
          const of = `attempt ${attempt} of ${this.spec.retry.max_attempts}`;
          this.workerLog("warn", `handler asked to retry in ${delayMs} ms (${of}): ${error.message}`, {
            partition: p.partition,
            offset: m.offset,
            attempt,
            retry_after_ms: delayMs,
          });
        },
      });
    } finally {
      p.lastProgressAt = Date.now(); // the stall watchdog skipped the paused partition: restart its clock
      this.release(p, "retry");
    }
  }

  /** Stage 2 for one chunk, with its metrics. */
  private async handle(b: SourceBatch, slice: SourceMessage[]): Promise<RunResult[]> {
    const started = performance.now();
    const results = await this.handler!.run(
      b,
      slice,
      (offset) => this.deps.poisonFor?.(this.id, b.topic, b.partition, offset),
      this.source!.heartbeatMs,
    );
    this.deps.metrics.handlerSeconds.observe({ pipeline: this.id }, (performance.now() - started) / 1000);
    this.reportDroppedLogLines();
    return results;
  }

  /** Messages consumed (counted once each, however often a retry made them run). */
  private countIn(messages: number): void {
    this.counters.messages_in += messages;
    this.deps.metrics.messagesIn.inc({ pipeline: this.id }, messages);
  }

  private count(outcome: Outcome): void {
    if (outcome === "dropped") {
      this.counters.dropped++;
      this.deps.metrics.dropped.inc({ pipeline: this.id });
    } else if (outcome === "failed") {
      this.counters.failed++;
      this.deps.metrics.failed.inc({ pipeline: this.id });
    }
  }

  /**
   * Lines over the pipeline's log rate limit are dropped in the sandbox and appear in no RunResult;
   * hand their count to the shipper so the API stores "N log lines dropped" instead of losing them
   * silently.
   */
  private reportDroppedLogLines(): void {
    const total = this.handler?.droppedLogLines() ?? this.droppedLogLines;
    if (total <= this.droppedLogLines) return;
    this.deps.logs.push(this.id, [], total - this.droppedLogLines);
    this.droppedLogLines = total;
  }

  private failure(partition: number, m: SourceMessage, error: SerializedError, attempts: number): DlqInput {
    return {
      pipelineId: this.id,
      stage: error.code === "DECODE_ERROR" ? "decode" : "handler",
      error,
      attempts,
      handlerVersion: this.handlerVersion,
      source: { topic: this.topic, partition, offset: m.offset },
      key: m.key,
      value: m.value,
      headers: m.headers ?? {},
    };
  }

  /**
   * The wait-time flusher ticks at a quarter of max_batch_wait_ms while a partition holds rows or is
   * paused, and once a second otherwise: an idle pipeline's timer costs next to nothing.
   */
  private armFlusher(busy: boolean): void {
    if (this.timer && this.flusherBusy === busy) return;
    if (this.timer) clearInterval(this.timer);
    this.flusherBusy = busy;
    const ms = busy ? Math.max(20, Math.min(250, this.limits.maxWaitMs / 4)) : 1000;
    this.timer = setInterval(() => this.flushAged(), ms);
    this.timer.unref();
  }

  private flushAged(): void {
    let busy = false;
    for (const p of this.partitions.values()) if (p.paused || !p.batch.empty || p.delivering) busy = true;
    if (!busy) {
      const idleMs = this.deps.idleUnloadMs ?? 300_000;
      if (idleMs > 0 && this.handler?.unloadIfIdle(idleMs)) this.log.debug("idle: handler isolates unloaded");
      this.armFlusher(false);
      return;
    }
    const now = Date.now();
    for (const p of this.partitions.values()) {
      // A partition stuck in sink retries holds its lock; keep its ownership alive meanwhile.
      if (p.paused) p.heartbeat?.().catch(() => undefined);
      if (!p.batch.aged(now, p.cutAt, this.limits)) continue;
      p.lock(async () => {
        if (this.current(p) && p.batch.aged(Date.now(), p.cutAt, this.limits)) await this.flush(p);
      }).catch((err) => this.fail(err, "flush"));
    }
  }

  /**
   * Cut the open batch and hand it to delivery (stage 4 and the commit), without waiting for it:
   * the partition goes on fetching and running the handler while the insert is in flight. At most
   * one batch per partition is in delivery: a second flush waits for the first (so memory holds at
   * most the open batch and the one being written, and deliveries and commits stay in offset order).
   */
  private async flush(p: PartitionState): Promise<void> {
    if (p.delivering) await p.delivering;
    if (!this.current(p)) return;
    const b = p.batch;
    if (b.empty) return;
    p.batch = new OpenBatch();
    p.cutAt = null;
    const delivery = this.deliver(p, b).then(
      () => undefined,
      (err) => this.deliveryFailed(p, b, err),
    );
    p.delivering = delivery;
    void delivery.finally(() => {
      if (p.delivering === delivery) p.delivering = null;
    });
  }

  /** Wait until this partition has no batch in delivery. */
  private async drained(p: PartitionState): Promise<void> {
    while (p.delivering) await p.delivering;
  }

  /** Stage 4 and the commit for one batch: DLQ, pending mark, rows to the sink, then the offset after it. */
  private async deliver(p: PartitionState, b: OpenBatch): Promise<void> {
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
          handlerVersion: this.handlerVersion,
          retry: this.spec.retry,
          sink: this.sink!,
          signal: this.abort.signal,
          writeDlq: (records) => this.writeDlq(records),
          onRetry: async (error, attempt) => this.sinkRetry(p, error, attempt),
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
    this.release(p, "sink");
  }

  /**
   * A delivery that failed without the pipeline stopping or the partition moving (a commit the broker
   * refused, a DLQ write that ran out of attempts): nothing from the batch on is committed, so drop
   * this partition's state (the open batch after it included) and read again from the batch's first
   * offset, as a restart of the consumer would.
   */
  private deliveryFailed(p: PartitionState, b: OpenBatch, err: unknown): void {
    this.release(p, "sink");
    if (this.stopping || !this.current(p)) {
      // Nothing after the last commit is lost: the next owner (or the next start) replays it.
      this.log.warn(
        { err, partition: p.partition },
        "delivery ended without a commit; the next owner replays",
      );
      return;
    }
    this.fail(err, "flush");
    this.partitions.delete(p.partition);
    this.source?.seek(p.partition, b.firstOffset!);
  }

  /** Hold a partition's fetching back (sink retries or a handler's retry); resumed when neither holds it. */
  private hold(p: PartitionState, why: "sink" | "retry"): void {
    const was = p.paused;
    if (why === "sink") p.sinkPaused = true;
    else p.retryPaused = true;
    if (!was) this.source?.pause(p.partition);
  }

  private release(p: PartitionState, why: "sink" | "retry"): void {
    if (!p.paused) return;
    if (why === "sink") p.sinkPaused = false;
    else p.retryPaused = false;
    if (!p.paused && !this.stopping) this.source?.resume(p.partition);
  }

  /** A failed sink attempt: count it, hold the partition back (no more fetching) until it succeeds. */
  private sinkRetry(p: PartitionState, error: SerializedError, attempt: number): void {
    this.counters.retries++;
    this.deps.metrics.retries.inc({ pipeline: this.id });
    this.lastError = error;
    if (attempt >= 2) this.state = "failing";
    this.hold(p, "sink");
    this.workerLog("warn", `sink write failed, retrying: ${error.message}`, {
      partition: p.partition,
      attempt,
    });
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
    await this.source!.commit(p.partition, offset, metadata);
    p.committed = offset;
    p.lastProgressAt = Date.now();
  }

  private async writeDlq(records: DlqInput[]): Promise<void> {
    await this.dlq!.write(records);
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
      handler_version: this.handlerVersion,
      ...(this.source?.partitionCount() ? { partitions: this.source.partitionCount()! } : {}),
    };
  }

  /** The handler calls in progress (for the supervisor's hard deadline). */
  inflight(): InflightReport[] {
    return this.handler?.inflight() ?? [];
  }

  /** The source's consumer-group member id (for eviction if this cell is killed). */
  memberId(): string | null {
    return this.source?.memberId() ?? null;
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
    this.source?.pause();
    const drain = Promise.allSettled(
      [...this.partitions.values()].map((p) => p.lock(() => this.flush(p)).then(() => this.drained(p))),
    );
    const timer = setTimeout(() => this.abort.abort(), timeoutMs);
    const results = await drain;
    clearTimeout(timer);
    for (const r of results)
      if (r.status === "rejected")
        this.log.warn({ err: r.reason }, "flush on stop failed; the next owner replays");
    await this.teardown();
    this.handler?.dispose();
    this.handler = null;
    await this.sink?.close().catch(() => undefined);
    this.sink = null;
    this.log.info("pipeline stopped");
  }

  private async teardown(): Promise<void> {
    await Promise.allSettled([this.source?.close(), this.dlq?.close()]);
    this.source = null;
    this.dlq = null;
  }
}
