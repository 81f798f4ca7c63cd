/**
 * The worker as a process, driven through the real API: SIGKILL and restart lose nothing, live
 * changes (new handler, pause, resume, delete) apply without loss or repeat, SIGTERM drains and
 * leaves the group, and status and metrics are reported.
 */
import { WeirClient } from "@weir/sdk";
import {
  type ApiProcess,
  type AppProcess,
  freePort,
  kafkaBrokers,
  startApi,
  startWorker,
  waitFor,
} from "@weir/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ch, clickhouseSink, countRows, createTable, createTopic, kafka, produce } from "./test-support.ts";

let api: ApiProcess;
let client: WeirClient;
const workers: AppProcess[] = [];
const admin = kafka.admin();

const handler = (tag: string) => `
export function handler(data: { id: number }, log) {
  if (data.id % 500 === 0) log.info("progress", { id: data.id });
  return { id: data.id, v: "${tag}" };
}
`;

async function pipeline(topic: string, table: string, tag = "v1") {
  const p = await client.createPipeline({
    name: `wk-${topic}`.replaceAll("_", "-"),
    source: { type: "kafka", config: { bootstrap_servers: kafkaBrokers().join(","), topic } },
    sink: clickhouseSink(table),
    retry: { max_attempts: 20, initial_backoff_ms: 50, max_backoff_ms: 1000 },
  });
  await client.uploadHandler(p.id, handler(tag));
  return p;
}

/** Every live worker reports `state` for the pipeline's current revision. */
async function settled(id: string, state: string): Promise<boolean> {
  const s = await client.getPipelineStatus(id);
  return s.workers.length > 0 && s.workers.every((w) => w.revision === s.revision && w.state === state);
}

async function committed(groupId: string, topic: string): Promise<number> {
  const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
  return offsets[0]!.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
}

function worker(env: Record<string, string> = {}): AppProcess {
  const w = startWorker(api, env);
  workers.push(w);
  return w;
}

beforeAll(async () => {
  api = await startApi();
  client = new WeirClient({ baseUrl: api.url, token: api.adminToken });
  await admin.connect();
});

// A test that failed half way must not leave its worker consuming the next test's pipelines.
afterEach(async () => {
  await Promise.allSettled(workers.splice(0).map((w) => w.kill("SIGKILL")));
});

afterAll(async () => {
  await Promise.allSettled(workers.map((w) => w.kill("SIGKILL")));
  await api?.kill("SIGTERM");
  await admin.disconnect();
  await ch.close();
});

describe("worker process", () => {
  it("loses nothing when killed with SIGKILL mid-stream and restarted", async () => {
    const topic = await createTopic(2);
    const table = await createTable();
    const p = await pipeline(topic, table);
    const total = 6000;
    // A stream of about 10 s; each kill lands while rows are flowing (or the backlog drains).
    const producing = (async () => {
      for (let i = 0; i < total; i += 200) {
        await produce(
          topic,
          Array.from({ length: 200 }, (_, j) => ({ id: i + j })),
          2,
        );
        await new Promise((r) => setTimeout(r, 300));
      }
    })();
    let w = worker();
    let kills = 0;
    for (let kill = 0; kill < 2; kill++) {
      const before = (await countRows(table)).rows;
      const moved = await waitFor(
        async () => {
          const c = await countRows(table);
          return c.rows > before + 200 ? "moved" : c.distinct >= total ? "done" : null;
        },
        { what: "progress before a kill", timeoutMs: 60_000 },
      );
      if (moved === "done") break;
      await w.kill("SIGKILL");
      kills++;
      w = worker();
    }
    expect(kills).toBeGreaterThanOrEqual(1);
    await producing;
    await waitFor(async () => (await countRows(table)).distinct === total, {
      what: `${total} distinct ids`,
      timeoutMs: 90_000,
    });
    await waitFor(async () => (await committed(`weir-${p.id}`, topic)) === total, {
      what: "all offsets committed",
    });
    const { rows, distinct } = await countRows(table);
    expect(distinct).toBe(total);
    // A kill between an insert and its commit replays that batch: duplicates are possible, loss is not.
    expect(rows).toBeGreaterThanOrEqual(total);
    await w.kill("SIGTERM");
  });

  it("applies a new handler version, pause, resume and delete without losing or repeating a message", async () => {
    const topic = await createTopic(2);
    const table = await createTable();
    const p = await pipeline(topic, table, "v1");
    const metricsPort = await freePort();
    const w = worker({ WEIR_WORKER_METRICS_PORT: String(metricsPort) });
    await produce(
      topic,
      Array.from({ length: 1000 }, (_, i) => ({ id: i })),
      2,
    );
    await waitFor(async () => (await countRows(table)).rows === 1000, { what: "first 1000 rows" });

    await client.uploadHandler(p.id, handler("v2"));
    await waitFor(() => settled(p.id, "running"), { what: "v2 running" });
    await produce(
      topic,
      Array.from({ length: 1000 }, (_, i) => ({ id: 1000 + i })),
      2,
    );
    await waitFor(async () => (await countRows(table)).rows === 2000, { what: "2000 rows" });

    await client.pausePipeline(p.id);
    await waitFor(() => settled(p.id, "paused"), { what: "paused on every worker" });
    await produce(
      topic,
      Array.from({ length: 500 }, (_, i) => ({ id: 2000 + i })),
      2,
    );
    await new Promise((r) => setTimeout(r, 1500));
    expect((await countRows(table)).rows).toBe(2000);

    await client.resumePipeline(p.id);
    await waitFor(async () => (await countRows(table)).rows === 2500, { what: "rows after resume" });
    expect(await countRows(table)).toEqual({ rows: 2500, distinct: 2500 });
    const tags = await (
      await ch.query({
        query: `SELECT v, min(id) AS lo, max(id) AS hi FROM ${table} GROUP BY v ORDER BY v`,
        format: "JSONEachRow",
      })
    ).json<{ v: string; lo: string; hi: string }>();
    expect(tags.map((t) => t.v)).toEqual(["v1", "v2"]);
    expect(Number(tags[0]!.hi)).toBeLessThan(1000);
    expect(Number(tags[1]!.lo)).toBeGreaterThanOrEqual(1000);

    const logs = await client.getLogs(p.id, { limit: 100 });
    expect(
      logs.items.some((l) => l.message === "progress" && l.offset !== undefined && l.offset !== null),
    ).toBe(true);
    // Cells report to the supervisor, and the supervisor to the API, on intervals: wait a report.
    await waitFor(async () => (await client.getPipelineStatus(p.id)).lag.length > 0, {
      what: "per-partition lag in the status",
    });
    const metrics = await waitFor(
      async () => {
        const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
        return text.includes(`weir_rows_out_total{pipeline="${p.id}"} 2500`) ? text : null;
      },
      { what: "rows_out 2500 in the worker's /metrics", timeoutMs: 10_000 },
    );
    expect(metrics).toMatch(/weir_sink_write_seconds_bucket/);

    await client.deletePipeline(p.id);
    await waitFor(
      async () => {
        const groups = await admin.describeGroups([`weir-${p.id}`]);
        return groups.groups[0]?.members.length === 0;
      },
      { what: "the worker to leave the deleted pipeline's group" },
    );
    await produce(topic, [{ id: 9999 }]);
    await new Promise((r) => setTimeout(r, 1000));
    expect((await countRows(table)).rows).toBe(2500);

    expect(w.output()).not.toMatch(/"level":(50|60)/);
    await w.kill("SIGTERM");
  });

  it("drains on SIGTERM: flushes, commits, leaves the group and exits 0", async () => {
    const topic = await createTopic(1);
    const table = await createTable();
    const p = await pipeline(topic, table);
    await client.updatePipeline(p.id, {
      name: p.name,
      source: { type: "kafka", config: { bootstrap_servers: kafkaBrokers().join(","), topic } },
      // A long wait: only the drain on SIGTERM can flush the last batch in time.
      sink: clickhouseSink(table, { max_batch_wait_ms: 60_000 }),
    });
    const w = worker();
    await produce(
      topic,
      Array.from({ length: 700 }, (_, i) => ({ id: i })),
    );
    await waitFor(async () => (await client.getPipelineStatus(p.id)).counters.messages_in === 700, {
      what: "700 consumed",
    });
    expect((await countRows(table)).rows).toBe(0);
    expect(await w.kill("SIGTERM")).toBe(0);
    expect(await countRows(table)).toEqual({ rows: 700, distinct: 700 });
    expect(await committed(`weir-${p.id}`, topic)).toBe(700);
    const groups = await admin.describeGroups([`weir-${p.id}`]);
    expect(groups.groups[0]?.members).toEqual([]);
  });
});
