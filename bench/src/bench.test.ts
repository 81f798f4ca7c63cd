import { createClient } from "@clickhouse/client";
import { createKafka, type KafkaCompression } from "@weir/connectors";
import { spyOnDecompression } from "@weir/connectors/testing";
import { afterAll, describe, expect, it } from "vitest";
import type { ChildOptions } from "./child/harness.ts";
import { clientLines, compareClients, runClientMatrix } from "./clients.ts";
import { computeFloor } from "./compute.ts";
import { benchMessage } from "./data.ts";
import { transformToNdjson } from "./handler.ts";
import { createTopic, deleteTopic, type LoadStats, loadTopic } from "./load.ts";
import { percentile, summarize, sustainedRate } from "./stats.ts";
import { countRows, createTable, dropTable } from "./tables.ts";

const spec = { seed: 7, spansPerMessage: 20, baseTimeUnixNano: "1767225600000000000" };

describe("bench pieces", () => {
  it("rebuilds byte-identical messages from (spec, index)", () => {
    const a = benchMessage(spec, 3);
    expect(benchMessage(spec, 3)).toEqual(a);
    expect(benchMessage(spec, 4).value).not.toBe(a.value);
    expect(a.spans).toBe(20);
  });

  it("the plain transform writes the rows the generator expects, as legacy-table NDJSON", () => {
    const m = benchMessage(spec, 0);
    const out = transformToNdjson(m.value);
    expect(out.rows).toBe(m.expectedRows);
    const row = JSON.parse(out.text.split("\n")[0]!) as Record<string, unknown>;
    expect(Object.keys(row)).toContain("attributes_keys");
    expect(row.timestamp).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  });

  it("computes the compute floor over a tiny N", () => {
    const r = computeFloor(spec, 5, 2);
    expect(r.messages).toBe(5);
    expect(r.rows).toBeGreaterThan(0);
    expect(r.cpuSeconds).toBeGreaterThan(0);
    expect(r.parseCpuSeconds).toBeGreaterThan(0);
    expect(r.stringifyCpuSeconds).toBeGreaterThan(0);
  });

  it("percentiles are nearest-rank over every message", () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(xs, 50)).toBe(50);
    expect(percentile(xs, 99)).toBe(99);
    expect(summarize(xs.reverse())).toMatchObject({ messages: 100, p50: 50, p95: 95, p99: 99, max: 100 });
  });

  it("the sustained rate ignores the start-up before the 10% mark", () => {
    // 10 s of join with nothing written, then 1000 rows/s.
    const log: [number, number][] = [];
    for (let s = 0; s <= 10; s++) log.push([10_000 + s * 1000, s * 1000]);
    expect(sustainedRate(log)).toBe(1000);
  });
});

const brokers = (process.env.KAFKA_BROKERS ?? "127.0.0.1:9092").split(",");
const clickhouseUrl = process.env.CLICKHOUSE_URL ?? "http://127.0.0.1:8123";

/** Which codecs a kafkajs consumer had to decode to read `messages` messages of `topic`. */
async function codecsOn(topic: string, messages: number): Promise<string[]> {
  const kafka = createKafka({ clientId: "bench-test", brokers });
  const spy = spyOnDecompression();
  const consumer = kafka.consumer({ groupId: `bench-test-${Date.now()}-${Math.random()}` });
  let seen = 0;
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        seen += batch.messages.length;
      },
    });
    const deadline = Date.now() + 30_000;
    while (seen < messages && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  } finally {
    await consumer.disconnect();
    spy.restore();
  }
  expect(seen).toBe(messages);
  return Object.entries(spy.decompressed)
    .filter(([, n]) => n > 0)
    .map(([c]) => c);
}

describe("kafkajs vs @platformatic/kafka on compressed topics (real Kafka and ClickHouse, tiny N)", () => {
  const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const kafka = createKafka({ clientId: "bench-test", brokers });
  const ch = createClient({ url: clickhouseUrl });
  const topics: string[] = [];
  const tables: string[] = [];
  afterAll(async () => {
    for (const t of tables) await dropTable(ch, t).catch(() => undefined);
    for (const t of topics) await deleteTopic(kafka, t);
    await ch.close();
  });

  it("loads each codec's topic compressed with it, and both clients read every message and write every row", async () => {
    const messages = 6;
    const loaded: { codec: KafkaCompression; topic: string; stats: LoadStats }[] = [];
    for (const codec of ["snappy", "zstd"] as const) {
      const topic = `bench-test-${codec}-${run}`;
      await createTopic(kafka, topic, 2);
      topics.push(topic);
      loaded.push({
        codec,
        topic,
        stats: await loadTopic(kafka, topic, 2, spec, messages, undefined, codec),
      });
      expect(await codecsOn(topic, messages)).toEqual([codec]);
    }
    const expectedRows = loaded[0]!.stats.expectedRows;
    const expectedBytes = loaded[0]!.stats.bytes;
    const childOptions = (
      topic: string,
      table: string,
      expected: number,
      extra: Partial<ChildOptions> = {},
    ) => ({
      brokers,
      clickhouseUrl,
      topic,
      groupId: `bench-test-${run}-${Math.random().toString(36).slice(2, 8)}`,
      table,
      expectedMessages: expected,
      maxBatchRows: 50,
      maxBatchWaitMs: 100,
      partitionConcurrency: 2,
      sandboxChunk: 10,
      isolates: 1,
      nodeFlags: [],
      ...extra,
    });
    const m = await runClientMatrix({
      topics: loaded.map((l) => ({ codec: l.codec, topic: l.topic, messages })),
      childOptions,
      async freshTable(kind) {
        const name = `bench_test_${kind}_${run}`;
        await createTable(ch, name);
        tables.push(name);
        return name;
      },
      countRows: (table) => countRows(ch, table),
      version: (c) => c,
      cores: 2,
      hz: 100,
      endToEnd: true,
      say: () => undefined,
    });

    expect(m.consume.map((c) => `${c.codec}/${c.client}`).sort()).toEqual([
      "snappy/@platformatic/kafka",
      "snappy/kafkajs",
      "zstd/@platformatic/kafka",
      "zstd/kafkajs",
    ]);
    for (const c of m.consume) {
      expect(c.messages).toBe(messages);
      // Decoded (uncompressed) bytes, so CPU per GB is over the values as produced.
      expect(c.bytes).toBe(expectedBytes);
      expect(c.cpuSecondsPerGB).toBeGreaterThan(0);
    }
    expect(m.endToEnd).toHaveLength(4);
    for (const e of m.endToEnd) {
      expect(e.messages).toBe(messages);
      expect(e.rows).toBe(expectedRows);
      expect(e.verifiedRows).toBe(expectedRows);
    }

    const cmp = compareClients(m.consume, m.endToEnd);
    expect(cmp.map((c) => c.codec)).toEqual(["snappy", "zstd"]);
    for (const c of cmp) {
      const e = c.endToEndCpuSecondsPerMillionRows!;
      expect(e.ratio).toBeCloseTo(e.platformatic / e.kafkajs, 2);
      expect(c.consumeCpuSecondsPerGB).not.toBeNull();
    }
    const lines = clientLines(m.consume, m.endToEnd).join("\n");
    expect(lines).toContain("zstd    platformatic / kafkajs");
    expect(lines).toContain(`snappy  @platformatic/kafka platformatic`);
  }, 180_000);
});
