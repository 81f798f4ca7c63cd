/**
 * Worker entry point: the supervisor process. It parses the environment, serves /metrics and
 * /healthz, runs the supervisor (which forks the cells that run pipelines), and on SIGTERM or
 * SIGINT drains the cells with a deadline, kills what remains and exits within 30 s.
 */
import { createServer } from "node:http";
import { WeirClient } from "@weir/sdk";
import { pino } from "pino";
import { probeCgroup } from "./cgroup.ts";
import { parseEnv } from "./env.ts";
import { LogShipper } from "./logs.ts";
import { type ApiLink, Supervisor, supervisorOptions } from "./supervisor.ts";
import { SupervisorMetrics } from "./supervisor-metrics.ts";

const env = parseEnv(process.env);
const log = pino({ level: env.WEIR_LOG_LEVEL, base: { worker: env.WEIR_WORKER_ID } });
const client = new WeirClient({ baseUrl: env.WEIR_API_URL, token: env.WEIR_WORKER_TOKEN });
/** The egress lists of the last full desired state (JSON), to notice a new policy at an unchanged revision. */
let egressSeen: string | undefined;
/** The API's fingerprint of this worker's pipelines in the last full answer (see the desired-state route). */
let etag: string | undefined;
const at = () => ({ workerId: env.WEIR_WORKER_ID, ...(etag !== undefined ? { etag } : {}) });
const api: ApiLink = {
  desiredState: async (since) => {
    let r = await client.desiredState(since ?? undefined, env.WEIR_WORKER_POOL, at());
    // The API restarted with another egress policy: same revision, so ask for everything again.
    if (!r.changed && r.egress && JSON.stringify(r.egress) !== egressSeen)
      r = await client.desiredState(undefined, env.WEIR_WORKER_POOL, { workerId: env.WEIR_WORKER_ID });
    if (!r.changed) return r.revision === since ? null : { unchanged: r.revision };
    etag = r.etag;
    egressSeen = JSON.stringify(r.egress);
    return { revision: r.revision, pipelines: r.pipelines, egress: r.egress };
  },
  postStatus: (report) => client.sendStatus(report),
  leave: () => client.leave(env.WEIR_WORKER_ID),
  postLogs: async (batch) => {
    await client.sendLogs(batch);
  },
};
const logs = new LogShipper(
  env.WEIR_WORKER_ID,
  api.postLogs,
  env.WEIR_WORKER_LOG_BUFFER,
  env.WEIR_WORKER_LOG_FLUSH_MS,
  (err) => log.warn({ err }, "log shipping failed; lines kept in the bounded buffer"),
);
const cgroup = probeCgroup();
if (!cgroup.enabled) log.info({ reason: cgroup.reason }, "cells run without cgroup limits (niceness only)");
const metrics = new SupervisorMetrics();
const supervisor = new Supervisor(api, logs, metrics, supervisorOptions(env, cgroup), log);

const server = createServer((req, res) => {
  if (req.url === "/metrics") {
    metrics
      .expose(supervisor.cellMetrics())
      .then(({ body, type }) => {
        res.writeHead(200, { "content-type": type });
        res.end(body);
      })
      .catch(() => res.writeHead(500).end());
    return;
  }
  if (req.url === "/healthz") {
    res
      .writeHead(200, { "content-type": "application/json" })
      .end(JSON.stringify({ ok: true, ...supervisor.health() }));
    return;
  }
  res.writeHead(404).end();
});
if (env.WEIR_WORKER_METRICS_PORT >= 0) {
  server.listen(env.WEIR_WORKER_METRICS_PORT, "127.0.0.1", () => {
    const addr = server.address();
    log.info({ port: typeof addr === "object" && addr ? addr.port : null }, "worker metrics listening");
  });
}

logs.start();
supervisor.start();
log.info(
  {
    api: env.WEIR_API_URL,
    cell_size: env.WEIR_WORKER_CELL_SIZE,
    cell_nice: env.WEIR_WORKER_CELL_NICE,
    cordon_nice: env.WEIR_WORKER_CORDON_NICE,
    cgroup: cgroup.enabled ? cgroup.base : `off: ${cgroup.reason}`,
  },
  "worker started",
);

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, "draining cells");
  // Whatever happens below (a hung API, a cell that ignores everything), the worker is gone in 30 s.
  setTimeout(() => process.exit(1), 29_000).unref();
  await supervisor.stop();
  server.close();
  log.info("worker stopped");
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
