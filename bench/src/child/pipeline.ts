/**
 * The benchmark's one pipeline, as the worker receives it from the API (a `DesiredPipeline`):
 * functions/otel-traces bundled and compiled as an upload is (`compiledHandler`), Kafka source
 * with the run's `format` (otlp_json, or otlp_proto: decoded in the isolate), ClickHouse sink with
 * the bench's batch limits, `WEIR_TABLE_FLAVOR=legacy`. The in-process child (weir.ts) and the
 * supervised one (weir-cell.ts) run exactly this.
 */
import { type DesiredPipeline, parsePipelineSpec } from "@weir/core";
import { compiledHandler } from "../handler.ts";
import type { ChildOptions } from "./harness.ts";

export async function benchPipeline(opts: ChildOptions): Promise<DesiredPipeline> {
  const compiled = await compiledHandler();
  const parsed = parsePipelineSpec({
    name: "bench",
    source: {
      type: "kafka",
      config: {
        bootstrap_servers: opts.brokers.join(","),
        topic: opts.topic,
        group_id: opts.groupId,
        auto_offset_reset: "earliest",
        format: opts.format ?? "otlp_json",
      },
    },
    sink: {
      type: "clickhouse",
      config: {
        url: opts.clickhouseUrl,
        table: opts.table,
        max_batch_rows: opts.maxBatchRows,
        max_batch_wait_ms: opts.maxBatchWaitMs,
        // The sink's insert format (default auto: RowBinary on the legacy table), to compare formats.
        ...(process.env.WEIR_BENCH_CLICKHOUSE_FORMAT
          ? { format: process.env.WEIR_BENCH_CLICKHOUSE_FORMAT }
          : {}),
      },
    },
    env: { WEIR_TABLE_FLAVOR: "legacy" },
  });
  if (!parsed.ok) throw new Error(`bad spec: ${JSON.stringify(parsed.issues)}`);
  return {
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
  };
}
