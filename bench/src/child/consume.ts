/**
 * Child process: consume-only throughput of a Kafka client on the benchmark topic (no handler, no
 * sink): fetch every message, decode its value to a string, count. kafkajs (what Weir uses) vs
 * @platformatic/kafka (maintained, similar promise/stream API, Node >= 20.19 in its 1.x line).
 */
import { Consumer, MessagesStreamModes } from "@platformatic/kafka";
import { Kafka, logLevel } from "kafkajs";
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
      maxBytes: 32 * 1024 * 1024,
      maxWaitTime: 500,
    });
    stream.on("data", (m: { value: Buffer | undefined; timestamp: bigint }) => {
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
  const kafka = new Kafka({ clientId: "bench-kafkajs", brokers: opts.brokers, logLevel: logLevel.ERROR });
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
