/**
 * A cell: a child process of the worker's supervisor that runs the pipelines assigned to it
 * (Kafka -> sandbox -> sink -> commit). It talks to nothing but its parent over IPC and Kafka/sinks:
 * desired state and poison entries come in; reports, log records and metrics go out. If the
 * parent goes away the cell kills itself (a wedged isolate thread can stall a normal exit).
 */
import { preloadRuntime } from "@weir/sandbox";
import { pino } from "pino";
import { parseEnv } from "../env.ts";
import { LogShipper } from "../logs.ts";
import { WorkerMetrics } from "../metrics.ts";
import { CellHost } from "./host.ts";
import type { FromCell, ToCell } from "./protocol.ts";

const env = parseEnv(process.env);
const cellId = process.env.WEIR_CELL_ID ?? "cell";
const log = pino({ level: env.WEIR_LOG_LEVEL, base: { worker: env.WEIR_WORKER_ID, cell: cellId } });

function send(msg: FromCell): Promise<void> {
  return new Promise((ok, fail) => {
    if (!process.send || !process.connected) return fail(new Error("supervisor gone"));
    process.send(msg, undefined, {}, (err) => (err ? fail(err) : ok()));
  });
}

function die(): never {
  process.kill(process.pid, "SIGKILL");
  throw new Error("unreachable");
}

const metrics = new WorkerMetrics();
const logs = new LogShipper(
  env.WEIR_WORKER_ID,
  (b) => send({ type: "logs", pipeline: b.pipeline_id, records: b.records, dropped: b.dropped }),
  env.WEIR_WORKER_LOG_BUFFER,
  Math.min(env.WEIR_WORKER_LOG_FLUSH_MS, 200),
  () => undefined,
);
const host = new CellHost(
  {
    workerId: env.WEIR_WORKER_ID,
    logs,
    metrics,
    logger: log,
    sandboxChunk: env.WEIR_WORKER_SANDBOX_CHUNK,
    sandboxChunkBytes: env.WEIR_WORKER_SANDBOX_CHUNK_BYTES,
    sandboxIsolates: env.WEIR_WORKER_ISOLATES,
    partitionConcurrency: env.WEIR_WORKER_PARTITION_CONCURRENCY,
    sessionTimeoutMs: env.WEIR_WORKER_SESSION_TIMEOUT_MS,
    fetchWaitMs: env.WEIR_WORKER_FETCH_WAIT_MS,
    idleUnloadMs: env.WEIR_WORKER_IDLE_UNLOAD_MS,
  },
  log,
);

let reports = 0;
let lastMetrics: Awaited<ReturnType<typeof metrics.registry.getMetricsAsJSON>> | undefined;
/** The metrics (the heaviest part of a report) every 8th report: the supervisor only serves them to scrapes. */
async function metricsEvery8th() {
  if (reports++ % 8 === 0 || !lastMetrics) lastMetrics = await metrics.registry.getMetricsAsJSON();
  return lastMetrics;
}
async function report(): Promise<void> {
  await send({
    type: "report",
    pipelines: host.reports(),
    inflight: host.inflight(),
    progress: host.progress(),
    changes: host.changes(),
    members: host.members(),
    metrics: await metricsEvery8th(),
  }).catch(() => undefined);
}

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  clearInterval(timer);
  await host.stop();
  await report();
  await logs.stop();
  await send({ type: "stopped" }).catch(() => undefined);
  process.exit(0);
}

process.on("message", (msg: ToCell) => {
  if (msg.type === "desired" && !stopping) host.apply(msg.pipelines, msg.poison, msg.evict, msg.egress);
  else if (msg.type === "stop") void stop();
});
process.on("disconnect", die);
// The supervisor decides when a cell ends: signals from a terminal's process group are ignored.
process.on("SIGINT", () => undefined);
process.on("SIGTERM", () => void stop());

logs.start();
// The isolate runtime is bundled once here; esbuild's service process is not kept (cells never compile).
preloadRuntime().catch((err: unknown) =>
  log.warn({ err }, "runtime bundle preload failed; bundling on first use"),
);
const timer = setInterval(() => void report(), env.WEIR_WORKER_CELL_REPORT_MS);
void report();
