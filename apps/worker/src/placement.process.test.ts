/**
 * Placement with real processes: an API, three workers and Kafka. Each one-partition pipeline runs
 * on exactly one worker; a SIGKILLed worker's pipelines move to the others within 30 s and lose
 * nothing; a joining worker takes a share (its pipelines stop on their old worker and start on it)
 * and still nothing is lost; a six-partition pipeline runs on every live worker ("auto" replicas).
 */
import { WeirClient } from "@weir/sdk";
import {
  type ApiProcess,
  type AppProcess,
  kafkaBrokers,
  startApi,
  startWorker,
  waitFor,
} from "@weir/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ch, clickhouseSink, countRows, createTable, createTopic, produce } from "./test-support.ts";

let api: ApiProcess;
let client: WeirClient;
const workers = new Map<string, AppProcess>();

const HANDLER = "export function handler(data: { id: number }) { return { id: data.id, v: 'p' }; }";

function worker(id: string): AppProcess {
  const w = startWorker(api, { WEIR_WORKER_ID: id, WEIR_WORKER_SESSION_TIMEOUT_MS: "6000" });
  workers.set(id, w);
  return w;
}

beforeAll(async () => {
  api = await startApi({ env: { WEIR_PLACEMENT_DEAD_MS: "3000", WEIR_PLACEMENT_TICK_MS: "250" } });
  client = new WeirClient({ baseUrl: api.url, token: api.adminToken });
});
afterAll(async () => {
  await Promise.allSettled([...workers.values()].map((w) => w.kill("SIGKILL")));
  await api?.kill();
  await ch.close();
});

const ids = (n: number, from: number) => Array.from({ length: n }, (_, i) => ({ id: from + i }));

/** The pipeline's placed workers, once every placed worker reports it running on its current revision. */
async function runningOn(id: string): Promise<string[] | false> {
  const s = await client.getPipelineStatus(id);
  const placed = (s.placement?.workers ?? []).map((w) => w.worker_id).sort();
  const reporting = s.workers
    .filter((w) => w.state === "running" && w.revision === s.revision)
    .map((w) => w.worker_id);
  return placed.length > 0 && placed.every((w) => reporting.includes(w)) ? placed : false;
}

it("runs each pipeline on one worker, moves a killed worker's share within 30 s and a share to a joiner, losing nothing", async () => {
  for (const id of ["pw-a", "pw-b", "pw-c"]) worker(id);
  await waitFor(async () => (await client.listWorkers()).items.filter((w) => w.live).length === 3, {
    what: "three live workers",
    timeoutMs: 60_000,
  });
  const pipes: { id: string; topic: string; table: string; sent: number }[] = [];
  for (let i = 0; i < 6; i++) {
    const topic = await createTopic(1);
    const table = await createTable();
    const p = await client.createPipeline({
      name: `placed-${i}-${topic}`.replaceAll("_", "-"),
      source: { type: "kafka", config: { bootstrap_servers: kafkaBrokers().join(","), topic } },
      sink: clickhouseSink(table),
    });
    await client.uploadHandler(p.id, HANDLER);
    pipes.push({ id: p.id, topic, table, sent: 0 });
  }
  const sendAll = async (n: number) => {
    for (const p of pipes) {
      await produce(p.topic, ids(n, p.sent));
      p.sent += n;
    }
  };
  const landed = () =>
    waitFor(
      async () => {
        for (const p of pipes) if ((await countRows(p.table)).distinct < p.sent) return false;
        return true;
      },
      { what: "every message landed", timeoutMs: 90_000 },
    );

  const owners = new Map<string, string>();
  await waitFor(
    async () => {
      for (const p of pipes) {
        const on = await runningOn(p.id);
        if (!on) return false;
        owners.set(p.id, on.join(","));
      }
      return true;
    },
    { what: "every pipeline running on its worker", timeoutMs: 90_000 },
  );
  // One worker each, and the three workers share them.
  for (const o of owners.values()) expect(o).not.toContain(",");
  expect(new Set(owners.values()).size).toBeGreaterThan(1);
  await sendAll(200);
  await landed();

  // SIGKILL the worker with the most pipelines: they move, and the rest stay where they were.
  const count = (w: string) => [...owners.values()].filter((o) => o === w).length;
  const victim = ["pw-a", "pw-b", "pw-c"].sort((a, b) => count(b) - count(a))[0]!;
  const victims = pipes.filter((p) => owners.get(p.id) === victim);
  await workers.get(victim)!.kill("SIGKILL");
  const killedAt = Date.now();
  await sendAll(200);
  await waitFor(
    async () => {
      for (const p of victims) {
        const on = await runningOn(p.id);
        if (!on || on.includes(victim)) return false;
      }
      return true;
    },
    { what: "the killed worker's pipelines running elsewhere", timeoutMs: 30_000 },
  );
  const movedMs = Date.now() - killedAt;
  for (const p of pipes.filter((x) => !victims.includes(x)))
    expect((await client.getPipelineStatus(p.id)).placement!.workers.map((w) => w.worker_id)).toEqual([
      owners.get(p.id),
    ]);
  const moved = await client.getPipelineStatus(victims[0]!.id);
  expect(moved.placement!.history[0]!.reason).toContain(`${victim} stopped heartbeating`);
  await landed();

  // A new worker joins: whatever moves, moves to it; nothing is lost on the way.
  worker("pw-d");
  await waitFor(
    async () => (await client.listWorkers()).items.find((w) => w.id === "pw-d")?.pipelines !== undefined,
    {
      what: "pw-d known",
    },
  );
  await sendAll(200);
  await waitFor(
    async () => {
      for (const p of pipes) if (!(await runningOn(p.id))) return false;
      return true;
    },
    { what: "every pipeline running after the join", timeoutMs: 60_000 },
  );
  await sendAll(100);
  await landed();
  const live = (await client.listWorkers()).items.filter((w) => w.live);
  expect(live.map((w) => w.id).sort()).toEqual(["pw-a", "pw-b", "pw-c", "pw-d"].filter((w) => w !== victim));
  for (const p of pipes) {
    const s = await client.getPipelineStatus(p.id);
    expect(s.placement!.workers).toHaveLength(1);
    const c = await countRows(p.table);
    expect(c.distinct).toBe(p.sent); // nothing lost (a kill may repeat a batch: at-least-once)
  }
  console.log(
    `placement: killed ${victim} (${victims.length} pipelines) -> running elsewhere in ${movedMs} ms`,
  );
  expect(movedMs).toBeLessThan(30_000);
});

it("runs a six-partition pipeline on every live worker and spreads its partitions", async () => {
  const topic = await createTopic(6);
  const table = await createTable();
  const p = await client.createPipeline({
    name: `placed-wide-${topic}`.replaceAll("_", "-"),
    source: { type: "kafka", config: { bootstrap_servers: kafkaBrokers().join(","), topic } },
    sink: clickhouseSink(table),
  });
  await client.uploadHandler(p.id, HANDLER);
  const live = (await client.listWorkers()).items.filter((w) => w.live).length;
  await waitFor(
    async () => {
      const s = await client.getPipelineStatus(p.id);
      return s.placement!.partitions === 6 && (await runningOn(p.id)) && s.placement!.workers.length === live;
    },
    { what: "the pipeline on every live worker", timeoutMs: 60_000 },
  );
  await produce(topic, ids(600, 0), 6);
  await waitFor(async () => (await countRows(table)).distinct === 600, {
    what: "600 rows",
    timeoutMs: 60_000,
  });
  // The workers' reports cover the six partitions between them, each partition from one worker.
  const s = await waitFor(
    async () => {
      const st = await client.getPipelineStatus(p.id);
      return st.lag.length === 6 && st.lag.every((l) => l.lag === 0) ? st : null;
    },
    { what: "lag of all six partitions reported", timeoutMs: 30_000 },
  );
  expect(s.lag.map((l) => l.partition)).toEqual([0, 1, 2, 3, 4, 5]);
  expect(s.placement!.history.at(-1)!.reason).toMatch(/^placed on /);
  expect(s.placement!.history[0]!.reason).toMatch(/replicas 1 -> \d/);
});
