/**
 * Child process: one Weir pipeline runner (the worker's own PipelineRunner, sandbox and ClickHouse
 * sink) running functions/otel-traces, measured through the runner's flush hook.
 */
import { parsePipelineSpec } from "@weir/core";
import { compileHandler } from "@weir/sandbox";
import { LogShipper, PipelineRunner, WorkerMetrics } from "@weir/worker/runner";
import { pino } from "pino";
import { handlerSource } from "../handler.ts";
import { runChild } from "./harness.ts";

await runChild(async (opts, rec) => {
  const compiled = await compileHandler(handlerSource(), { filename: "otel-traces.ts" });
  if (!compiled.ok) throw new Error(`handler does not compile: ${JSON.stringify(compiled.diagnostics)}`);
  const parsed = parsePipelineSpec({
    name: "bench",
    source: {
      type: "kafka",
      config: {
        bootstrap_servers: opts.brokers.join(","),
        topic: opts.topic,
        group_id: opts.groupId,
        auto_offset_reset: "earliest",
      },
    },
    sink: {
      type: "clickhouse",
      config: {
        url: opts.clickhouseUrl,
        table: opts.table,
        max_batch_rows: opts.maxBatchRows,
        max_batch_wait_ms: opts.maxBatchWaitMs,
      },
    },
    env: { WEIR_TABLE_FLAVOR: "legacy" },
  });
  if (!parsed.ok) throw new Error(`bad spec: ${JSON.stringify(parsed.issues)}`);
  const logs = new LogShipper(
    "bench",
    async () => undefined,
    10_000,
    500,
    () => undefined,
  );
  logs.start();
  const runner = new PipelineRunner(
    {
      id: "bench",
      revision: 1,
      desired: "running",
      spec: parsed.spec,
      handler: {
        version_id: "bench-v1",
        version: 1,
        sha256: "bench",
        code: compiled.code,
        source_map: compiled.sourceMap,
      },
    },
    {
      workerId: "bench",
      logs,
      metrics: new WorkerMetrics(),
      logger: pino({ level: "silent" }),
      sandboxChunk: opts.sandboxChunk,
      sandboxIsolates: opts.isolates,
      partitionConcurrency: opts.partitionConcurrency,
      sessionTimeoutMs: 10_000,
      onFlushed: (b) =>
        rec.written(Number(b.lastOffset) - Number(b.firstOffset) + 1, b.rows, b.timestamps, b.writtenAt),
    },
  );
  rec.begin();
  runner.start();
  return {
    async stop() {
      await runner.stop();
      await logs.stop();
    },
  };
});
