/**
 * Child process, baseline (b) on @platformatic/kafka: the hand-written consumer of `plain.ts` with
 * only the Kafka client swapped. The client's message stream (Buffer values, its own snappy/lz4 in
 * wasm and zstd/gzip on node:zlib) feeds the same handler and the same per-partition batches; a full
 * or stale batch is detached at once and inserted on its partition's chain, then committed with the
 * last message's `commit()`. At most `partitionConcurrency` inserts are in flight (the stream pauses
 * beyond that), which bounds the work in progress the way kafkajs' concurrent eachBatch calls do.
 */
import { Consumer, MessagesStreamModes } from "@platformatic/kafka";
import { transform } from "../handler.ts";
import { type Batch, PartitionBatches } from "./batches.ts";
import { runChild } from "./harness.ts";

await runChild(async (opts, rec) => {
  const batches = new PartitionBatches(opts, rec);
  const consumer = new Consumer({
    groupId: opts.groupId,
    clientId: "bench-plain-platformatic",
    bootstrapBrokers: opts.brokers,
  });
  const commit = (b: Batch) => b.commit?.() ?? Promise.resolve();
  let inFlight = 0;
  let failed: unknown;
  // Like the kafkajs children, the window starts before the group join and the first fetch.
  rec.begin();
  const stream = await consumer.consume({
    topics: [opts.topic],
    mode: MessagesStreamModes.EARLIEST,
    autocommit: false,
    maxBytesPerPartition: 8 * 1024 * 1024,
    maxBytes: 32 * 1024 * 1024,
    maxWaitTime: Math.min(500, Math.max(50, opts.maxBatchWaitMs)),
  });
  // Takes happen synchronously and writes queue on the partition's chain in take order, so a
  // partition's commits never go backwards.
  const flush = (partition: number) => {
    const b = batches.take(partition);
    if (!b) return;
    inFlight++;
    if (inFlight >= opts.partitionConcurrency) stream.pause();
    void batches
      .locked(partition, () => batches.write(b, commit))
      .catch((err: unknown) => {
        failed ??= err;
        rec.complete();
      })
      .finally(() => {
        inFlight--;
        if (inFlight < opts.partitionConcurrency && stream.isPaused()) stream.resume();
      });
  };
  const timer = setInterval(() => {
    for (const partition of batches.stale()) flush(partition);
  }, 50);
  stream.on("data", (m) => {
    const rows = transform(m.value ? m.value.toString("utf8") : "null");
    const commitMessage = () => m.commit() ?? Promise.resolve();
    if (batches.add(m.partition, Number(m.offset), rows, Number(m.timestamp), commitMessage))
      flush(m.partition);
  });
  stream.on("error", (err) => {
    failed ??= err;
    rec.complete();
  });
  return {
    async stop() {
      clearInterval(timer);
      await stream.close();
      await consumer.close(true);
      await batches.close();
      if (failed) throw failed;
    },
  };
});
