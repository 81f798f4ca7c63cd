/**
 * The dead-letter producer with each codec of `dead_letter.compression`: records (small ones and a
 * 200 KiB one, past every codec's block size) reach the real broker (which decodes compressed
 * batches itself to validate them, with the Java codecs) and parse back byte for byte; a spy on
 * the consumer's codecs shows the batches were compressed with the codec asked for.
 */
import { randomBytes } from "node:crypto";
import type { SerializedError } from "@weir/core";
import { kafkaBrokers, uniqueName, waitFor } from "@weir/testing";
import { afterAll, describe, expect, it } from "vitest";
import { createKafka, type KafkaCompression } from "../kafka/index.ts";
import { spyOnDecompression } from "../testing/codec-spy.ts";
import { type DlqInput, parseDlqMessage } from "./codec.ts";
import { DlqWriter } from "./writer.ts";

const kafka = createKafka({ clientId: "weir-dlq-codec-test", brokers: kafkaBrokers() });
const topics: string[] = [];
afterAll(async () => {
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics }).catch(() => undefined);
  await admin.disconnect();
});

const error: SerializedError = { name: "Error", message: "boom", code: "HANDLER_ERROR", retryable: false };

function inputs(codec: string): DlqInput[] {
  return Array.from({ length: 50 }, (_, i) => ({
    pipelineId: "p-codec",
    stage: "handler" as const,
    error,
    attempts: 1,
    handlerVersion: "v1",
    source: { topic: "src", partition: 0, offset: String(i) },
    key: i % 2 ? Buffer.from(`k${i}`) : null,
    value:
      i === 25
        ? Buffer.from(randomBytes(100 * 1024).toString("hex"))
        : Buffer.from(JSON.stringify({ codec, i, v: "x".repeat(i * 10) })),
    headers: { trace: `t-${i}` },
  }));
}

describe("DLQ writer compression", () => {
  it.each(["snappy", "lz4", "zstd", "gzip", "none"] as const)(
    "%s: records round-trip intact",
    async (compression: KafkaCompression) => {
      const topic = uniqueName(`dlq_${compression}`);
      topics.push(topic);
      const writer = new DlqWriter(kafka, topic, { compression });
      const sent = inputs(compression);
      await writer.write(sent);
      await writer.close();

      const spy = spyOnDecompression();
      const got = new Map<string, ReturnType<typeof parseDlqMessage>>();
      const consumer = kafka.consumer({ groupId: uniqueName("dlq_codec_g"), maxBytesPerPartition: 8 << 20 });
      try {
        await consumer.connect();
        await consumer.subscribe({ topic, fromBeginning: true });
        await consumer.run({
          eachMessage: async ({ message, partition }) => {
            const record = parseDlqMessage(message, partition);
            got.set(record.source.offset, record);
          },
        });
        await waitFor(() => got.size >= sent.length, { what: `${sent.length} DLQ records` });
      } finally {
        await consumer.disconnect();
        spy.restore();
      }
      for (const input of sent) {
        const record = got.get(input.source.offset);
        expect(record?.value).toBe(input.value?.toString("utf8"));
        expect(record?.key).toBe(input.key ? input.key.toString("utf8") : null);
        expect(record?.headers).toMatchObject({ trace: input.headers.trace });
      }
      const used = Object.entries(spy.decompressed)
        .filter(([, n]) => n > 0)
        .map(([c]) => c);
      expect(used).toEqual(compression === "none" ? [] : [compression]);
    },
    60_000,
  );
});
