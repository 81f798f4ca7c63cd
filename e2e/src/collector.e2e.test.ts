/**
 * The real producer, end to end: known OTLP traces (sent over OTLP/gRPC like an SDK exporter) and
 * telemetrygen's traces go through a real OpenTelemetry Collector (built from Go modules by
 * scripts/otelcol) into Kafka, in each encoding and codec users run, then through the API and a
 * worker running functions/otel-traces into Debian's ClickHouse 18.16 (legacy table) and, for the
 * article's config, the embedded engine (chdb) with the article's exact table. Asserts the exact row
 * set under FINAL and prints spans sent, rows landed, duplicates and seconds from last send to last row.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient } from "@clickhouse/client";
import type { OtlpExportTraceServiceRequest } from "@weir/core";
import { generateTraces } from "@weir/generator";
import { encodeLogs, encodeTraces } from "@weir/otlp/testing";
import { WeirClient } from "@weir/sdk";
import {
  type ApiProcess,
  type AppProcess,
  articleCollectorConfig,
  clickhouseUrl,
  type KafkaCompression,
  kafkaBrokers,
  otlpGrpcClient,
  runTelemetrygen,
  startApi,
  startCollector,
  startWorker,
  uniqueName,
  waitFor,
} from "@weir/testing";
import { Session } from "chdb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = resolve(fileURLToPath(import.meta.url), "../../..");
const ch = createClient({ url: clickhouseUrl() });
/** The otel-traces entry, bundled with ../shared and uploaded as `weir handler upload` does. */
const handlerEntry = join(root, "functions/otel-traces/index.ts");
const chdbDir = mkdtempSync(join(tmpdir(), "weir-e2e-chdb-"));
const databases: string[] = [];
let api: ApiProcess;
let worker: AppProcess;
let client: WeirClient;

/** Fingerprints the handler must produce: md5(lower(trace id) + lower(span id)) of spans >= 1 ms. */
function fingerprints(requests: OtlpExportTraceServiceRequest[]): Set<string> {
  const out = new Set<string>();
  for (const req of requests)
    for (const rs of req.resourceSpans ?? [])
      for (const ss of rs.scopeSpans ?? [])
        for (const span of ss.spans ?? []) {
          const ns = BigInt(span.endTimeUnixNano ?? 0) - BigInt(span.startTimeUnixNano ?? 0);
          if (ns < 1_000_000n) continue;
          const id = `${String(span.traceId).toLowerCase()}${String(span.spanId).toLowerCase()}`;
          out.add(createHash("md5").update(id).digest("hex"));
        }
  return out;
}

async function rows<T>(query: string): Promise<T[]> {
  return (await ch.query({ query, format: "JSONEachRow" })).json<T>();
}

/** A database with the 18.16 variant of a table from migrations/clickhouse/legacy. */
async function legacyTable(file: string): Promise<string> {
  const database = uniqueName("e2e_otelcol");
  databases.push(database);
  await ch.command({ query: `CREATE DATABASE ${database}` });
  const ddl = readFileSync(join(root, "migrations/clickhouse/legacy", file), "utf8");
  const inDb = createClient({ url: clickhouseUrl(), database });
  await inDb.command({
    query: ddl
      .replace(/^--.*$/gm, "")
      .trim()
      .replace(/;$/, ""),
  });
  await inDb.close();
  return database;
}

type Encoding = "otlp_json" | "otlp_proto";
interface Case {
  name: string;
  encoding: Encoding;
  compression: KafkaCompression;
  /** The seed article's Collector config (otlp_json + snappy) instead of a generated one. */
  article?: boolean;
  /** The pipeline's source format; the article's users keep `json`. */
  format: "json" | "otlp_json" | "otlp_proto";
}

const CASES: Case[] = [
  {
    name: "the article's config (otlp_json + snappy)",
    encoding: "otlp_json",
    compression: "snappy",
    article: true,
    format: "json",
  },
  { name: "otlp_proto + zstd", encoding: "otlp_proto", compression: "zstd", format: "otlp_proto" },
  { name: "otlp_proto + lz4", encoding: "otlp_proto", compression: "lz4", format: "otlp_proto" },
  { name: "otlp_json + gzip", encoding: "otlp_json", compression: "gzip", format: "otlp_json" },
];

beforeAll(async () => {
  // The article's exact table in the embedded engine, created before any worker holds the folder.
  const session = new Session(chdbDir);
  session.query(readFileSync(join(root, "migrations/clickhouse/001_otel_traces_processed.sql"), "utf8"));
  session.cleanup();
  api = await startApi();
  client = new WeirClient({ baseUrl: api.url, token: api.adminToken });
  worker = startWorker(api);
});

afterAll(async () => {
  await worker?.kill("SIGTERM");
  await api?.kill("SIGTERM");
  for (const db of databases) await ch.command({ query: `DROP DATABASE IF EXISTS ${db}` });
  await ch.close();
  rmSync(chdbDir, { recursive: true, force: true });
});

/** Known spans of the article case, checked in chdb once the worker has let go of the folder. */
let articleExpected: Set<string> | undefined;
let articleEmbeddedId: string | undefined;
let articleTelemetrygenSpans = 0;

describe("OTel Collector -> Kafka -> Weir -> ClickHouse", () => {
  it.each(CASES.map((c, i) => [c.name, c, i] as const))("%s: exact rows", async (_name, c, i) => {
    const topic = uniqueName("otelcol_traces");
    const database = await legacyTable("001_otel_traces_processed.sql");
    const source = { bootstrap_servers: kafkaBrokers().join(","), topic, format: c.format };
    const pipeline = await client.createPipeline({
      name: uniqueName("otelcol"),
      source: { type: "kafka", config: source },
      sink: {
        type: "clickhouse",
        config: { url: clickhouseUrl(), database, table: "otel_traces_processed", max_batch_wait_ms: 300 },
      },
      env: { WEIR_TABLE_FLAVOR: "legacy" },
    });
    await client.deployHandler(pipeline.id, handlerEntry);
    if (c.article) {
      // The article's table in chdb, fed from the same topic by a second pipeline (its own group).
      const embedded = await client.createPipeline({
        name: uniqueName("otelcol_chdb"),
        source: { type: "kafka", config: source },
        sink: {
          type: "embedded-clickhouse",
          config: { path: chdbDir, table: "otel_traces_processed", max_batch_wait_ms: 300 },
        },
      });
      await client.deployHandler(embedded.id, handlerEntry);
      articleEmbeddedId = embedded.id;
    }

    const collector = await startCollector(
      c.article
        ? {
            name: `e2e-${i}`,
            config: (endpoints) =>
              articleCollectorConfig({ brokers: kafkaBrokers(), topic, endpoints: { grpc: endpoints.grpc } }),
          }
        : {
            name: `e2e-${i}`,
            brokers: kafkaBrokers(),
            traces: { topic, encoding: c.encoding },
            compression: c.compression,
          },
    );
    const requests = Array.from(
      { length: 12 },
      (_, k) => generateTraces({ seed: 50_000 + i * 100 + k, spansPerMessage: 40 }).request,
    );
    const expected = fingerprints(requests);
    const service = `telemetrygen-${i}`;
    let sent: Awaited<ReturnType<typeof runTelemetrygen>>;
    const otlp = otlpGrpcClient(collector.grpcEndpoint);
    try {
      for (const r of requests) await otlp.export("traces", encodeTraces(JSON.parse(JSON.stringify(r))));
      sent = await runTelemetrygen({
        signal: "traces",
        endpoint: collector.grpcEndpoint,
        count: 25,
        childSpans: 3,
        spanDuration: "2ms",
        serviceName: service,
      });
    } finally {
      otlp.close();
      // SIGTERM flushes the batch processor and the Kafka producer.
      expect(await collector.stop()).toBe(0);
    }
    const lastSend = Date.now();

    const table = `${database}.otel_traces_processed`;
    const want = expected.size + sent.spans;
    await waitFor(
      async () => {
        const [r] = await rows<{ n: string }>(`SELECT uniqExact(fingerprint) AS n FROM ${table}`);
        return Number(r?.n) >= want;
      },
      { what: `${want} distinct spans in ClickHouse (${c.name})`, timeoutMs: 90_000 },
    );
    const lastRowSeconds = (Date.now() - lastSend) / 1000;
    const known = await rows<{ fingerprint: string }>(
      `SELECT fingerprint FROM ${table} FINAL WHERE service_name != '${service}'`,
    );
    expect(new Set(known.map((r) => r.fingerprint))).toEqual(expected);
    const [tg] = await rows<{ n: string; spans: string; traces: string }>(
      `SELECT count() AS n, uniqExact(span_id) AS spans, uniqExact(trace_id) AS traces
       FROM ${table} FINAL WHERE service_name = '${service}'`,
    );
    expect(Number(tg?.spans)).toBe(sent.spans);
    expect(Number(tg?.traces)).toBe(sent.items);
    const [all] = await rows<{ raw: string; final: string; distinct: string }>(
      `SELECT count() AS raw, (SELECT count() FROM ${table} FINAL) AS final, uniqExact(fingerprint) AS distinct FROM ${table}`,
    );
    const dupAfterFinal = Number(all?.final) - Number(all?.distinct);
    expect(dupAfterFinal).toBe(0);
    expect(Number(all?.final)).toBe(want);
    const status = await client.getPipelineStatus(pipeline.id);
    expect(status.counters.failed).toBe(0);
    console.log(
      `[collector] ${c.name}: spans_sent=${expected.size + sent.spans} (known ${expected.size} >= 1 ms, telemetrygen ${sent.spans}) rows_landed=${all?.final} raw_rows=${all?.raw} dup_after_final=${dupAfterFinal} messages=${status.counters.messages_in} last_send_to_last_row_s=${lastRowSeconds.toFixed(1)}`,
    );
    if (c.article) {
      articleExpected = expected;
      articleTelemetrygenSpans = sent.spans;
    }
  });

  it("otlp_proto logs through the Collector land exactly in the logs table", async () => {
    const topic = uniqueName("otelcol_logs");
    const database = await legacyTable("002_otel_logs_processed.sql");
    const pipeline = await client.createPipeline({
      name: uniqueName("otelcol_logs"),
      source: {
        type: "kafka",
        config: { bootstrap_servers: kafkaBrokers().join(","), topic, format: "otlp_proto", signal: "logs" },
      },
      sink: {
        type: "clickhouse",
        config: { url: clickhouseUrl(), database, table: "otel_logs_processed", max_batch_wait_ms: 300 },
      },
      env: { WEIR_TABLE_FLAVOR: "legacy" },
    });
    await client.deployHandler(pipeline.id, join(root, "functions/otel-logs/index.ts"));
    const collector = await startCollector({
      name: "e2e-logs",
      brokers: kafkaBrokers(),
      logs: { topic, encoding: "otlp_proto" },
      compression: "zstd",
    });
    const bodies = Array.from({ length: 30 }, (_, k) => `order ${k} paid`);
    const request = {
      resourceLogs: [
        {
          resource: { attributes: [{ key: "service.name", value: { stringValue: "checkout" } }] },
          scopeLogs: [
            {
              scope: { name: "payments" },
              logRecords: bodies.map((body, k) => ({
                timeUnixNano: String(1_700_000_000_000_000_000n + BigInt(k) * 1_000_000n),
                severityNumber: 9,
                severityText: "INFO",
                body: { stringValue: body },
                attributes: [
                  { key: "order.id", value: { intValue: String(9_007_199_254_740_993n + BigInt(k)) } },
                ],
              })),
            },
          ],
        },
      ],
    };
    const otlp = otlpGrpcClient(collector.grpcEndpoint);
    let sent: Awaited<ReturnType<typeof runTelemetrygen>>;
    try {
      await otlp.export("logs", encodeLogs(request));
      sent = await runTelemetrygen({
        signal: "logs",
        endpoint: collector.grpcEndpoint,
        count: 40,
        serviceName: "telemetrygen-logs",
      });
    } finally {
      otlp.close();
      expect(await collector.stop()).toBe(0);
    }
    const table = `${database}.otel_logs_processed`;
    await waitFor(
      async () => {
        const [r] = await rows<{ n: string }>(`SELECT count() AS n FROM ${table}`);
        return Number(r?.n) >= bodies.length + sent.items;
      },
      { what: "every log record in ClickHouse", timeoutMs: 60_000 },
    );
    const known = await rows<{ body: string; order: string; service_name: string; severity_text: string }>(
      `SELECT body, attributes_values[indexOf(attributes_keys, 'order.id')] AS order, service_name, severity_text
       FROM ${table} WHERE service_name = 'checkout' ORDER BY timestamp_us`,
    );
    expect(known.map((r) => r.body)).toEqual(bodies);
    expect(known[3]).toEqual({
      body: "order 3 paid",
      order: "9007199254740996",
      service_name: "checkout",
      severity_text: "INFO",
    });
    const [tg] = await rows<{ n: string }>(
      `SELECT count() AS n FROM ${table} WHERE service_name = 'telemetrygen-logs'`,
    );
    expect(Number(tg?.n)).toBe(sent.items);
  });

  it("the article's table in chdb holds the same spans", async () => {
    expect(articleExpected).toBeDefined();
    const id = articleEmbeddedId ?? "";
    await waitFor(
      async () => {
        const s = await client.getPipelineStatus(id);
        return s.lag.length > 0 && s.lag.every((p) => p.lag === 0) && s.counters.rows_out > 0;
      },
      { what: "the chdb pipeline caught up", timeoutMs: 60_000 },
    );
    // libchdb locks its folder: read it once the worker (which wrote it) has exited.
    expect(await worker.kill("SIGTERM")).toBe(0);
    const session = new Session(chdbDir);
    try {
      const out = session.query(
        "SELECT fingerprint, service_name FROM otel_traces_processed FINAL",
        "JSONEachRow",
      );
      const landed = out
        .trim()
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { fingerprint: string; service_name: string });
      const known = landed.filter((r) => !r.service_name.startsWith("telemetrygen"));
      expect(new Set(known.map((r) => r.fingerprint))).toEqual(articleExpected);
      expect(landed.length - known.length).toBe(articleTelemetrygenSpans);
    } finally {
      session.cleanup();
    }
  });
});
