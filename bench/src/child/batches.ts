/**
 * The hand-written consumer's (baseline b) row batches, shared by its kafkajs and @platformatic/kafka
 * variants so the two differ only in the Kafka client: rows buffered per partition up to
 * `maxBatchRows` or `maxBatchWaitMs`, inserted with @clickhouse/client (JSONEachRow, row objects),
 * then the partition's offset committed. Work on one partition runs in order on a promise chain.
 */
import { type ClickHouseClient, createClient } from "@clickhouse/client";
import type { ChildOptions, Recorder } from "./harness.ts";

/** One partition's open batch. `commit` is whatever the client needs to commit past `lastOffset`. */
export interface Batch {
  partition: number;
  rows: Record<string, unknown>[];
  /** Record timestamps (ms) of the messages that produced rows, for the latency figures. */
  timestamps: number[];
  firstOffset: number;
  lastOffset: number;
  openedAt: number;
  commit?: () => Promise<unknown>;
}

export class PartitionBatches {
  readonly ch: ClickHouseClient;
  private readonly open = new Map<number, Batch>();
  private readonly chains = new Map<number, Promise<void>>();
  private readonly opts: ChildOptions;
  private readonly rec: Recorder;

  constructor(opts: ChildOptions, rec: Recorder) {
    this.opts = opts;
    this.rec = rec;
    this.ch = createClient({ url: opts.clickhouseUrl, clickhouse_settings: {} });
  }

  /** Run `fn` after everything queued before on `partition`. */
  locked(partition: number, fn: () => Promise<void>): Promise<void> {
    const run = (this.chains.get(partition) ?? Promise.resolve()).then(fn);
    this.chains.set(
      partition,
      run.catch(() => undefined),
    );
    return run;
  }

  /** Append one message's rows to its partition's batch; true when the batch is full. */
  add(
    partition: number,
    offset: number,
    rows: Record<string, unknown>[],
    timestamp: number,
    commit?: () => Promise<unknown>,
  ): boolean {
    let b = this.open.get(partition);
    if (!b) {
      b = {
        partition,
        rows: [],
        timestamps: [],
        firstOffset: offset,
        lastOffset: offset,
        openedAt: Date.now(),
      };
      this.open.set(partition, b);
    }
    for (const r of rows) b.rows.push(r);
    if (rows.length > 0) b.timestamps.push(timestamp);
    b.lastOffset = offset;
    b.commit = commit;
    return b.rows.length >= this.opts.maxBatchRows;
  }

  /** Detach the partition's open batch (undefined if none). */
  take(partition: number): Batch | undefined {
    const b = this.open.get(partition);
    this.open.delete(partition);
    return b;
  }

  /** Partitions whose open batch is older than `maxBatchWaitMs`. */
  stale(): number[] {
    const now = Date.now();
    const out: number[] = [];
    for (const [p, b] of this.open) if (now - b.openedAt >= this.opts.maxBatchWaitMs) out.push(p);
    return out;
  }

  /** Insert a batch, record it, then commit its partition with `commit` (or the batch's own). */
  async write(b: Batch, commit: (b: Batch) => Promise<unknown>): Promise<void> {
    await this.ch.insert({ table: this.opts.table, values: b.rows, format: "JSONEachRow" });
    this.rec.written(b.lastOffset - b.firstOffset + 1, b.rows.length, b.timestamps, Date.now());
    await commit(b);
  }

  close(): Promise<void> {
    return this.ch.close();
  }
}
