/**
 * Worker entry point: parse the environment, serve /metrics, run the supervisor, and on SIGTERM or
 * SIGINT drain every pipeline (flush, commit, leave the group) before exiting.
 */
import { createServer } from "node:http";
import { WeirClient } from "@weir/sdk";
import { pino } from "pino";
import { parseEnv } from "./env.ts";
import { LogShipper } from "./logs.ts";
import { WorkerMetrics } from "./metrics.ts";
import { type ApiLink, Supervisor } from "./supervisor.ts";

const env = parseEnv(process.env);
const log = pino({ level: env.WEIR_LOG_LEVEL, base: { worker: env.WEIR_WORKER_ID } });
const client = new WeirClient({ baseUrl: env.WEIR_API_URL, token: env.WEIR_WORKER_TOKEN });
const api: ApiLink = {
  desiredState: async (since) => {
    const r = await client.desiredState(since ?? undefined);
    return r.changed ? { revision: r.revision, pipelines: r.pipelines } : null;
  },
  postStatus: (report) => client.sendStatus(report),
  postLogs: async (batch) => {
    await client.sendLogs(batch);
  },
};
const metrics = new WorkerMetrics();
const logs = new LogShipper(
  env.WEIR_WORKER_ID,
  api.postLogs,
  env.WEIR_WORKER_LOG_BUFFER,
  env.WEIR_WORKER_LOG_FLUSH_MS,
  (err) => log.warn({ err }, "log shipping failed; lines kept in the bounded buffer"),
);
const supervisor = new Supervisor(
  api,
  {
    workerId: env.WEIR_WORKER_ID,
    logs,
    metrics,
    logger: log,
    sandboxChunk: env.WEIR_WORKER_SANDBOX_CHUNK,
    sandboxIsolates: env.WEIR_WORKER_ISOLATES,
    partitionConcurrency: env.WEIR_WORKER_PARTITION_CONCURRENCY,
    sessionTimeoutMs: env.WEIR_WORKER_SESSION_TIMEOUT_MS,
  },
  env.WEIR_WORKER_POLL_MS,
  env.WEIR_WORKER_REPORT_MS,
  log,
);

const server = createServer((req, res) => {
  if (req.url === "/metrics") {
    metrics.registry
      .metrics()
      .then((body) => {
        res.writeHead(200, { "content-type": metrics.registry.contentType });
        res.end(body);
      })
      .catch(() => res.writeHead(500).end());
    return;
  }
  if (req.url === "/healthz") {
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ ok: true }));
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
log.info({ api: env.WEIR_API_URL }, "worker started");

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, "draining pipelines");
  await supervisor.stop();
  server.close();
  log.info("worker stopped");
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
