import { createClient } from "@clickhouse/client";
import { createKafka, type KafkaCompression } from "@weir/connectors";
import { spyOnDecompression } from "@weir/connectors/testing";
import { afterAll, describe, expect, it } from "vitest";
import type { ChildOptions } from "./child/harness.ts";
import { clientLines, compareClients, runClientMatrix } from "./clients.ts";
import { computeFloor } from "./compute.ts";
import { benchMessage, benchValue } from "./data.ts";
import { decodeCost } from "./decode.ts";
import { transformToNdjson } from "./handler.ts";
import { createTopic, deleteTopic, type LoadStats, loadTopic } from "./load.ts";
import { type ConsumerFigures, runToCompletion } from "./measure.ts";
import { type BenchResults, busyTargetLines, summary, targetLines } from "./report.ts";
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
    expect(r.spans).toBe(100);
    expect(r.rows).toBeGreaterThan(0);
    expect(r.cpuSeconds).toBeGreaterThan(0);
    expect(r.parseCpuSeconds).toBeGreaterThan(0);
    expect(r.stringifyCpuSeconds).toBeGreaterThan(0);
  });

  it("otlp_proto values are the same requests: the plain handler writes byte-identical rows from them", () => {
    for (const i of [0, 1, 5]) {
      const json = benchValue(spec, i, "otlp_json");
      const proto = benchValue(spec, i, "otlp_proto");
      expect(typeof json.value).toBe("string");
      expect(proto.value).toBeInstanceOf(Uint8Array);
      expect(proto.spans).toBe(json.spans);
      expect(proto.expectedRows).toBe(json.expectedRows);
      expect((proto.value as Uint8Array).byteLength).toBeLessThan((json.value as string).length);
      const a = transformToNdjson(json.value);
      const b = transformToNdjson(proto.value);
      expect(b.rows).toBe(json.expectedRows);
      expect(b.text).toBe(a.text);
    }
    const f = computeFloor(spec, 4, 2, "otlp_proto");
    expect(f.format).toBe("otlp_proto");
    expect(f.rows).toBe(computeFloor(spec, 4, 2).rows);
    expect(f.parseCpuSeconds).toBeGreaterThan(0);
  });

  it("measures decoding per span on the host and in an isolate, both formats", async () => {
    const d = await decodeCost(spec, 6, { chunk: 4, rounds: 1 });
    expect(d.messages).toBe(6);
    expect(d.spans).toBe(120);
    expect(d.host.jsonParseUsPerSpan).toBeGreaterThan(0);
    expect(d.host.protoDecodeUsPerSpan).toBeGreaterThan(0);
    expect(d.isolate.json.isolateCpuUsPerSpan).toBeGreaterThan(0);
    expect(d.isolate.otlp_proto.isolateCpuUsPerSpan).toBeGreaterThan(0);
    expect(d.protoBytesPerMessage).toBeLessThan(d.jsonBytesPerMessage);
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

describe("targets block", () => {
  const consumer = (cpuPerMRows: number, p99 = 500): ConsumerFigures => ({
    messages: 10,
    rows: 900,
    rowsPerSec: 90_000,
    rowsPerSecWall: 80_000,
    messagesPerSec: 100,
    cpuSeconds: cpuPerMRows * 0.0009,
    cpuSecondsPerMillionRows: cpuPerMRows,
    cpuSecondsPerMillionRowsSustained: null,
    cores: 1,
    peakRssMB: 400,
    wallSeconds: 1,
    latencyMs: { messages: 10, p50: 100, p95: 200, p99, max: p99, mean: 100 },
  });
  const load = { messages: 10, spans: 1000, expectedRows: 900, bytes: 800_000, seconds: 1 };
  const span = (cpuPerMSpans: number) => ({
    ...consumer(cpuPerMSpans / 0.9),
    verifiedRows: 900,
    cpuSecondsPerMillionSpans: cpuPerMSpans,
    cpuSecondsPerMillionSpansSustained: null,
  });
  const results = (): Omit<BenchResults, "summary" | "targets"> => {
    const protoWeir = span(9);
    return {
      schema: 5,
      date: "2026-12-02T00:00:00.000Z",
      git: { sha: "abc", dirty: false },
      command: "npm run bench",
      machine: { cpus: 2 },
      versions: {},
      settings: { spansPerMessage: 100, partitions: 4, weirCodec: "zstd" },
      load: { ...load, messagesPerSec: 10, mbPerSec: 0.8 },
      loads: [],
      weir: protoWeir,
      baselines: {},
      formats: [
        {
          format: "otlp_proto",
          codec: "zstd",
          topic: "t1",
          load: { ...load, messagesPerSec: 10, mbPerSec: 0.8 },
          weir: protoWeir,
          overhead: 0.1,
          cpuPerRowVsPlain: 0.9,
        },
        {
          format: "otlp_json",
          codec: "zstd",
          topic: "t2",
          load: { ...load, messagesPerSec: 10, mbPerSec: 0.8 },
          weir: span(20),
        },
      ],
      ratios: {},
      latencies: [
        {
          format: "otlp_proto",
          codec: "zstd",
          fraction: 0.8,
          targetRowsPerSec: 72_000,
          messagesPerSec: 80,
          seconds: 10,
          producedMessages: 800,
          weir: consumer(9, 1200),
        },
      ],
      serviceProcesses: { broker: null, server: null, notes: [] },
    } as unknown as Omit<BenchResults, "summary" | "targets">;
  };

  it("one line per target, MET / MISSED / n/a, the 10-pipeline RSS slot open until busy fills it", () => {
    const r = results();
    const t = targetLines(r, busyTargetLines(r.busy));
    const by = Object.fromEntries(t.map((x) => [x.key, x]));
    expect(by["cpu.otlp_proto"]).toMatchObject({ measured: "9.00", met: true });
    expect(by["cpu.otlp_json"]).toMatchObject({ measured: "20.00", met: false });
    expect(by["overhead.otlp_proto"]).toMatchObject({ measured: "10.0%", met: true });
    expect(by["overhead.otlp_json"]).toMatchObject({ measured: "not run", met: null });
    expect(by["cpuPerRow.otlp_proto"]).toMatchObject({ measured: "0.90x", met: false });
    expect(by["p99.otlp_proto"]).toMatchObject({ measured: "1,200 ms", met: false });
    expect(by.rss10).toMatchObject({ measured: "not measured", met: null });

    const filled = targetLines(r, [
      { key: "rss10", what: "peak RSS, 10 pipelines", measured: "280 MB", target: "<= 300 MB", met: true },
    ]);
    expect(filled.filter((x) => x.key === "rss10")).toEqual([
      { key: "rss10", what: "peak RSS, 10 pipelines", measured: "280 MB", target: "<= 300 MB", met: true },
    ]);

    const text = summary({ ...r, targets: t });
    const block = text.slice(text.indexOf("targets (issue 17)"));
    expect(block).toMatch(/worker CPU-s per 1M spans, otlp_proto\/zstd +9\.00 +<= 10 +MET/);
    expect(block).toMatch(/worker CPU-s per 1M spans, otlp_json\/zstd +20\.00 +<= 18 +MISSED/);
    expect(block).toMatch(
      /p99 produce-to-insert at 80\.0% of max, otlp_proto\/zstd +1,200 ms +<= 1,000 ms +MISSED/,
    );
    expect(block).toMatch(/peak RSS, worker with 10 pipelines .* not measured +<= 300 MB +n\/a/);
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

  it("Weir (format otlp_proto in its source) and (b) (decodeTraces) write every row of a zstd otlp_proto topic", async () => {
    const messages = 6;
    const topic = `bench-test-proto-${run}`;
    await createTopic(kafka, topic, 2);
    topics.push(topic);
    const stats = await loadTopic(kafka, topic, 2, spec, messages, undefined, "zstd", "otlp_proto");
    expect(stats.bytes).toBeLessThan(benchMessage(spec, 0).value.length * messages);
    for (const child of ["weir", "plain"] as const) {
      const table = `bench_test_proto_${child}_${run}`;
      await createTable(ch, table);
      tables.push(table);
      const raw = await runToCompletion(
        child,
        {
          brokers,
          clickhouseUrl,
          topic,
          groupId: `bench-test-${run}-${child}`,
          table,
          expectedMessages: messages,
          maxBatchRows: 50,
          maxBatchWaitMs: 100,
          partitionConcurrency: 2,
          sandboxChunk: 10,
          isolates: 1,
          nodeFlags: [],
          format: "otlp_proto",
        },
        child,
      );
      expect(raw.rows).toBe(stats.expectedRows);
      expect(await countRows(ch, table)).toBe(stats.expectedRows);
    }
  }, 180_000);
});
