/**
 * The job users come for, end to end on real processes: generated OTLP traces (and the official
 * sample) -> Kafka (otlp_json, one request per message) -> the API and a worker running the
 * uploaded functions/otel-traces handler -> Debian's ClickHouse server (the 18.16 table variant).
 * Asserts the exact row set: spans under 1 ms dropped, a re-sent message deduplicated by
 * fingerprint, the handler's logs visible through the API, and a malformed message in the DLQ.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient } from "@clickhouse/client";
import type { OtlpExportTraceServiceRequest } from "@weir/core";
import { generateTraces } from "@weir/generator";
import { WeirClient } from "@weir/sdk";
import {
  type ApiProcess,
  type AppProcess,
  clickhouseUrl,
  kafkaBrokers,
  readFixture,
  startApi,
  startWorker,
  uniqueName,
  waitFor,
} from "@weir/testing";
import { Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = resolve(fileURLToPath(import.meta.url), "../../..");
const ch = createClient({ url: clickhouseUrl() });
const kafka = new Kafka({ clientId: "weir-e2e", brokers: kafkaBrokers(), logLevel: logLevel.ERROR });
const database = uniqueName("e2e");
const topic = uniqueName("otel_traces_raw");
let api: ApiProcess;
let worker: AppProcess;
let client: WeirClient;

/** Fingerprints the article's transform must produce: md5(lower(trace id) + lower(span id)) of spans >= 1 ms. */
function expectedFingerprints(requests: OtlpExportTraceServiceRequest[]): Set<string> {
  const out = new Set<string>();
  for (const req of requests) {
    for (const rs of req.resourceSpans ?? []) {
      for (const ss of rs.scopeSpans ?? []) {
        for (const span of ss.spans ?? []) {
          const ns = BigInt(span.endTimeUnixNano ?? 0) - BigInt(span.startTimeUnixNano ?? 0);
          if (ns < 1_000_000n) continue;
          const id = `${String(span.traceId).toLowerCase()}${String(span.spanId).toLowerCase()}`;
          out.add(createHash("md5").update(id).digest("hex"));
        }
      }
    }
  }
  return out;
}

beforeAll(async () => {
  await ch.command({ query: `CREATE DATABASE ${database}` });
  const ddl = readFileSync(join(root, "migrations/clickhouse/legacy/001_otel_traces_processed.sql"), "utf8");
  // The 18.16 variant of the article's table (no Map, no DateTime64), created in a database of its own.
  const inDb = createClient({ url: clickhouseUrl(), database });
  await inDb.command({
    query: ddl
      .replace(/^--.*$/gm, "")
      .trim()
      .replace(/;$/, ""),
  });
  await inDb.close();
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  await admin.disconnect();
  api = await startApi();
  client = new WeirClient({ baseUrl: api.url, token: api.adminToken });
  worker = startWorker(api);
});

afterAll(async () => {
  await worker?.kill("SIGTERM");
  await api?.kill("SIGTERM");
  await ch.command({ query: `DROP DATABASE IF EXISTS ${database}` });
  await ch.close();
});

describe("OTel traces: Kafka -> Weir -> ClickHouse", () => {
  it("lands exactly the expected rows, shows the handler's logs and dead-letters a malformed message", async () => {
    const pipeline = await client.createPipeline({
      name: "otel-traces-e2e",
      source: { type: "kafka", config: { bootstrap_servers: kafkaBrokers().join(","), topic } },
      sink: {
        type: "clickhouse",
        config: { url: clickhouseUrl(), database, table: "otel_traces_processed", max_batch_wait_ms: 300 },
      },
      env: { WEIR_TABLE_FLAVOR: "legacy" },
    });
    const { version } = await client.deployHandler(pipeline.id, join(root, "functions/otel-traces/index.ts"));
    expect(version.version).toBe(1);

    const generated = Array.from(
      { length: 40 },
      (_, i) => generateTraces({ seed: 1000 + i, spansPerMessage: 50 }).request,
    );
    const official = JSON.parse(readFixture("otlp/trace.json")) as OtlpExportTraceServiceRequest;
    const values = [
      ...generated.map((r) => JSON.stringify(r)),
      readFixture("otlp/trace.json"),
      JSON.stringify(generated[0]), // the collector retried an export: same spans again
      '{"resourceSpans": [', // truncated
    ];
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: values.map((value) => ({ value })) });
    await producer.disconnect();

    const expected = expectedFingerprints([...generated, official]);
    expect(expected.size).toBeGreaterThan(1500);
    const table = `${database}.otel_traces_processed`;
    await waitFor(
      async () => {
        const r = await (
          await ch.query({ query: `SELECT uniqExact(fingerprint) AS n FROM ${table}`, format: "JSONEachRow" })
        ).json<{ n: string }>();
        return Number(r[0]?.n) >= expected.size;
      },
      { what: `${expected.size} distinct spans in ClickHouse`, timeoutMs: 90_000 },
    );
    await waitFor(
      async () => (await client.getPipelineStatus(pipeline.id)).counters.messages_in === values.length,
      {
        what: "every message consumed",
      },
    );

    const landed = await (
      await ch.query({ query: `SELECT fingerprint FROM ${table} FINAL`, format: "JSONEachRow" })
    ).json<{ fingerprint: string }>();
    const got = landed.map((r) => r.fingerprint);
    expect(got.length).toBe(expected.size); // no duplicate after dedup
    expect(new Set(got)).toEqual(expected); // nothing missing, nothing extra (no sub-ms span)

    // The official sample: upper-case ids lowered, one 1 s server span from my.service.
    const sample = await (
      await ch.query({
        query: `SELECT trace_id, span_id, parent_span_id, service_name, span_name, duration_ms, timestamp, timestamp_us,
                       attributes_values[indexOf(attributes_keys, 'my.span.attr')] AS attr
                FROM ${table} FINAL WHERE span_id = 'eee19b7ec3c1b174'`,
        format: "JSONEachRow",
      })
    ).json<Record<string, unknown>>();
    expect(sample).toEqual([
      {
        trace_id: "5b8efff798038103d269b633813fc60c",
        span_id: "eee19b7ec3c1b174",
        parent_span_id: "eee19b7ec3c1b173",
        service_name: "my.service",
        span_name: "I'm a server span",
        duration_ms: 1000,
        timestamp: "2018-12-13 14:51:00",
        timestamp_us: 0,
        attr: "some value",
      },
    ]);

    const logs = await waitFor(
      async () => {
        const page = await client.getLogs(pipeline.id, { limit: 200 });
        return page.items.some((l) => l.offset !== null && l.offset !== undefined) ? page : null;
      },
      { what: "handler logs through the API" },
    );
    expect(logs.items.some((l) => l.level === "info" && l.topic === topic)).toBe(true);

    const dlq = await waitFor(
      async () => {
        const page = await client.listDlq(pipeline.id);
        return page.items.length > 0 ? page : null;
      },
      { what: "the malformed message in the DLQ" },
    );
    expect(dlq.items).toHaveLength(1);
    expect(dlq.items[0]).toMatchObject({
      stage: "decode",
      value: '{"resourceSpans": [',
      source: { topic, partition: 0, offset: String(values.length - 1) },
      error: { code: "DECODE_ERROR" },
    });
    // Workers report every 500 ms: the counters catch up with the DLQ and the sink shortly after.
    const status = await waitFor(
      async () => {
        const s = await client.getPipelineStatus(pipeline.id);
        return s.counters.dlq === 1 && s.counters.rows_out >= expected.size ? s : null;
      },
      { what: "the DLQ counter in the pipeline's status" },
    );
    expect(status.counters).toMatchObject({ messages_in: values.length, failed: 1, dlq: 1 });
    expect(status.counters.rows_out).toBeGreaterThanOrEqual(expected.size);
  });
});
