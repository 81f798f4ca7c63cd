/**
 * Proves the broker started by scripts/services is a real Kafka: produce, consume in a group,
 * commit offsets, reconnect and resume from the committed offset (not from the beginning).
 */
import { type Consumer, Kafka, logLevel } from "kafkajs";
import { afterAll, describe, expect, it } from "vitest";
import { kafkaBrokers, uniqueName, waitFor } from "../index.ts";

const kafka = new Kafka({ clientId: "weir-smoke", brokers: kafkaBrokers(), logLevel: logLevel.WARN });
const topic = uniqueName("smoke_kafka");
const groupId = uniqueName("smoke_group");
const admin = kafka.admin();

async function consumeUntil(consumer: Consumer, count: number, commitEach: boolean): Promise<string[]> {
  const seen: string[] = [];
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ message, partition }) => {
      seen.push(message.value?.toString() ?? "");
      if (commitEach) {
        await consumer.commitOffsets([
          { topic, partition, offset: (BigInt(message.offset) + 1n).toString() },
        ]);
      }
    },
  });
  await waitFor(() => seen.length >= count, { what: `${count} messages on ${topic}` });
  return seen;
}

describe("kafka broker (real, KRaft)", () => {
  afterAll(async () => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it("produces, consumes in a group, commits and re-reads from the committed offset after reconnect", async () => {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: [1, 2, 3, 4, 5].map((n) => ({ key: `k${n}`, value: `m${n}` })) });

    // First member reads the first three and commits after each.
    const first = kafka.consumer({ groupId });
    await first.connect();
    const seen = await consumeUntil(first, 5, false);
    expect(seen).toEqual(["m1", "m2", "m3", "m4", "m5"]);
    await first.commitOffsets([{ topic, partition: 0, offset: "3" }]);
    await first.disconnect();

    const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
    expect(offsets[0]?.partitions[0]?.offset).toBe("3");

    // A new member of the same group resumes at offset 3: m4, m5, then a freshly produced m6.
    await producer.send({ topic, messages: [{ key: "k6", value: "m6" }] });
    const second = kafka.consumer({ groupId });
    await second.connect();
    const resumed = await consumeUntil(second, 3, true);
    expect(resumed).toEqual(["m4", "m5", "m6"]);
    await second.disconnect();
    await producer.disconnect();

    const after = await admin.fetchOffsets({ groupId, topics: [topic] });
    expect(after[0]?.partitions[0]?.offset).toBe("6");
  });
});
