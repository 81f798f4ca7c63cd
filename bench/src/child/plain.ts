/**
 * Child process, baseline (b): what a competent engineer writes by hand for the same job, without
 * Weir. kafkajs eachBatch with the same fetch settings and partition concurrency, JSON.parse (or
 * @weir/otlp's decodeTraces for an otlp_proto topic) and the same handler as a plain function,
 * rows batched per partition to the same size and age limits and inserted with
 * @clickhouse/client (JSONEachRow), offsets committed after each insert. No sandbox,
 * no DLQ, no retries, no dedup marks. kafkajs gets the codecs Weir registers (snappy, lz4, zstd);
 * `plain-platformatic.ts` is the same consumer on @platformatic/kafka.
 */
// Weir's Kafka module: kafkajs' own class, with snappy, lz4 and zstd registered by the import.
import { Kafka, KafkaLogLevel } from "@weir/connectors";
import { transform } from "../handler.ts";
import { PartitionBatches } from "./batches.ts";
import { runChild } from "./harness.ts";

await runChild(async (opts, rec) => {
  const batches = new PartitionBatches(opts, rec);
  // otlp_proto: the value's bytes through decodeTraces (host side, the decoder the sandbox runs).
  const proto = opts.format === "otlp_proto";
  const kafka = new Kafka({ clientId: "bench-plain", brokers: opts.brokers, logLevel: KafkaLogLevel.ERROR });
  const consumer = kafka.consumer({
    groupId: opts.groupId,
    maxBytesPerPartition: 2 * 1024 * 1024, // the worker's (apps/worker/src/pipeline/kafka-source.ts)
    maxBytes: 8 * 1024 * 1024,
    maxWaitTimeInMs: Math.min(500, Math.max(50, opts.maxBatchWaitMs)),
  });
  const commit = (b: { partition: number; lastOffset: number }) =>
    consumer.commitOffsets([{ topic: opts.topic, partition: b.partition, offset: String(b.lastOffset + 1) }]);
  // The batch is taken inside the partition's lock, so a timed flush never overtakes eachBatch's.
  const flush = async (partition: number) => {
    const b = batches.take(partition);
    if (b) await batches.write(b, commit);
  };
  const timer = setInterval(() => {
    for (const partition of batches.stale())
      void batches.locked(partition, async () => {
        if (batches.stale().includes(partition)) await flush(partition);
      });
  }, 50);
  await consumer.connect();
  await consumer.subscribe({ topic: opts.topic, fromBeginning: true });
  rec.begin();
  await consumer.run({
    autoCommit: false,
    partitionsConsumedConcurrently: opts.partitionConcurrency,
    eachBatch: ({ batch }) =>
      batches.locked(batch.partition, async () => {
        for (const m of batch.messages) {
          const rows = transform(
            proto ? (m.value ?? new Uint8Array()) : (m.value?.toString("utf8") ?? "null"),
          );
          if (batches.add(batch.partition, Number(m.offset), rows, Number(m.timestamp)))
            await flush(batch.partition);
        }
      }),
  });
  return {
    async stop() {
      clearInterval(timer);
      await consumer.disconnect();
      await batches.close();
    },
  };
});
