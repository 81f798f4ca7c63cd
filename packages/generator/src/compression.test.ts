/**
 * `compression` / `--compression`: the generator produces with every codec a Kafka producer can use
 * (the Collector's example config uses snappy), and what it sent reads back byte for byte through
 * Weir's Kafka module, compressed with the codec asked for. Real broker.
 */
import { execFile } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createKafka, type KafkaCompression } from "@weir/connectors";
import { spyOnDecompression } from "@weir/connectors/testing";
import { kafkaBrokers, uniqueName, waitFor } from "@weir/testing";
import { afterAll, describe, expect, it } from "vitest";
import { produceTraces } from "./produce.ts";

const kafka = createKafka({ clientId: "weir-generator-codec-test", brokers: kafkaBrokers() });
const topics: string[] = [];
afterAll(async () => {
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics }).catch(() => undefined);
  await admin.disconnect();
});

/** Values on `topic` and which codecs the consumer had to decode. */
async function readBack(topic: string, expected: number): Promise<{ values: Buffer[]; codecs: string[] }> {
  const spy = spyOnDecompression();
  const values: Buffer[] = [];
  const consumer = kafka.consumer({ groupId: uniqueName("gen_codec_g"), maxBytesPerPartition: 8 << 20 });
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => void values.push(message.value ?? Buffer.alloc(0)),
    });
    await waitFor(() => values.length >= expected, { what: `${expected} messages` });
  } finally {
    await consumer.disconnect();
    spy.restore();
  }
  const codecs = Object.entries(spy.decompressed)
    .filter(([, n]) => n > 0)
    .map(([c]) => c);
  return { values, codecs };
}

describe("generator compression", () => {
  it.each(["snappy", "lz4", "zstd", "gzip", "none"] as const)(
    "%s: produced traces read back intact",
    async (compression: KafkaCompression) => {
      const topic = uniqueName(`gen_${compression}`);
      topics.push(topic);
      const stats = await produceTraces({
        brokers: kafkaBrokers(),
        topic,
        messages: 40,
        spansPerMessage: 60, // ~40 KiB per message: batches of 100 messages cross every block size
        partitions: 1,
        compression,
      });
      const { values, codecs } = await readBack(topic, stats.messages);
      expect(values).toHaveLength(40);
      expect(values.reduce((n, v) => n + v.length, 0)).toBe(stats.bytes);
      for (const v of values) expect(JSON.parse(v.toString())).toHaveProperty("resourceSpans");
      expect(codecs).toEqual(compression === "none" ? [] : [compression]);
    },
    60_000,
  );

  it("--compression on the CLI picks the codec and rejects an unknown one", async () => {
    const topic = uniqueName("gen_cli_zstd");
    topics.push(topic);
    const cli = resolve(dirname(fileURLToPath(import.meta.url)), "cli.ts");
    const run = (args: string[]) =>
      promisify(execFile)(process.execPath, [cli, ...args], {
        cwd: resolve(dirname(cli), ".."),
        timeout: 60_000,
      });
    const brokers = kafkaBrokers().join(",");
    const { stdout } = await run([
      "--brokers",
      brokers,
      "--topic",
      topic,
      "--messages",
      "5",
      "--partitions",
      "1",
      "--compression",
      "zstd",
    ]);
    expect(JSON.parse(stdout.trim())).toMatchObject({ topic, messages: 5 });
    expect((await readBack(topic, 5)).codecs).toEqual(["zstd"]);
    await expect(
      run(["--brokers", brokers, "--topic", topic, "--messages", "1", "--compression", "brotli"]),
    ).rejects.toThrow(/brotli.*(Allowed choices|invalid)/is);
  }, 90_000);
});
