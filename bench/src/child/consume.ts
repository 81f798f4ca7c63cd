/**
 * Child process: consume-only throughput of a Kafka client on a benchmark topic (no handler, no
 * sink): fetch every message, decode its value to a string, count. kafkajs 2.2.4 (what Weir uses,
 * with the snappy/lz4/zstd codecs Weir's Kafka module registers) vs @platformatic/kafka 2.x (its own
 * snappy/lz4 in wasm, zstd/gzip on node:zlib). Both read with the same fetch limits.
 */
import { Consumer, MessagesStreamModes } from "@platformatic/kafka";
// Weir's Kafka module: kafkajs' own class, with snappy, lz4 and zstd registered by the import.
import { Kafka, KafkaLogLevel } from "@weir/connectors";
import { runChild } from "./harness.ts";

await runChild(async (opts, rec) => {
  if (opts.client === "platformatic") {
    const consumer = new Consumer({
      groupId: opts.groupId,
      clientId: "bench-platformatic",
      bootstrapBrokers: opts.brokers,
    });
    rec.begin();
    const stream = await consumer.consume({
      topics: [opts.topic],
      mode: MessagesStreamModes.EARLIEST,
      autocommit: false,
      maxBytesPerPartition: 8 * 1024 * 1024,
      maxBytes: 32 * 1024 * 1024,
      maxWaitTime: 500,
    });
    stream.on("data", (m) => {
      const text = m.value ? m.value.toString("utf8") : "";
      rec.bytes += text.length;
      rec.written(1, 0, [], Date.now());
    });
    return {
      async stop() {
        await stream.close();
        await consumer.close(true);
      },
    };
  }
  const kafka = new Kafka({
    clientId: "bench-kafkajs",
    brokers: opts.brokers,
    logLevel: KafkaLogLevel.ERROR,
  });
  const consumer = kafka.consumer({
    groupId: opts.groupId,
    maxBytesPerPartition: 8 * 1024 * 1024,
    maxBytes: 32 * 1024 * 1024,
    maxWaitTimeInMs: 500,
  });
  await consumer.connect();
  await consumer.subscribe({ topic: opts.topic, fromBeginning: true });
  rec.begin();
  await consumer.run({
    autoCommit: false,
    partitionsConsumedConcurrently: opts.partitionConcurrency,
    eachBatch: async ({ batch }) => {
      let bytes = 0;
      for (const m of batch.messages) bytes += m.value ? m.value.toString("utf8").length : 0;
      rec.bytes += bytes;
      rec.written(batch.messages.length, 0, [], Date.now());
    },
  });
  return {
    async stop() {
      await consumer.disconnect();
    },
  };
});
