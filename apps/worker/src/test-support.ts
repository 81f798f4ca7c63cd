/**
 * Shared setup for the worker's integration tests: real Kafka topics, real ClickHouse tables,
 * handlers compiled by the real sandbox compiler, runners wired as main.ts wires them.
 */
import { createClient } from "@clickhouse/client";
import { Kafka, KafkaLogLevel as logLevel } from "@weir/connectors";
import { type DesiredPipeline, type LogRecord, parsePipelineSpec } from "@weir/core";
import { compileHandler } from "@weir/sandbox";
import { clickhouseUrl, kafkaBrokers, uniqueName } from "@weir/testing";
import { pino } from "pino";
import { LogShipper } from "./logs.ts";
import { WorkerMetrics } from "./metrics.ts";
import type { RunnerDeps } from "./runner.ts";

export const kafka = new Kafka({
  clientId: "weir-worker-test",
  brokers: kafkaBrokers(),
  logLevel: logLevel.ERROR,
});
export const ch = createClient({ url: clickhouseUrl() });

/** A handler that maps {id, v} to a row, drops `drop`, throws on `boom`. */
export const ECHO_HANDLER = `
export function handler(data: { id: number; v?: string; drop?: boolean; boom?: boolean }, log) {
  if (data.boom) throw new Error("boom " + data.id);
  if (data.drop) return null;
  if (data.id % 100 === 0) log.info("hundred", { id: data.id });
  return { id: data.id, v: data.v ?? "" };
}
`;

export async function createTopic(partitions = 1): Promise<string> {
  const topic = uniqueName("wk");
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  await admin.disconnect();
  return topic;
}

export async function produce(topic: string, values: (string | object)[], partitions = 1): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  for (let i = 0; i < values.length; i += 500) {
    await producer.send({
      topic,
      messages: values.slice(i, i + 500).map((v, j) => ({
        value: typeof v === "string" ? v : JSON.stringify(v),
        partition: (i + j) % partitions,
      })),
    });
  }
  await producer.disconnect();
}

export async function createTable(): Promise<string> {
  const table = uniqueName("wk_rows");
  await ch.command({ query: `CREATE TABLE ${table} (id UInt64, v String) ENGINE = MergeTree ORDER BY id` });
  return table;
}

export async function countRows(table: string): Promise<{ rows: number; distinct: number }> {
  const r = await (
    await ch.query({
      query: `SELECT count() AS rows, uniqExact(id) AS distinct FROM ${table}`,
      format: "JSONEachRow",
    })
  ).json<{ rows: string; distinct: string }>();
  return { rows: Number(r[0]?.rows ?? 0), distinct: Number(r[0]?.distinct ?? 0) };
}

let revision = 1;

/** A desired pipeline as the API would hand it to a worker. */
export async function desiredPipeline(opts: {
  topic: string;
  sink: { type: string; config: Record<string, unknown> };
  handler?: string;
  id?: string;
  retry?: Record<string, number>;
  limits?: Record<string, number>;
}): Promise<DesiredPipeline> {
  const compiled = await compileHandler(opts.handler ?? ECHO_HANDLER);
  if (!compiled.ok) throw new Error(`handler does not compile: ${JSON.stringify(compiled)}`);
  const parsed = parsePipelineSpec({
    name: "test",
    source: { type: "kafka", config: { bootstrap_servers: kafkaBrokers().join(","), topic: opts.topic } },
    sink: opts.sink,
    retry: opts.retry ?? { max_attempts: 4, initial_backoff_ms: 50, max_backoff_ms: 500 },
    ...(opts.limits ? { limits: opts.limits } : {}),
  });
  if (!parsed.ok) throw new Error(`bad spec: ${JSON.stringify(parsed.issues)}`);
  const id = opts.id ?? uniqueName("pl");
  return {
    id,
    revision: revision++,
    desired: "running",
    spec: parsed.spec,
    handler: {
      version_id: `${id}-v1`,
      version: 1,
      sha256: "test",
      code: compiled.code,
      source_map: compiled.sourceMap,
    },
  };
}

/** Runner dependencies with logs collected in memory instead of shipped to an API. */
export function testDeps(): RunnerDeps & { shipped: LogRecord[] } {
  const shipped: LogRecord[] = [];
  const logs = new LogShipper(
    "test-worker",
    async (b) => void shipped.push(...b.records),
    10_000,
    50,
    () => undefined,
  );
  logs.start();
  return {
    workerId: "test-worker",
    logs,
    metrics: new WorkerMetrics(),
    logger: pino({ level: "silent" }),
    sandboxChunk: 200,
    partitionConcurrency: 2,
    sessionTimeoutMs: 10_000,
    shipped,
  };
}

export function clickhouseSink(table: string, extra: Record<string, unknown> = {}) {
  return { type: "clickhouse", config: { url: clickhouseUrl(), table, max_batch_wait_ms: 200, ...extra } };
}
