/**
 * Process-level containment on real Kafka, ClickHouse, API and worker processes: a handler that
 * wedges its isolate thread (the Map-growth handler of issue 19) is ended by the supervisor's hard
 * deadline (cell SIGKILLed, message dead-lettered, pipeline cordoned), pause/redeploy/SIGTERM issued
 * while it runs finish within their bound, and the healthy pipeline on the same worker keeps exact rows.
 */
import { WeirClient } from "@weir/sdk";
import { type ApiProcess, kafkaBrokers, startApi, startWorker, uniqueName, waitFor } from "@weir/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ch, clickhouseSink, createTopic, produce } from "./test-support.ts";

/**
 * Issue 19's reproducer. With memory_mb 64 the rehash hits V8's heap limit before timeout_ms and the
 * isolate's thread hangs for good (3/3 runs); with 128 the soft timeout usually wins (the isolate is
 * recycled in-process and no cell is killed), so the bad pipelines here use 64.
 */
const MAP_GROWTH = `export function handler(): any { const m = new Map(); for (let i = 0; i < 5e7; i++) m.set(i, i); return { n: m.size }; }`;
const ECHO = (tag: string) =>
  `export function handler(d: { id: number; bad?: boolean }) { return { id: d.id, v: "${tag}" }; }`;
/**
 * How long a pause or redeploy of a wedged pipeline may take: the control bound, then a fresh cell's
 * start-up on a busy box. No Kafka session timeout: the fresh cell evicts the killed cell's group
 * member before it joins (measured: pause 0.3 s, redeploy 1.0 s; 14-15 s before eviction).
 */
const CHANGE_BOUND_MS = 4000 + 6000;
/**
 * From a wedging message's start to its DLQ record: the hard deadline (timeout_ms 500 + grace 1000),
 * then the kill, a fresh cell, the eviction, the join and the DLQ write (measured ~3.5 s a message).
 */
const DLQ_BOUND_MS = 500 + 1000 + 4000;

/** Settings small enough for a test: timeout_ms 500 + grace 1000, control bound 4 s. */
const WORKER_ENV = {
  WEIR_WORKER_KILL_GRACE_MS: "1000",
  WEIR_WORKER_CONTROL_MS: "4000",
  WEIR_WORKER_SESSION_TIMEOUT_MS: "6000",
  WEIR_WORKER_SANDBOX_CHUNK: "50",
  WEIR_WORKER_METRICS_PORT: "0",
  WEIR_LOG_LEVEL: "info",
};

let api: ApiProcess;
let client: WeirClient;

beforeAll(async () => {
  api = await startApi();
  client = new WeirClient({ baseUrl: api.url, token: api.adminToken });
});
afterAll(async () => {
  await api?.kill("SIGTERM");
  await ch.close();
});

/** A ReplacingMergeTree table: replays after a cell kill collapse under FINAL. */
async function table(): Promise<string> {
  const t = uniqueName("wk_cont");
  await ch.command({
    query: `CREATE TABLE ${t} (id UInt64, v String) ENGINE = ReplacingMergeTree ORDER BY id`,
  });
  return t;
}

async function finalRows(t: string): Promise<{ rows: number; distinct: number }> {
  const r = await (
    await ch.query({
      query: `SELECT count() AS rows, uniqExact(id) AS distinct FROM ${t} FINAL`,
      format: "JSONEachRow",
    })
  ).json<{ rows: string; distinct: string }>();
  return { rows: Number(r[0]!.rows), distinct: Number(r[0]!.distinct) };
}

async function pipeline(name: string, topic: string, sinkTable: string, code: string, memoryMb = 128) {
  const p = await client.createPipeline({
    name,
    source: { type: "kafka", config: { bootstrap_servers: kafkaBrokers().join(","), topic } },
    sink: clickhouseSink(sinkTable),
    limits: { timeout_ms: 500, memory_mb: memoryMb },
    retry: { max_attempts: 20, initial_backoff_ms: 50, max_backoff_ms: 500 },
  });
  await client.uploadHandler(p.id, code);
  return p;
}

/** ms until `check` holds. */
async function timed(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<number> {
  const t0 = Date.now();
  await waitFor(async () => ((await check()) ? true : null), { what, timeoutMs, intervalMs: 100 });
  return Date.now() - t0;
}

const status = (id: string) => client.getPipelineStatus(id);
const dlq = async (id: string) => (await client.listDlq(id, { limit: 100 })).items;

it("ends a wedged handler with the hard deadline; pause, redeploy and SIGTERM finish in bound; the neighbour keeps exact rows", async () => {
  const goodTopic = await createTopic(2);
  const badTopic = await createTopic(1);
  const goodTable = await table();
  const good = await pipeline(uniqueName("good").replaceAll("_", "-"), goodTopic, goodTable, ECHO("g"));
  const bad = await pipeline(uniqueName("bad").replaceAll("_", "-"), badTopic, await table(), MAP_GROWTH, 64);
  const w = startWorker(api, WORKER_ENV);
  const feed = (async () => {
    for (let i = 0; i < 20; i++) {
      await produce(
        goodTopic,
        Array.from({ length: 100 }, (_, j) => ({ id: i * 100 + j })),
        2,
      );
      await new Promise((r) => setTimeout(r, 500));
    }
  })();

  // Two wedging messages: each is ended by a cell kill and dead-lettered, never by the isolate.
  await produce(badTopic, [{ id: 1 }, { id: 2 }]);
  const dlqMs = await timed(
    "both bad messages in the DLQ",
    async () => (await dlq(bad.id)).length >= 2,
    60_000,
  );
  // One after the other: each wedges its own cell.
  expect(dlqMs).toBeLessThan(2 * DLQ_BOUND_MS);
  const records = await dlq(bad.id);
  expect(records.map((r) => r.source.offset).sort()).toEqual(["0", "1"]);
  for (const r of records) {
    expect(r.stage).toBe("handler");
    expect(["HANDLER_TIMEOUT", "HANDLER_MEMORY"]).toContain(r.error.code);
  }
  const health = (await (await fetch(healthUrl(w.output()))).json()) as { cells: { id: string }[] };
  expect(health.cells.some((c) => c.id === `cordon-${bad.id}`)).toBe(true);

  // Pause while the next wedging message runs: paused within the control bound plus a restart.
  await produce(badTopic, [{ id: 3 }]);
  await timed("message 3 in the handler", async () => (await status(bad.id)).counters.messages_in >= 0, 5000);
  await new Promise((r) => setTimeout(r, 700));
  await client.pausePipeline(bad.id);
  const pauseMs = await timed("bad paused", async () =>
    (await status(bad.id)).workers.every((x) => x.state === "paused"),
  );
  expect(pauseMs).toBeLessThan(CHANGE_BOUND_MS);

  // Resume and redeploy a good handler while it wedges again: the new version runs within bound.
  await client.resumePipeline(bad.id);
  await new Promise((r) => setTimeout(r, 2500));
  await client.uploadHandler(bad.id, ECHO("fixed"));
  const redeployMs = await timed("bad redeployed", async () => {
    const s = await status(bad.id);
    return s.workers.length > 0 && s.workers.every((x) => x.revision === s.revision && x.state === "running");
  });
  expect(redeployMs).toBeLessThan(CHANGE_BOUND_MS);

  await feed;
  await timed("2000 good rows", async () => (await finalRows(goodTable)).distinct === 2000, 60_000);
  expect(await finalRows(goodTable)).toEqual({ rows: 2000, distinct: 2000 });
  expect((await status(good.id)).counters.failed).toBe(0);

  // SIGTERM while a wedging message runs on another pipeline: the worker is gone within 30 s.
  const wedge = await pipeline(
    uniqueName("wedge").replaceAll("_", "-"),
    badTopic,
    await table(),
    MAP_GROWTH,
    64,
  );
  await timed("wedge running", async () => (await status(wedge.id)).state === "running", 30_000);
  await produce(badTopic, [{ id: 9 }]);
  await new Promise((r) => setTimeout(r, 1000));
  const t0 = Date.now();
  const code = await w.kill("SIGTERM");
  const stopMs = Date.now() - t0;
  console.log({ dlqMs, pauseMs, redeployMs, stopMs, code });
  expect(stopMs).toBeLessThan(30_000);
  expect(code).toBe(0);
}, 180_000);

/** /healthz address from the worker's "worker metrics listening" line. */
function healthUrl(output: string): string {
  const m = /"port":(\d+),"msg":"worker metrics listening"/.exec(output);
  if (!m) throw new Error(`no metrics port in:\n${output.slice(0, 2000)}`);
  return `http://127.0.0.1:${m[1]}/healthz`;
}
