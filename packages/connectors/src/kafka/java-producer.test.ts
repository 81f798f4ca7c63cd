/**
 * Records compressed by a producer Weir did not write (Kafka's own Java console producer, the
 * client Java and Kafka Connect pipelines use) decode through Weir's Kafka module, for every codec.
 * Real broker; one topic per codec. A control run in a child process with bare kafkajs shows the
 * batches really are compressed (it fails on them), so the pass is the codecs' doing.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { kafkaBrokers, uniqueName } from "@weir/testing";
import { afterAll, describe, expect, it } from "vitest";
import { type JavaCodec, javaProduce } from "../testing/java-producer.ts";
import { createKafka, type Kafka } from "./index.ts";

const kafka: Kafka = createKafka({ clientId: "weir-codec-test", brokers: kafkaBrokers() });
const admin = kafka.admin();
const topics: string[] = [];

afterAll(async () => {
  await admin.deleteTopics({ topics }).catch(() => undefined);
  await admin.disconnect();
});

/** 400 small JSON records, one of 100 KiB (past LZ4's 64 KiB block and snappy's 32 KiB chunk), 20 more. */
function knownValues(codec: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < 400; i++)
    values.push(JSON.stringify({ codec, i, span: `s-${i % 13}`, ok: i % 3 === 0 }));
  values.push(JSON.stringify({ codec, i: 400, blob: randomBytes(50 * 1024).toString("hex") }));
  for (let i = 401; i < 421; i++) values.push(JSON.stringify({ codec, i, unicode: "héllo wörld ✓" }));
  return values;
}

async function javaTopic(codec: JavaCodec, values: string[]): Promise<string> {
  const topic = uniqueName(`codec_${codec}`);
  topics.push(topic);
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  await javaProduce({ brokers: kafkaBrokers(), topic, codec, values });
  return topic;
}

/** Every value on `topic` through a consumer of Weir's module, in offset order. */
async function consumeAll(topic: string, expected: number): Promise<string[]> {
  const consumer = kafka.consumer({ groupId: uniqueName("codec_g"), maxBytesPerPartition: 8 * 1024 * 1024 });
  const seen: string[] = [];
  let failure: unknown;
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    const done = new Promise<void>((resolveDone, reject) => {
      consumer.on(consumer.events.CRASH, (e) => reject(e.payload.error));
      void consumer.run({
        eachMessage: async ({ message }) => {
          seen.push(message.value?.toString("utf8") ?? "<null>");
          if (seen.length >= expected) resolveDone();
        },
      });
    });
    const timeout = new Promise<void>((_, reject) =>
      setTimeout(() => reject(new Error(`got ${seen.length}/${expected} messages in 30 s`)), 30_000).unref(),
    );
    await Promise.race([done, timeout]).catch((err: unknown) => {
      failure = err;
    });
  } finally {
    await consumer.disconnect();
  }
  if (failure) throw failure;
  return seen;
}

describe("records from Kafka's Java producer", () => {
  it.each(["snappy", "lz4", "zstd", "gzip", "none"] as const)(
    "%s: Weir's consumer reads exactly the values the Java producer wrote",
    async (codec) => {
      const values = knownValues(codec);
      const topic = await javaTopic(codec, values);
      expect(await consumeAll(topic, values.length)).toEqual(values);
    },
    90_000,
  );

  it("bare kafkajs (no Weir codecs) fails on the same snappy, lz4 and zstd topics", async () => {
    const byCodec: Record<string, string> = {};
    for (const codec of ["snappy", "lz4", "zstd"] as const)
      byCodec[codec] = await javaTopic(codec, knownValues(codec).slice(0, 5));
    const script = `
      import { Kafka, logLevel } from "kafkajs";
      const kafka = new Kafka({ brokers: ${JSON.stringify(kafkaBrokers())}, logLevel: logLevel.NOTHING });
      const out = {};
      for (const [codec, topic] of Object.entries(${JSON.stringify(byCodec)})) {
        const c = kafka.consumer({ groupId: topic + "_bare", retry: { retries: 0 } });
        await c.connect();
        await c.subscribe({ topic, fromBeginning: true });
        out[codec] = await new Promise((res) => {
          c.on(c.events.CRASH, (e) => res(e.payload.error.message));
          c.run({ eachMessage: async () => res("decoded") });
          setTimeout(() => res("timeout"), 20000);
        });
        await c.disconnect().catch(() => {});
      }
      console.log(JSON.stringify(out));
      process.exit(0);
    `;
    const cwd = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
    const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], {
      cwd,
      timeout: 80_000,
    });
    const out = JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as Record<string, string>;
    expect(out.snappy).toMatch(/Snappy compression not implemented/);
    expect(out.lz4).toMatch(/LZ4 compression not implemented/);
    expect(out.zstd).toMatch(/ZSTD compression not implemented/);
  }, 120_000);
});
