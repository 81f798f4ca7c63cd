/** DLQ routes against the real broker: records are produced in core's DLQ format by the test. */
import { DLQ_HEADER } from "@weir/core";
import { kafkaBrokers, uniqueName, waitFor } from "@weir/testing";
import { Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, seedSpec, startApi } from "./test-helpers.ts";

let h: Harness;
const kafka = new Kafka({ clientId: "weir-api-test", brokers: kafkaBrokers(), logLevel: logLevel.NOTHING });
const admin = kafka.admin();
const source = uniqueName("dlq_src");
const dlq = `${source}.dlq`;

beforeAll(async () => {
  h = await startApi();
  await admin.connect();
  await admin.createTopics({
    topics: [
      { topic: source, numPartitions: 1 },
      { topic: dlq, numPartitions: 2 },
    ],
    waitForLeaders: true,
  });
});
afterAll(async () => {
  await h.close();
  await admin.deleteTopics({ topics: [source, dlq] }).catch(() => {});
  await admin.disconnect();
});

function dlqMessage(pipelineId: string, i: number, partition: number) {
  return {
    partition,
    key: `k${i}`,
    value: JSON.stringify({ n: i }),
    headers: {
      traceparent: `tp-${i}`,
      [DLQ_HEADER.pipelineId]: pipelineId,
      [DLQ_HEADER.sourceTopic]: source,
      [DLQ_HEADER.sourcePartition]: "0",
      [DLQ_HEADER.sourceOffset]: String(1000 + i),
      [DLQ_HEADER.stage]: "handler",
      [DLQ_HEADER.error]: JSON.stringify({
        name: "Error",
        message: `boom ${i}`,
        code: "HANDLER_ERROR",
        retryable: false,
      }),
      [DLQ_HEADER.attempts]: "1",
      [DLQ_HEADER.handlerVersion]: "3",
      [DLQ_HEADER.failedAt]: String(Date.now()),
    },
  };
}

describe("dlq", () => {
  it("lists, shows, replays and purges a pipeline's dead-letter records", async () => {
    const spec = seedSpec("dlq-pipeline");
    spec.source.config.topic = source;
    const p = await h.admin.createPipeline(spec);
    const other = await h.admin.createPipeline({
      ...seedSpec("dlq-other"),
      dead_letter: { type: "kafka", topic: dlq },
    });
    expect(p.spec.dead_letter.topic).toBe(dlq);

    // Nothing failed yet: an empty list, and the topic is not auto-created by reading.
    const emptySpec = seedSpec("dlq-empty");
    emptySpec.source.config.topic = uniqueName("never");
    const empty = await h.admin.createPipeline(emptySpec);
    expect(await h.admin.listDlq(empty.id)).toMatchObject({ items: [], truncated: false });

    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: dlq,
      messages: [
        dlqMessage(p.id, 0, 0),
        dlqMessage(other.id, 1, 0),
        dlqMessage(p.id, 2, 1),
        dlqMessage(p.id, 3, 0),
      ],
    });
    await producer.disconnect();

    const page = await h.admin.listDlq(p.id);
    expect(page.topic).toBe(dlq);
    expect(page.items.map((r) => r.key)).toEqual(["k0", "k3", "k2"]);
    const first = page.items[0]!;
    expect(first).toMatchObject({
      id: "0-0",
      pipeline_id: p.id,
      source: { topic: source, partition: 0, offset: "1000" },
      stage: "handler",
      error: { message: "boom 0", code: "HANDLER_ERROR" },
      attempts: 1,
      handler_version: "3",
      value: '{"n":0}',
      encoding: "utf8",
    });
    expect((await h.admin.listDlq(p.id, { limit: 2 })).truncated).toBe(true);
    expect(await h.admin.getDlqRecord(p.id, "1-0")).toMatchObject({ key: "k2" });
    await expect(h.admin.getDlqRecord(p.id, "0-1")).rejects.toMatchObject({ code: "NOT_FOUND" }); // other pipeline's
    await expect(h.admin.getDlqRecord(p.id, "0-99")).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(h.admin.replayDlq(p.id, ["0-1"])).rejects.toMatchObject({ code: "NOT_FOUND" });

    // Replay selected, then all: key, value and original headers (no weir.*) land on the source topic.
    expect(await h.admin.replayDlq(p.id, ["0-0", "1-0"])).toEqual({ replayed: 2, topic: source });
    expect(await h.admin.replayDlq(p.id, "all")).toEqual({ replayed: 3, topic: source });
    const consumer = kafka.consumer({ groupId: uniqueName("dlq-check") });
    const seen: { key: string; value: string; headers: string[] }[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic: source, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.push({
          key: String(message.key),
          value: String(message.value),
          headers: Object.keys(message.headers ?? {}),
        });
      },
    });
    await waitFor(() => seen.length >= 5, { timeoutMs: 20_000, what: "replayed records" });
    await consumer.disconnect();
    expect(seen.map((s) => s.key)).toEqual(["k0", "k2", "k0", "k3", "k2"]);
    expect(seen[0]).toEqual({ key: "k0", value: '{"n":0}', headers: ["traceparent"] });

    // Purge hides this pipeline's records only.
    expect(await h.admin.purgeDlq(p.id)).toEqual({ purged: 3, topic: dlq });
    expect((await h.admin.listDlq(p.id)).items).toEqual([]);
    await expect(h.admin.getDlqRecord(p.id, "0-0")).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect((await h.admin.listDlq(other.id)).items.map((r) => r.key)).toEqual(["k1"]);
    const topics = await admin.listTopics();
    expect(topics).not.toContain(emptySpec.source.config.topic);
    expect(topics).not.toContain(`${emptySpec.source.config.topic}.dlq`);
  });

  it("answers 502 with DLQ_ERROR when the broker is unreachable", async () => {
    const spec = seedSpec("dlq-down");
    spec.source.config.bootstrap_servers = "127.0.0.1:1";
    const p = await h.admin.createPipeline(spec);
    await expect(h.admin.listDlq(p.id)).rejects.toMatchObject({
      code: "DLQ_ERROR",
      details: { status: 502 },
    });
  });
});
