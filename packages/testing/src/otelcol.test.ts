/**
 * The real OpenTelemetry Collector (scripts/otelcol build) against the real broker: telemetrygen
 * sends OTLP through it, the Kafka exporter writes with each encoding and codec Weir must read, and
 * the configs we ship (deploy/otel-collector.yaml, docker-compose.yml) are valid for that release.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type Admin, Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  articleCollectorConfig,
  fixturePath,
  type KafkaCompression,
  kafkaBrokers,
  otelcolBinaries,
  runTelemetrygen,
  startCollector,
  uniqueName,
  waitFor,
} from "./index.ts";

const repoRoot = resolve(fileURLToPath(import.meta.url), "../../../..");
const otelcolScript = join(repoRoot, "scripts/otelcol");
const brokers = kafkaBrokers();
const kafka = new Kafka({ clientId: "weir-otelcol-test", brokers, logLevel: logLevel.NOTHING });
let admin: Admin;
const topics: string[] = [];

/** Kafka's codec ids in a record batch's attributes (the low three bits). */
const CODEC_ID: Record<KafkaCompression, number> = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 };

/**
 * The codecs of the record batches in the local broker's log segments for `topic` (one partition),
 * read from its data folder; undefined when the broker is not the one scripts/services runs here.
 * kafkajs cannot tell us: it has no snappy/lz4/zstd decoder, and fetching just fails on them.
 */
function segmentCodecs(topic: string): Set<number> | undefined {
  const stateDir = process.env.WEIR_STATE_DIR ?? join(repoRoot, ".weir");
  const dir = join(stateDir, "services/kafka/data", `${topic}-0`);
  if (!existsSync(dir)) return undefined;
  const codecs = new Set<number>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".log"))) {
    const buf = readFileSync(join(dir, file));
    // RecordBatch: baseOffset int64, batchLength int32, leaderEpoch int32, magic int8, crc int32,
    // attributes int16 at byte 21; the next batch starts 12 + batchLength bytes later.
    for (let pos = 0; pos + 23 <= buf.length; pos += 12 + buf.readInt32BE(pos + 8)) {
      codecs.add(buf.readInt16BE(pos + 21) & 7);
    }
  }
  return codecs;
}

async function newTopic(prefix: string): Promise<string> {
  const topic = uniqueName(prefix);
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  topics.push(topic);
  return topic;
}

async function endOffset(topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((sum, p) => sum + Number(p.high), 0);
}

/** Every message of a topic (codecs kafkajs can decode only), read from the beginning. */
async function readAll(topic: string): Promise<Buffer[]> {
  const want = await endOffset(topic);
  const consumer = kafka.consumer({ groupId: uniqueName("otelcol-test") });
  const values: Buffer[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        if (message.value) values.push(message.value);
      },
    });
    await waitFor(() => values.length >= want, { what: `${want} messages on ${topic}` });
  } finally {
    await consumer.disconnect();
  }
  return values;
}

function occurrences(haystack: Buffer, needle: string): number {
  let n = 0;
  for (let i = haystack.indexOf(needle); i !== -1; i = haystack.indexOf(needle, i + needle.length)) n++;
  return n;
}

beforeAll(async () => {
  otelcolBinaries(); // fails the file at once, saying to run scripts/otelcol build, when missing
  admin = kafka.admin();
  await admin.connect();
});

afterAll(async () => {
  if (topics.length) await admin.deleteTopics({ topics }).catch(() => undefined);
  await admin.disconnect();
});

describe("the Collector's configs", () => {
  it("validates deploy/otel-collector.yaml with the pinned release, and rejects the article's older syntax", () => {
    const out = execFileSync(
      otelcolScript,
      ["validate", "--config", join(repoRoot, "deploy/otel-collector.yaml")],
      {
        encoding: "utf8",
        stdio: "pipe",
      },
    );
    expect(out).not.toMatch(/error/i);
    // The article's file, verbatim: top-level topic/encoding, which this release no longer takes.
    const old = spawnSync(otelcolScript, ["validate", fixturePath("seed-article/otel-collector.yaml")], {
      encoding: "utf8",
    });
    expect(old.status).not.toBe(0);
    expect(old.stderr).toMatch(/invalid keys: encoding, topic/);
  });

  it("pins docker-compose.yml's Collector image to the release the binary was built from", () => {
    const version = execFileSync(otelcolBinaries().otelcol, ["--version"], { encoding: "utf8" })
      .trim()
      .split(" ")
      .pop();
    const compose = readFileSync(join(repoRoot, "docker-compose.yml"), "utf8");
    expect(compose).toContain(`image: otel/opentelemetry-collector-contrib:${version}\n`);
    expect(compose).toContain("./deploy/otel-collector.yaml:/etc/otelcol/config.yaml");
  });

  const composeCli = spawnSync("docker-compose", ["version"], { encoding: "utf8" }).status === 0;
  it.skipIf(!composeCli)(
    "docker-compose -f docker-compose.yml config -q passes (skipped: no docker-compose)",
    () => {
      const res = spawnSync("docker-compose", ["-f", "docker-compose.yml", "config", "-q"], {
        cwd: repoRoot,
        encoding: "utf8",
      });
      expect(res.stderr).toBe("");
      expect(res.status).toBe(0);
    },
  );
});

describe("telemetrygen -> Collector -> Kafka", () => {
  const cases: { name: string; encoding: string; compression: KafkaCompression; article?: true }[] = [
    {
      name: "the article's config (otlp_json + snappy)",
      encoding: "otlp_json",
      compression: "snappy",
      article: true,
    },
    { name: "otlp_proto + zstd", encoding: "otlp_proto", compression: "zstd" },
    { name: "otlp_proto + lz4", encoding: "otlp_proto", compression: "lz4" },
    { name: "otlp_json + gzip", encoding: "otlp_json", compression: "gzip" },
  ];

  for (const c of cases) {
    it(`traces with ${c.name}`, async () => {
      const topic = await newTopic(`otelcol_${c.encoding}_${c.compression}`);
      const collector = c.article
        ? await startCollector({
            name: "article",
            config: (ep) => articleCollectorConfig({ brokers, topic, endpoints: { grpc: ep.grpc } }),
          })
        : await startCollector({
            name: c.compression,
            brokers,
            traces: { topic, encoding: c.encoding },
            compression: c.compression,
            batch: { timeout: "200ms" },
          });
      let stopped = false;
      try {
        const sent = await runTelemetrygen({
          signal: "traces",
          endpoint: collector.grpcEndpoint,
          count: 25,
          workers: 2,
          attrs: { "weir.test": topic },
          serviceName: "weir-otelcol-test",
        });
        expect(sent.spans).toBe(100);
        await waitFor(async () => (await endOffset(topic)) > 0, { what: `messages on ${topic}` });
        expect(await collector.stop()).toBe(0);
        stopped = true;
      } finally {
        if (!stopped) await collector.stop().catch(() => undefined);
      }

      const codecs = segmentCodecs(topic);
      if (codecs) expect([...codecs]).toEqual([CODEC_ID[c.compression]]);
      if (c.compression === "gzip") {
        // A codec kafkajs reads: every span telemetrygen sent is in the otlp_json messages.
        let spans = 0;
        for (const value of await readAll(topic)) {
          const req = JSON.parse(value.toString()) as {
            resourceSpans: {
              scopeSpans: { spans: { attributes: { key: string; value: { stringValue?: string } }[] }[] }[];
            }[];
          };
          for (const span of req.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans))) {
            expect(span.attributes).toContainEqual({ key: "weir.test", value: { stringValue: topic } });
            spans++;
          }
        }
        expect(spans).toBe(100);
      }
    });
  }

  it("logs with otlp_proto (uncompressed, so every record can be counted in the protobuf bytes)", async () => {
    const topic = await newTopic("otelcol_logs_proto");
    const collector = await startCollector({
      name: "logs",
      brokers,
      logs: { topic, encoding: "otlp_proto" },
      compression: "none",
      batch: { timeout: "200ms" },
    });
    try {
      const sent = await runTelemetrygen({
        signal: "logs",
        endpoint: collector.grpcEndpoint,
        count: 30,
        workers: 2,
        attrs: { "weir.test": topic },
      });
      expect(sent.items).toBe(60);
      await waitFor(async () => (await endOffset(topic)) > 0, { what: `messages on ${topic}` });
    } finally {
      expect(await collector.stop()).toBe(0);
    }
    const codecs = segmentCodecs(topic);
    if (codecs) expect([...codecs]).toEqual([CODEC_ID.none]);
    const values = await readAll(topic);
    // Protobuf, not JSON; OTLP repeats each record's attribute values, so the topic name (its
    // `weir.test` value) appears once per log record.
    expect(values[0]?.[0]).not.toBe("{".charCodeAt(0));
    expect(values.reduce((n, v) => n + occurrences(v, topic), 0)).toBe(60);
  });
});
