/**
 * Cells that die under a message, on real processes: a handler that never yields is ended and
 * dead-lettered with HANDLER_TIMEOUT and its pipeline deleted while it spins; a message during which
 * the cell dies WEIR_WORKER_MAX_CRASHES times goes to the DLQ with HANDLER_CRASH and the signal, and
 * the pipeline moves on: once with the cell killed from outside (SIGABRT, while a slow message runs),
 * once with a handler that aborts V8 itself (hostile.v8Abort: the cell dies on its own).
 */
import { WeirClient } from "@weir/sdk";
import { type ApiProcess, kafkaBrokers, startApi, startWorker, uniqueName, waitFor } from "@weir/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ch, clickhouseSink, countRows, createTable, createTopic, kafka, produce } from "./test-support.ts";

let api: ApiProcess;
let client: WeirClient;
const admin = kafka.admin();

beforeAll(async () => {
  api = await startApi();
  client = new WeirClient({ baseUrl: api.url, token: api.adminToken });
  await admin.connect();
});
afterAll(async () => {
  await api?.kill("SIGTERM");
  await admin.disconnect();
  await ch.close();
});

const ENV = {
  WEIR_WORKER_KILL_GRACE_MS: "1000",
  WEIR_WORKER_CONTROL_MS: "4000",
  WEIR_WORKER_SESSION_TIMEOUT_MS: "6000",
  WEIR_WORKER_MAX_CRASHES: "3",
  WEIR_LOG_LEVEL: "info",
};

async function pipeline(topic: string, table: string, code: string, timeoutMs: number) {
  const p = await client.createPipeline({
    name: uniqueName("crash").replaceAll("_", "-"),
    source: { type: "kafka", config: { bootstrap_servers: kafkaBrokers().join(","), topic } },
    sink: clickhouseSink(table),
    limits: { timeout_ms: timeoutMs },
  });
  await client.uploadHandler(p.id, code);
  return p;
}

interface Health {
  cells: { id: string; pid: number; inflight: number; pipelines: string[] }[];
}
async function health(output: string): Promise<Health> {
  const m = /"port":(\d+),"msg":"worker metrics listening"/.exec(output);
  if (!m) return { cells: [] }; // not listening yet
  return (await (await fetch(`http://127.0.0.1:${m[1]}/healthz`)).json()) as Health;
}

it("dead-letters a never-yielding handler's messages and deletes its pipeline while it spins", async () => {
  const topic = await createTopic(1);
  const table = await createTable();
  const p = await pipeline(
    topic,
    table,
    "export function handler(d: { id: number }) { if (d.id < 0) while (true) {} return { id: d.id, v: '' }; }",
    500,
  );
  const w = startWorker(api, { ...ENV, WEIR_WORKER_METRICS_PORT: "0" });
  await produce(topic, [{ id: -1 }, { id: 1 }, { id: -2 }, { id: 2 }]);
  await waitFor(async () => (await countRows(table)).rows === 2, {
    what: "the two good rows",
    timeoutMs: 60_000,
  });
  const dlq = (await client.listDlq(p.id, { limit: 10 })).items;
  expect(dlq.map((r) => [r.source.offset, r.error.code])).toEqual([
    ["0", "HANDLER_TIMEOUT"],
    ["2", "HANDLER_TIMEOUT"],
  ]);
  await produce(topic, [{ id: -3 }, { id: -4 }, { id: -5 }]);
  await new Promise((r) => setTimeout(r, 700));
  const t0 = Date.now();
  await client.deletePipeline(p.id);
  await waitFor(async () => (await admin.describeGroups([`weir-${p.id}`])).groups[0]?.members.length === 0, {
    what: "the group left after delete",
    timeoutMs: 30_000,
  });
  const deleteMs = Date.now() - t0;
  console.log({ deleteMs });
  // Control bound (4 s) + start-up on a busy box; no Kafka session timeout: the killed cell's group
  // member is evicted (measured 1.1 s).
  expect(deleteMs).toBeLessThan(4000 + 6000);
  expect(await w.kill("SIGTERM")).toBe(0);
}, 90_000);

it("dead-letters with HANDLER_CRASH a message during which the cell dies three times", async () => {
  const topic = await createTopic(1);
  const table = await createTable();
  // About 4 s per message: long enough to kill the cell while it runs.
  const slow =
    "export function handler(d: { id: number }) { const t = Date.now(); while (Date.now() - t < 4000) {} return { id: d.id, v: '' }; }";
  const p = await pipeline(topic, table, slow, 6000);
  const w = startWorker(api, { ...ENV, WEIR_WORKER_METRICS_PORT: "0" });
  await produce(topic, [{ id: 1 }]);
  for (let kill = 0; kill < 3; kill++) {
    const cell = await waitFor(
      async () =>
        (await health(w.output())).cells.find((c) => c.pipelines.includes(p.id) && c.inflight > 0) ?? null,
      { what: `message in flight (kill ${kill + 1})`, timeoutMs: 40_000, intervalMs: 100 },
    );
    process.kill(cell.pid, "SIGABRT");
    await waitFor(async () => !(await health(w.output())).cells.some((c) => c.pid === cell.pid), {
      what: "cell gone",
    });
  }
  const dlq = await waitFor(
    async () => {
      const items = (await client.listDlq(p.id, { limit: 10 })).items;
      return items.length > 0 ? items : null;
    },
    { what: "the crash record", timeoutMs: 40_000 },
  );
  expect(dlq).toHaveLength(1);
  expect(dlq[0]!.stage).toBe("handler");
  expect(dlq[0]!.error.code).toBe("HANDLER_CRASH");
  expect(dlq[0]!.error.message).toMatch(/3 time\(s\).*SIGABRT/);
  await produce(topic, [{ id: 2 }]);
  await waitFor(async () => (await countRows(table)).rows === 1, {
    what: "the next message's row",
    timeoutMs: 40_000,
  });
  expect(await w.kill("SIGTERM")).toBe(0);
}, 120_000);

it("dead-letters with HANDLER_CRASH a message whose handler aborts V8 three times; the next message runs", async () => {
  const topic = await createTopic(1);
  const table = await createTable();
  // hostile.v8Abort for negative ids: V8 prints a fatal "invalid size error" and the cell dies by
  // itself (no signal from here), whatever the isolate's memory limit.
  const abort = `export function handler(d: { id: number }): any {
    if (d.id < 0) return { n: new Array(2 ** 28 + 1).join("x").split("").length };
    return { id: d.id, v: "" };
  }`;
  const p = await pipeline(topic, table, abort, 5000);
  const w = startWorker(api, { ...ENV, WEIR_WORKER_METRICS_PORT: "0" });
  const t0 = Date.now();
  await produce(topic, [{ id: -1 }, { id: 1 }]);
  await waitFor(async () => (await countRows(table)).rows === 1, {
    what: "the good message's row after the crashes",
    timeoutMs: 60_000,
  });
  const crashMs = Date.now() - t0;
  const dlq = (await client.listDlq(p.id, { limit: 10 })).items;
  expect(dlq.map((r) => [r.source.offset, r.stage, r.error.code])).toEqual([
    ["0", "handler", "HANDLER_CRASH"],
  ]);
  expect(dlq[0]!.error.message).toMatch(/3 time\(s\) .*\(last: (signal SIG[A-Z]+|exit code \d+)\)/);
  const status = await client.getPipelineStatus(p.id);
  expect(status.workers[0]?.state).not.toBe("stalled");
  console.log({ crashMs, last: dlq[0]!.error.message });
  expect(await w.kill("SIGTERM")).toBe(0);
}, 120_000);
