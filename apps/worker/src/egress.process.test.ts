/**
 * The egress policy at the worker, with real processes, Kafka and a webhook on 127.0.0.2 (loopback
 * only): a pipeline stored before the operator denied its webhook's address is refused when the
 * worker connects (failing, EGRESS_DENIED, the webhook gets nothing more), a new policy reaches a
 * running worker through the desired state, and a fresh worker refuses at its first connect.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
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
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTopic, produce } from "./test-support.ts";

const HANDLER = "export function handler(data: { id: number }) { return { id: data.id }; }";

let server: Server;
let webhook: string;
/** Ids the webhook received, and how many requests it answered. */
const received = new Set<number>();
let requests = 0;
const procs: (ApiProcess | AppProcess)[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      requests++;
      for (const row of JSON.parse(body) as { id: number }[]) received.add(row.id);
      res.writeHead(200).end("ok");
    });
  });
  // 127.0.0.2 is loopback too (Linux routes all of 127/8 to lo): the only traffic this test sends.
  await new Promise<void>((r) => server.listen(0, "127.0.0.2", r));
  webhook = `http://127.0.0.2:${(server.address() as AddressInfo).port}/rows`;
});

afterAll(async () => {
  await Promise.allSettled(procs.map((p) => p.kill("SIGKILL")));
  server.close();
});

describe("egress policy at the worker", () => {
  it("refuses at connect a destination denied after the pipeline was stored, in running and new workers", async () => {
    const topic = await createTopic(1);
    const port = await freePort();
    let api = await startApi({ port });
    procs.push(api);
    const client = new WeirClient({ baseUrl: api.url, token: api.adminToken });
    const p = await client.createPipeline({
      name: `egress-${topic}`.replaceAll("_", "-"),
      source: { type: "kafka", config: { bootstrap_servers: kafkaBrokers().join(","), topic } },
      sink: { type: "webhook", config: { url: webhook, max_batch_wait_ms: 100 } },
      retry: { max_attempts: 20, initial_backoff_ms: 50, max_backoff_ms: 500 },
    });
    await client.uploadHandler(p.id, HANDLER);
    await produce(
      topic,
      Array.from({ length: 100 }, (_, i) => ({ id: i })),
    );

    // Control: without a policy the webhook on 127.0.0.2 gets every row.
    const first = startWorker(api, { WEIR_WORKER_ID: "egress-w1" });
    procs.push(first);
    await waitFor(() => received.size === 100, { what: "100 ids at the webhook", timeoutMs: 30_000 });

    // The operator now denies 127.0.0.2: same API address and database, the worker keeps running.
    await api.kill("SIGTERM");
    api = await startApi({
      port,
      dbPath: api.dbPath,
      adminToken: api.adminToken,
      workerToken: api.workerToken,
      env: { WEIR_EGRESS_DENY: "127.0.0.2/32" },
    });
    procs.push(api);
    const denied = (worker: string) => async () => {
      const s = await client.getPipelineStatus(p.id);
      const w = s.workers.find((x) => x.worker_id === worker);
      return w?.state === "failing" && s.last_error?.code === "EGRESS_DENIED" ? s : null;
    };
    const s = await waitFor(denied("egress-w1"), { what: "the running worker to refuse", timeoutMs: 30_000 });
    expect(s.last_error).toMatchObject({
      code: "EGRESS_DENIED",
      retryable: true,
      message: "/sink/config/url: 127.0.0.2 is denied by the egress policy (rule 127.0.0.2/32)",
      details: { path: "/sink/config/url", host: "127.0.0.2", rule: "127.0.0.2/32" },
    });
    const before = requests;
    await produce(
      topic,
      Array.from({ length: 50 }, (_, i) => ({ id: 100 + i })),
    );

    // A fresh worker refuses at its first connect too.
    await first.kill("SIGKILL");
    const second = startWorker(api, { WEIR_WORKER_ID: "egress-w2" });
    procs.push(second);
    await waitFor(denied("egress-w2"), { what: "the new worker to refuse", timeoutMs: 30_000 });
    // Its start is retried with backoff, and refused each time: nothing reaches the webhook.
    await new Promise((r) => setTimeout(r, 3000));
    expect(
      (await client.getPipelineStatus(p.id)).workers.find((w) => w.worker_id === "egress-w2")?.state,
    ).toBe("failing");
    expect(requests).toBe(before);
    expect(received.size).toBe(100);
    const logs = await client.getLogs(p.id, { limit: 1000 });
    expect(logs.items.some((l) => /denied by the egress policy/.test(l.message))).toBe(true);

    // Updating the pipeline with the same webhook is refused by the API's static check.
    const view = await client.getPipeline(p.id);
    await expect(
      client.updatePipeline(p.id, {
        name: view.name,
        source: view.spec.source,
        sink: view.spec.sink,
        retry: view.spec.retry,
      }),
    ).rejects.toMatchObject({
      code: "VALIDATION",
      details: { status: 400, issues: [{ path: "/sink/config/url" }] },
    });
  }, 150_000);
});
