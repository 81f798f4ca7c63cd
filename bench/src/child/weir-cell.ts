/**
 * Child process: the same pipeline as the "weir" child (src/child/pipeline.ts), run through the
 * worker's real process model. This process is the worker's supervisor (apps/worker's `Supervisor`,
 * built as apps/worker/src/main.ts builds it, with an in-memory API link that hands it the pipeline
 * once); the supervisor forks a cell (apps/worker/src/cell/main.ts) that runs the PipelineRunner, and
 * learns its progress only from the cell's reports over IPC, every WEIR_WORKER_CELL_REPORT_MS (the
 * worker's default unless set in the environment).
 *
 * Measured: this process's CPU (Recorder, process.cpuUsage()) plus every cell's (utime + stime from
 * /proc/<pid>/stat; a cell is forked after begin(), so all of its CPU is inside the window), from
 * right before the supervisor starts to the first cell report that covers the last message (its
 * offsets committed); peak RSS is the supervisor's plus the cell's. Progress is the sum of the
 * committed offsets (a fresh topic starts at 0) and the `rows_out` counter of those reports, read
 * every 25 ms, so each written() is stamped when a report is seen, not when the insert was acknowledged,
 * and there are no per-message latencies.
 */
import type { DesiredState } from "@weir/core";
import { LogShipper } from "@weir/worker/runner";
import { pino } from "pino";
// @weir/worker exports only the runner ("./runner"); the supervisor is read from its sources.
import { probeCgroup } from "../../../apps/worker/src/cgroup.ts";
import { parseEnv } from "../../../apps/worker/src/env.ts";
import { type ApiLink, Supervisor, supervisorOptions } from "../../../apps/worker/src/supervisor.ts";
import { SupervisorMetrics } from "../../../apps/worker/src/supervisor-metrics.ts";
import { clockTicks, readProcess } from "../procstat.ts";
import { runChild } from "./harness.ts";
import { benchPipeline } from "./pipeline.ts";

/** How often the supervisor's view of the cell's reports is read (the cell reports every 250 ms by default). */
const POLL_MS = 25;

interface CellUsage {
  /** Start time (jiffies after boot), to tell a reused pid. */
  started: number;
  /** utime + stime at the latest reading (a cell that exited keeps its last reading). */
  ticks: number;
  peakRssBytes: number;
  /** utime + stime when its first report had reached the supervisor: Node's boot and module loading. */
  startupTicks: number | null;
}

await runChild(async (opts, rec) => {
  const pipeline = await benchPipeline(opts);
  // The cells read their settings from the environment they inherit (apps/worker/src/env.ts): the
  // bench's limits go there; everything else stays at the worker's defaults.
  Object.assign(process.env, {
    // Required by the worker's env schema; nothing here talks to an API.
    WEIR_WORKER_TOKEN: process.env.WEIR_WORKER_TOKEN || "bench",
    WEIR_WORKER_ID: "bench",
    WEIR_WORKER_SANDBOX_CHUNK: String(opts.sandboxChunk),
    WEIR_WORKER_ISOLATES: String(opts.isolates),
    WEIR_WORKER_PARTITION_CONCURRENCY: String(opts.partitionConcurrency),
    WEIR_WORKER_SESSION_TIMEOUT_MS: "10000",
    // The in-process child logs nothing; warnings and errors still show.
    WEIR_LOG_LEVEL: process.env.WEIR_LOG_LEVEL || "warn",
  });
  const env = parseEnv(process.env);
  const log = pino({ level: env.WEIR_LOG_LEVEL, base: { worker: env.WEIR_WORKER_ID } });
  const desired: DesiredState = { revision: pipeline.revision, pipelines: [pipeline] };
  const api: ApiLink = {
    desiredState: async (since) => (since === desired.revision ? null : desired),
    postStatus: async () => undefined,
    postLogs: async () => undefined,
  };
  const logs = new LogShipper(
    env.WEIR_WORKER_ID,
    api.postLogs,
    env.WEIR_WORKER_LOG_BUFFER,
    env.WEIR_WORKER_LOG_FLUSH_MS,
    () => undefined,
  );
  // As apps/worker/src/main.ts builds it.
  const supervisor = new Supervisor(
    api,
    logs,
    new SupervisorMetrics(),
    supervisorOptions(env, probeCgroup()),
    log,
  );

  const hz = clockTicks();
  // Every cell seen (by pid), from the supervisor's health(), which names each cell's pid.
  const cells = new Map<number, CellUsage>();
  const readCells = () => {
    for (const c of supervisor.health().cells) {
      if (!c.pid || cells.has(c.pid)) continue;
      const p = readProcess(c.pid);
      if (p) cells.set(c.pid, { ...p, startupTicks: null });
    }
    // A cell that exited keeps its last reading.
    for (const [pid, known] of cells) {
      const p = readProcess(pid);
      if (p && p.started === known.started)
        Object.assign(known, { ticks: p.ticks, peakRssBytes: p.peakRssBytes });
    }
  };
  rec.countAlso(() => {
    readCells();
    let ticks = 0;
    let startup = 0;
    let rss = 0;
    for (const c of cells.values()) {
      ticks += c.ticks;
      startup += c.startupTicks ?? 0;
      rss += c.peakRssBytes;
    }
    return {
      cpuMs: (ticks * 1000) / hz,
      peakRssBytes: rss,
      pids: [...cells.keys()],
      parts: {
        cellCpuMs: (ticks * 1000) / hz,
        cellStartupCpuMs: (startup * 1000) / hz,
        cellPeakRssBytes: rss,
        cells: cells.size,
        cellReportMs: env.WEIR_WORKER_CELL_REPORT_MS,
        cellNice: env.WEIR_WORKER_CELL_NICE,
        pollMs: POLL_MS,
      },
    };
  });

  let messages = 0;
  let rows = 0;
  let polls = 0;
  let firstReport = false;
  const poll = () => {
    if (!firstReport && supervisor.cellMetrics().length > 0) {
      firstReport = true;
      readCells();
      for (const c of cells.values()) c.startupTicks ??= c.ticks;
    } else if (++polls % 10 === 0) readCells();
    const r = supervisor.reports()[0];
    if (!r) return;
    // Committed offsets of a fresh topic = messages consumed, written and committed.
    const committed = r.lag.reduce((n, l) => n + (l.committed === null ? 0 : Number(l.committed)), 0);
    const dm = Math.max(0, committed - messages);
    const dr = Math.max(0, r.counters.rows_out - rows);
    if (dm === 0 && dr === 0) return;
    messages += dm;
    rows += dr;
    rec.written(dm, dr, [], Date.now());
  };

  rec.begin();
  supervisor.start();
  const timer = setInterval(poll, POLL_MS);
  return {
    async stop() {
      clearInterval(timer);
      await supervisor.stop();
    },
  };
});
