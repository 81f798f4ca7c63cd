/**
 * Child process: one Weir pipeline runner (the worker's own PipelineRunner, sandbox and ClickHouse
 * sink) running functions/otel-traces, measured through the runner's flush hook.
 */
import { LogShipper, PipelineRunner, WorkerMetrics } from "@weir/worker/runner";
import { pino } from "pino";
import { runChild } from "./harness.ts";
import { benchPipeline } from "./pipeline.ts";

await runChild(async (opts, rec) => {
  const pipeline = await benchPipeline(opts);
  const logs = new LogShipper(
    "bench",
    async () => undefined,
    10_000,
    500,
    () => undefined,
  );
  logs.start();
  const runner = new PipelineRunner(pipeline, {
    workerId: "bench",
    logs,
    metrics: new WorkerMetrics(),
    logger: pino({ level: "silent" }),
    sandboxChunk: opts.sandboxChunk,
    // The worker's default (WEIR_WORKER_SANDBOX_CHUNK_BYTES, apps/worker/src/env.ts).
    sandboxChunkBytes: Number(process.env.WEIR_WORKER_SANDBOX_CHUNK_BYTES) || 8 * 1024 * 1024,
    sandboxIsolates: opts.isolates,
    partitionConcurrency: opts.partitionConcurrency,
    sessionTimeoutMs: 10_000,
    onFlushed: (b) =>
      rec.written(Number(b.lastOffset) - Number(b.firstOffset) + 1, b.rows, b.timestamps, b.writtenAt),
  });
  rec.begin();
  runner.start();
  return {
    async stop() {
      await runner.stop();
      await logs.stop();
    },
  };
});
