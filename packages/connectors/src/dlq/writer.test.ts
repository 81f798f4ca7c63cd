import { DLQ_HEADER, type SerializedError } from "@weir/core";
import { kafkaBrokers, uniqueName, waitFor } from "@weir/testing";
import { Kafka, type KafkaMessage, logLevel } from "kafkajs";
import { afterAll, describe, expect, it } from "vitest";
import { type DlqInput, dlqReplayMessage, encodeDlqMessage, parseDlqMessage } from "./codec.ts";
import { DlqWriter } from "./writer.ts";

const kafka = new Kafka({ clientId: "weir-dlq-test", brokers: kafkaBrokers(), logLevel: logLevel.NOTHING });
const topics: string[] = [];
afterAll(async () => {
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics }).catch(() => undefined);
  await admin.disconnect();
});

const error: SerializedError = {
  name: "WeirError",
  message: "boom",
  code: "HANDLER_ERROR",
  retryable: false,
  stack: "Error: boom\n    at handler (index.ts:3:9)",
  details: { line: 3 },
};
const invalidUtf8 = Buffer.from([0xff, 0xfe, 0x00, 0x41]);

const inputs: DlqInput[] = [
  {
    pipelineId: "p1",
    stage: "decode",
    error: { ...error, code: "DECODE_ERROR", message: "not JSON" },
    attempts: 1,
    handlerVersion: null,
    source: { topic: "src", partition: 2, offset: "9007199254740993" }, // beyond 2^53: kept as a string
    key: null,
    value: invalidUtf8,
    headers: {},
  },
  {
    pipelineId: "p1",
    stage: "handler",
    error,
    attempts: 1,
    handlerVersion: "v7",
    source: { topic: "src", partition: 0, offset: "41" },
    key: Buffer.from("key-1"),
    value: Buffer.from('{"resourceSpans":[]}'),
    headers: { traceparent: "00-abc-def-01", bin: Buffer.from([0xff, 1, 2]), skipped: undefined },
  },
  {
    pipelineId: "p1",
    stage: "sink",
    error: { ...error, code: "SINK_PERMANENT", message: "Code: 117 unknown field" },
    attempts: 8,
    handlerVersion: "v7",
    source: { topic: "src", partition: 1, offset: "5" },
    key: Buffer.from("k"),
    value: Buffer.from("héllo"),
    headers: { "content-type": "application/json", "weir.stage": "spoofed" },
  },
];

async function readAll(
  topic: string,
  n: number,
): Promise<Array<{ partition: number; message: KafkaMessage }>> {
  const got: Array<{ partition: number; message: KafkaMessage }> = [];
  const consumer = kafka.consumer({ groupId: uniqueName("weir-dlq-reader") });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => void got.push({ partition, message }),
  });
  try {
    await waitFor(() => got.length >= n, { what: `${n} DLQ messages`, timeoutMs: 30_000 });
  } finally {
    await consumer.disconnect();
  }
  return got.sort((a, b) => Number(a.message.offset) - Number(b.message.offset));
}

describe("DlqWriter", () => {
  it("creates the topic and writes records with original bytes and weir.* headers", async () => {
    const topic = uniqueName("weir-dlq");
    topics.push(topic);
    const writer = new DlqWriter(kafka, topic);
    await writer.connect();
    await writer.write([]);
    const before = Date.now();
    await writer.write(inputs);
    await writer.close();
    await writer.close();

    const got = await readAll(topic, inputs.length);
    expect(got).toHaveLength(3);
    const [decode, handler, sink] = got.map((g) => g.message);

    // Original bytes, byte for byte.
    expect(decode?.key).toBeNull();
    expect(decode?.value?.equals(invalidUtf8)).toBe(true);
    expect(handler?.key?.toString()).toBe("key-1");
    expect(handler?.headers?.traceparent?.toString()).toBe("00-abc-def-01");
    expect((handler!.headers!.bin as Buffer).equals(Buffer.from([0xff, 1, 2]))).toBe(true);
    expect(handler?.headers).not.toHaveProperty("skipped");

    // Every metadata header.
    const h = handler?.headers ?? {};
    expect(String(h[DLQ_HEADER.pipelineId])).toBe("p1");
    expect(String(h[DLQ_HEADER.sourceTopic])).toBe("src");
    expect(String(h[DLQ_HEADER.sourcePartition])).toBe("0");
    expect(String(h[DLQ_HEADER.sourceOffset])).toBe("41");
    expect(String(h[DLQ_HEADER.stage])).toBe("handler");
    expect(JSON.parse(String(h[DLQ_HEADER.error]))).toEqual(error);
    expect(String(h[DLQ_HEADER.attempts])).toBe("1");
    expect(String(h[DLQ_HEADER.handlerVersion])).toBe("v7");
    expect(Number(String(h[DLQ_HEADER.failedAt]))).toBeGreaterThanOrEqual(before);
    expect(decode?.headers).not.toHaveProperty(DLQ_HEADER.handlerVersion);
    expect(String(sink?.headers?.[DLQ_HEADER.stage])).toBe("sink"); // the spoofed original lost

    // The reader side.
    const records = got.map((g) => parseDlqMessage(g.message, g.partition));
    expect(records[0]).toMatchObject({
      id: `0-${decode?.offset}`,
      pipeline_id: "p1",
      stage: "decode",
      source: { topic: "src", partition: 2, offset: "9007199254740993" },
      handler_version: null,
      attempts: 1,
      key: null,
      value: invalidUtf8.toString("base64"),
      encoding: "base64",
    });
    expect(records[1]).toMatchObject({
      stage: "handler",
      error,
      handler_version: "v7",
      key: "key-1",
      value: '{"resourceSpans":[]}',
      encoding: "utf8", // a binary header does not change how key and value are shown
      headers: { traceparent: "00-abc-def-01", bin: "base64:/wEC" },
    });
    expect(records[2]).toMatchObject({
      stage: "sink",
      attempts: 8,
      value: "héllo",
      encoding: "utf8",
      headers: { "content-type": "application/json" },
      error: { code: "SINK_PERMANENT", message: "Code: 117 unknown field" },
    });
    expect(records[2]?.failed_at).toBeGreaterThanOrEqual(before);

    // Replay gives back the original message.
    const replay = dlqReplayMessage(handler!);
    expect(replay.topic).toBe("src");
    expect(Object.keys(replay.headers).sort()).toEqual(["bin", "traceparent"]);
    expect(replay.value?.toString()).toBe('{"resourceSpans":[]}');
  });

  it("write connects on demand and fails retryable when the broker is unreachable", async () => {
    const down = new Kafka({
      clientId: "x",
      brokers: ["127.0.0.1:1"],
      logLevel: logLevel.NOTHING,
      connectionTimeout: 300,
      retry: { retries: 0 },
    });
    const writer = new DlqWriter(down, "never");
    await expect(writer.write(inputs)).rejects.toMatchObject({ code: "DLQ_ERROR", retryable: true });
    await writer.close();
  });
});

describe("DLQ codec", () => {
  it("round-trips without a broker and refuses foreign messages", () => {
    const m = encodeDlqMessage(inputs[1]!, 1234);
    const rec = parseDlqMessage({ ...m, offset: "7", timestamp: "1" }, 3);
    expect(rec).toMatchObject({ id: "3-7", failed_at: 1234, stage: "handler", error });
    expect(() =>
      parseDlqMessage({ key: null, value: null, headers: {}, offset: "0", timestamp: "0" }, 0),
    ).toThrow(expect.objectContaining({ code: "DLQ_ERROR" }));
  });

  it("clips huge stacks so a record stays far below Kafka's message limit", () => {
    const m = encodeDlqMessage({ ...inputs[1]!, error: { ...error, stack: "x".repeat(2_000_000) } });
    expect(String(m.headers[DLQ_HEADER.error]).length).toBeLessThan(30_000);
  });
});
