/**
 * The pipeline runner for embedding outside the worker process (the benchmark runs one in-process
 * with a hook on each flush). Exposed as `@weir/worker/runner`; main.ts remains the deployable.
 */
export { LogShipper, type PostLogs } from "./logs.js";
export { WorkerMetrics } from "./metrics.js";
export { type FlushedBatch, PipelineRunner, type RunnerDeps } from "./runner.js";
