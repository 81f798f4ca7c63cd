/** Produces to the real broker (scripts/services) and reads the messages back. */
import type { OtlpExportTraceServiceRequest } from "@weir/core";
import { kafkaBrokers, uniqueName, waitFor } from "@weir/testing";
import { Kafka, logLevel } from "kafkajs";
import { afterAll, describe, expect, it } from "vitest";
import { PRODUCED_AT_HEADER, produceTraces } from "./index.ts";

const kafka = new Kafka({
  clientId: "weir-generator-test",
  brokers: kafkaBrokers(),
  logLevel: logLevel.WARN,
});
const admin = kafka.admin();
const topics: string[] = [];

describe("produceTraces (real Kafka)", () => {
  afterAll(async () => {
    await admin.connect();
    await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.disconnect();
  });

  it("sends one ExportTraceServiceRequest per message, paced, keyed by trace id, with a produce-time header", async () => {
    const topic = uniqueName("gen_traces");
    topics.push(topic);
    const before = Date.now();
    const stats = await produceTraces({
      brokers: kafkaBrokers(),
      topic,
      messages: 25,
      spansPerMessage: 12,
      ratePerSec: 50,
      seed: 123,
      key: "traceId",
      partitions: 3,
    });
    expect(stats.messages).toBe(25);
    expect(stats.spans).toBe(25 * 12);
    expect(stats.expectedRows).toBeGreaterThan(0);
    expect(stats.expectedRows).toBeLessThanOrEqual(stats.spans);
    expect(stats.producedAt).toHaveLength(25);
    // 25 messages at 50/s cannot finish in much under half a second.
    expect(stats.elapsedMs).toBeGreaterThanOrEqual(400);

    const seen: Array<{ key: string; value: string; producedAt: number }> = [];
    const consumer = kafka.consumer({ groupId: uniqueName("gen_group") });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.push({
          key: message.key?.toString() ?? "",
          value: message.value?.toString() ?? "",
          producedAt: Number(message.headers?.[PRODUCED_AT_HEADER]?.toString()),
        });
      },
    });
    await waitFor(() => seen.length >= 25, { what: "25 generated messages" });
    await consumer.disconnect();

    expect(seen).toHaveLength(25);
    let spans = 0;
    let bytes = 0;
    for (const m of seen) {
      bytes += Buffer.byteLength(m.value);
      const req = JSON.parse(m.value) as OtlpExportTraceServiceRequest;
      const ids = (req.resourceSpans ?? []).flatMap((rs) =>
        (rs.scopeSpans ?? []).flatMap((ss) => (ss.spans ?? []).map((s) => s.traceId)),
      );
      spans += ids.length;
      expect(ids).toContain(m.key);
      expect(m.producedAt).toBeGreaterThanOrEqual(before);
      expect(m.producedAt).toBeLessThanOrEqual(Date.now());
    }
    expect(spans).toBe(stats.spans);
    expect(bytes).toBe(stats.bytes);
  });

  it("sends unkeyed messages by default, like the Collector", async () => {
    const topic = uniqueName("gen_unkeyed");
    topics.push(topic);
    const stats = await produceTraces({
      brokers: kafkaBrokers(),
      topic,
      messages: 3,
      spansPerMessage: 4,
      partitions: 1,
    });
    expect(stats.messages).toBe(3);
    const keys: Array<Buffer | null> = [];
    const consumer = kafka.consumer({ groupId: uniqueName("gen_group") });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void keys.push(message.key) });
    await waitFor(() => keys.length >= 3, { what: "3 messages" });
    await consumer.disconnect();
    expect(keys).toEqual([null, null, null]);
  });
});
