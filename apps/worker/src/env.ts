/**
 * The worker's configuration: one validated object, parsed once at boot from the environment.
 * Unknown or malformed values stop the worker with a message naming the variable.
 */
import { availableParallelism, hostname } from "node:os";
import { type Static, Type } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";

const Int = (def: number, min = 0) => Type.Integer({ default: def, minimum: min });

const WorkerEnv = Type.Object({
  /** Base URL of the Weir API the worker reads desired state from and reports to. */
  WEIR_API_URL: Type.String({ default: "http://127.0.0.1:8080", pattern: "^https?://" }),
  /** Bearer token for the API's /v1/worker routes (the API's WEIR_WORKER_TOKEN). */
  WEIR_WORKER_TOKEN: Type.String({ minLength: 1 }),
  /** Stable identity in reports and logs; defaults to host-pid. */
  WEIR_WORKER_ID: Type.String({ minLength: 1, default: `${hostname()}-${process.pid}` }),
  /**
   * The worker pool this worker serves. Optional: the worker token decides the pool; when set, the
   * API refuses a token bound to another pool (403) instead of silently running that pool.
   */
  WEIR_WORKER_POOL: Type.Optional(
    Type.String({ minLength: 1, maxLength: 64, pattern: "^[a-z0-9][a-z0-9-]*$" }),
  ),
  /** Port of the worker's /metrics and /healthz (0 picks a free port, -1 disables). */
  WEIR_WORKER_METRICS_PORT: Type.Integer({ default: 9464, minimum: -1, maximum: 65535 }),
  /** How often desired state is polled. */
  WEIR_WORKER_POLL_MS: Int(1000, 50),
  /** How often status, counters and lag are reported. */
  WEIR_WORKER_REPORT_MS: Int(2000, 100),
  /** How often buffered handler logs are shipped to the API. */
  WEIR_WORKER_LOG_FLUSH_MS: Int(500, 50),
  /** Upper bound of log lines buffered per pipeline while the API is unreachable; beyond it lines are dropped and counted. */
  WEIR_WORKER_LOG_BUFFER: Int(10_000, 100),
  /** Messages handed to the sandbox per call. */
  WEIR_WORKER_SANDBOX_CHUNK: Int(500, 1),
  /**
   * ...and at most this many bytes of values per call (at least one message). Each call's values are
   * copied into an isolate and live there until it returns: 500 OTLP JSON messages are ~40 MB.
   */
  WEIR_WORKER_SANDBOX_CHUNK_BYTES: Int(8 * 1024 * 1024, 1024),
  /**
   * Sandbox isolates per pipeline (each on its own thread, `memory_mb` each): partitions processed
   * at the same time run their handler batches in parallel. Capped by the partition concurrency.
   */
  WEIR_WORKER_ISOLATES: Int(2, 1),
  /** Partitions of one pipeline processed at the same time. */
  WEIR_WORKER_PARTITION_CONCURRENCY: Int(4, 1),
  /** Kafka group session timeout: how long a dead worker holds its partitions before the group moves them. */
  WEIR_WORKER_SESSION_TIMEOUT_MS: Int(10_000, 6000),
  /** How long an idle Kafka fetch waits at the broker (ms). Records return as soon as they arrive and
   * batches close on the runner's own timer, so this only trades idle CPU (one fetch per pipeline per
   * wait) against how long a stop or a rebalance waits for the fetch in flight. */
  WEIR_WORKER_FETCH_WAIT_MS: Int(2000, 50),
  /** A pipeline's handler isolates are unloaded after this long without a message (ms; 0: never) and
   * loaded again by the next one: an idle pipeline holds no isolate. */
  WEIR_WORKER_IDLE_UNLOAD_MS: Type.Integer({ default: 300_000, minimum: 0 }),
  /** Pipelines per cell (child process). Measured: see README "Process model". */
  WEIR_WORKER_CELL_SIZE: Int(8, 1),
  /** Cells at most (cordoned ones aside; default: the cores, at least 2): beyond CELL_SIZE x MAX_CELLS
   * pipelines, cells grow instead of multiplying, so many idle pipelines share a few processes (a cell
   * costs ~120 MB by itself, and more cells than cores add no throughput). */
  WEIR_WORKER_MAX_CELLS: Int(Math.max(2, availableParallelism()), 1),
  /** How often a cell reports to the supervisor (status, in-flight calls, progress, metrics). */
  WEIR_WORKER_CELL_REPORT_MS: Int(250, 50),
  /** A handler call older than timeout_ms plus this is ended by killing its cell (HANDLER_TIMEOUT). */
  WEIR_WORKER_KILL_GRACE_MS: Int(2000, 100),
  /** Cell deaths during one message before it is dead-lettered with HANDLER_CRASH. */
  WEIR_WORKER_MAX_CRASHES: Int(3, 1),
  /** A cell silent for this long is killed as hung. */
  WEIR_WORKER_CELL_HANG_MS: Int(15_000, 500),
  /** A partition with lag and no progress for this long (at least timeout_ms + grace + 1 s) is stalled. */
  WEIR_WORKER_STALL_MS: Int(30_000, 500),
  /** A start, swap, pause or delete not finished in a cell after this long restarts the cell. */
  WEIR_WORKER_CONTROL_MS: Int(15_000, 500),
  /** On SIGTERM, how long cells may drain before they are killed (the worker exits within 30 s). */
  WEIR_WORKER_DRAIN_MS: Int(20_000, 0),
  /** RSS allowed to a cell above the sum of its pipelines' memory_mb x isolates. */
  WEIR_WORKER_CELL_HEADROOM_MB: Int(384, 32),
  /**
   * RSS allowed per pipeline beyond its isolates' memory_mb: what a busy pipeline holds outside its
   * isolates' old generation (Kafka fetch buffers and their decompression, the open batch and the one
   * in delivery, the isolates' young generations). Measured: one busy otel-traces pipeline reading
   * zstd batches peaked its cell at ~800 MB, 2 MB fetches per partition (bench/README.md, "Busy worker").
   */
  WEIR_WORKER_PIPELINE_OVERHEAD_MB: Int(384, 0),
  /** Niceness of cells (the supervisor keeps 0); cordoned cells get WEIR_WORKER_CORDON_NICE. */
  WEIR_WORKER_CELL_NICE: Type.Integer({ default: 5, minimum: 0, maximum: 19 }),
  WEIR_WORKER_CORDON_NICE: Type.Integer({ default: 15, minimum: 0, maximum: 19 }),
  /** pino level for the worker's own logs. */
  WEIR_LOG_LEVEL: Type.Union(
    ["trace", "debug", "info", "warn", "error", "fatal", "silent"].map((l) => Type.Literal(l)),
    { default: "info" },
  ),
});

export type WorkerEnv = Static<typeof WorkerEnv>;

/** Parse and validate the worker's environment (pass `process.env`, or an object in tests). */
export function parseEnv(source: Record<string, string | undefined>): WorkerEnv {
  const picked: Record<string, unknown> = {};
  for (const key of Object.keys(WorkerEnv.properties)) {
    const raw = source[key];
    if (raw === undefined || raw === "") continue;
    picked[key] =
      /^-?\d+$/.test(raw) && WorkerEnv.properties[key as keyof WorkerEnv].type === "integer"
        ? Number(raw)
        : raw;
  }
  const value = Value.Default(WorkerEnv, picked);
  const errors = [...Value.Errors(WorkerEnv, value)];
  if (errors.length > 0) {
    const lines = errors.map((e) => `  ${e.path.slice(1) || "(env)"}: ${e.message}`);
    throw new Error(`invalid worker environment:\n${lines.join("\n")}`);
  }
  return value as WorkerEnv;
}
