/**
 * Child process, baseline (b): what a competent engineer writes by hand for the same job, without
 * Weir. kafkajs eachBatch with the same fetch settings and partition concurrency, JSON.parse and the
 * same handler as a plain function, rows batched per partition to the same size and age limits and
 * inserted with @clickhouse/client (JSONEachRow), offsets committed after each insert. No sandbox,
 * no DLQ, no retries, no dedup marks.
 */
import { createClient } from "@clickhouse/client";
import { Kafka, logLevel } from "kafkajs";
import { transform } from "../handler.ts";
import { runChild } from "./harness.ts";

interface Buffered {
  rows: Record<string, unknown>[];
  timestamps: number[];
  firstOffset: number;
  lastOffset: number;
  openedAt: number;
}

await runChild(async (opts, rec) => {
  const ch = createClient({ url: opts.clickhouseUrl, clickhouse_settings: {} });
  const kafka = new Kafka({ clientId: "bench-plain", brokers: opts.brokers, logLevel: logLevel.ERROR });
  const consumer = kafka.consumer({
    groupId: opts.groupId,
    maxBytesPerPartition: 8 * 1024 * 1024,
    maxBytes: 32 * 1024 * 1024,
    maxWaitTimeInMs: Math.min(500, Math.max(50, opts.maxBatchWaitMs)),
  });
  const buffers = new Map<number, Buffered>();
  const chains = new Map<number, Promise<void>>();
  const locked = (partition: number, fn: () => Promise<void>) => {
    const run = (chains.get(partition) ?? Promise.resolve()).then(fn);
    chains.set(
      partition,
      run.catch(() => undefined),
    );
    return run;
  };
  const flush = async (partition: number) => {
    const b = buffers.get(partition);
    if (!b) return;
    buffers.delete(partition);
    await ch.insert({ table: opts.table, values: b.rows, format: "JSONEachRow" });
    rec.written(b.lastOffset - b.firstOffset + 1, b.rows.length, b.timestamps, Date.now());
    await consumer.commitOffsets([{ topic: opts.topic, partition, offset: String(b.lastOffset + 1) }]);
  };
  const timer = setInterval(() => {
    for (const [partition, b] of buffers)
      if (Date.now() - b.openedAt >= opts.maxBatchWaitMs)
        void locked(partition, async () => {
          const cur = buffers.get(partition);
          if (cur && Date.now() - cur.openedAt >= opts.maxBatchWaitMs) await flush(partition);
        });
  }, 50);
  await consumer.connect();
  await consumer.subscribe({ topic: opts.topic, fromBeginning: true });
  rec.begin();
  await consumer.run({
    autoCommit: false,
    partitionsConsumedConcurrently: opts.partitionConcurrency,
    eachBatch: ({ batch }) =>
      locked(batch.partition, async () => {
        for (const m of batch.messages) {
          const offset = Number(m.offset);
          let b = buffers.get(batch.partition);
          if (!b) {
            b = { rows: [], timestamps: [], firstOffset: offset, lastOffset: offset, openedAt: Date.now() };
            buffers.set(batch.partition, b);
          }
          const rows = transform(m.value?.toString("utf8") ?? "null");
          for (const r of rows) b.rows.push(r);
          if (rows.length > 0) b.timestamps.push(Number(m.timestamp));
          b.lastOffset = offset;
          if (b.rows.length >= opts.maxBatchRows) await flush(batch.partition);
        }
      }),
  });
  return {
    async stop() {
      clearInterval(timer);
      await consumer.disconnect();
      await ch.close();
    },
  };
});
