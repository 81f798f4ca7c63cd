/**
 * The pipeline runner for embedding outside the worker process (the benchmark runs one in-process
 * with a hook on each flush). Exposed as `@weir/worker/runner`; main.ts remains the deployable.
 */
export { LogShipper, type PostLogs } from "./logs.ts";
export { WorkerMetrics } from "./metrics.ts";
export { type FlushedBatch, PipelineRunner, type RunnerDeps } from "./runner.ts";
