/**
 * Child process: the whole worker with N busy pipelines. Like weir-cell.ts (this process is the
 * worker's real `Supervisor`, built as apps/worker/src/main.ts builds it, with an in-memory API link),
 * but the desired state holds `pipelines` copies of the bench pipeline (src/child/pipeline.ts), each
 * with its own id, consumer group and ClickHouse table, all reading the whole of `topics` (one topic
 * per pipeline, round-robin over the list). The supervisor places them with the worker's own rules
 * (WEIR_WORKER_CELL_SIZE pipelines a cell, at most WEIR_WORKER_MAX_CELLS cells; defaults unless
 * `cellEnv` or the environment sets them) and forks the cells.
 *
 * Measured over the whole worker (supervisor + every cell), from right before the supervisor starts
 * to the first cell report in which every pipeline has committed all `perPipelineMessages`:
 * - CPU: this process's (Recorder, process.cpuUsage()) plus each cell's utime + stime from
 *   /proc/<pid>/stat, and each cell's main thread alone (/proc/<pid>/task/<pid>/stat: the event loop
 *   that fetches, batches and inserts for all of the cell's pipelines; the isolates run on threads);
 * - RSS: every `rssSampleMs` the VmRSS of the supervisor and of every live cell is read and summed;
 *   the peak of that sum is the whole worker's peak RSS (`wholePeakRssBytes`). The sum of each
 *   process's VmHWM (its own peak, reached at different moments) is the upper bound reported as the
 *   result's `peakRssBytes`, as weir-cell.ts does;
 * - progress: per pipeline, the sum of its committed offsets (the topics are fresh: offsets start at
 *   0) and its `rows_out` counter, from the cells' reports as the supervisor holds them, every 25 ms.
 *
 * Cells the supervisor killed (its "killing cell" log lines, by verdict) are counted in `kills.<verdict>`.
 * The per-pipeline and per-cell figures are returned in `ChildResult.parts` under flat keys
 * (`p<i>.messages`, `p<i>.rows`, `p<i>.doneMs`, `cell<k>.cpuMs`, ...), read back by src/busy.ts.
 */
import { readFileSync } from "node:fs";
import type { DesiredPipeline, DesiredState } from "@weir/core";
import { LogShipper } from "@weir/worker/runner";
import { pino } from "pino";
// @weir/worker exports only the runner ("./runner"); the supervisor is read from its sources.
import { probeCgroup } from "../../../apps/worker/src/cgroup.ts";
import { parseEnv } from "../../../apps/worker/src/env.ts";
import { type ApiLink, Supervisor, supervisorOptions } from "../../../apps/worker/src/supervisor.ts";
import { SupervisorMetrics } from "../../../apps/worker/src/supervisor-metrics.ts";
import { clockTicks, parsePidStatNamed } from "../procstat.ts";
import { type ChildOptions, runChild } from "./harness.ts";

/** What the parent passes on top of the usual child options (as JSON in argv[2]). */
export interface CellsOptions extends ChildOptions {
  /** Busy pipelines the worker runs at once. */
  pipelines: number;
  /** Messages each pipeline reads (its topic's length); `expectedMessages` is pipelines x this. */
  perPipelineMessages: number;
  /** One ClickHouse table per pipeline (`pipelines` of them). */
  tables: string[];
  /** Topics read, pipeline i reads topics[i % length]; default [topic]. */
  topics?: string[];
  /**
   * A JSON file holding the `pipelines` DesiredPipelines, built by the parent (src/busy.ts) with
   * benchPipeline: this process then never loads the bundler and compiler, as a real supervisor
   * does not (its RSS is part of the measurement). Absent: built here with benchPipeline.
   */
  pipelinesFile?: string;
  /** Worker environment on top of the defaults (e.g. WEIR_WORKER_CELL_SIZE); empty = defaults. */
  cellEnv?: Record<string, string>;
  /** How often the whole worker's RSS is sampled; default 200 ms. */
  rssSampleMs?: number;
}

/** How often the supervisor's view of the cells' reports is read (cells report every 250 ms by default). */
const POLL_MS = 25;

interface CellUsage {
  index: number;
  id: string;
  /** Start time (jiffies after boot), to tell a reused pid. */
  started: number;
  /** utime + stime of the process, and of its main thread, at the latest reading (kept after exit). */
  ticks: number;
  mainTicks: number;
  /** VmHWM at the latest reading. */
  hwmBytes: number;
  /** utime + stime when its first report had reached the supervisor: Node's boot and module loading. */
  startupTicks: number | null;
  pipelines: number;
}

function read(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

function kB(text: string | null, field: "VmRSS" | "VmHWM"): number {
  const m = text === null ? null : new RegExp(`${field}:\\s+(\\d+) kB`).exec(text);
  return m ? Number(m[1]) * 1024 : 0;
}

await runChild(async (childOpts, rec) => {
  const opts = childOpts as CellsOptions;
  const n = opts.pipelines;
  if (!Number.isInteger(n) || n < 1 || opts.tables.length !== n)
    throw new Error(`weir-cells: ${n} pipelines need ${n} tables (got ${opts.tables.length})`);
  const topics = opts.topics?.length ? opts.topics : [opts.topic];
  let pipelines: DesiredPipeline[];
  if (opts.pipelinesFile) {
    pipelines = JSON.parse(readFileSync(opts.pipelinesFile, "utf8")) as DesiredPipeline[];
    if (pipelines.length !== n)
      throw new Error(`weir-cells: ${opts.pipelinesFile} holds ${pipelines.length} pipelines, not ${n}`);
  } else {
    const { benchPipeline } = await import("./pipeline.ts");
    pipelines = [];
    for (let i = 0; i < n; i++) {
      const p = await benchPipeline({
        ...opts,
        topic: topics[i % topics.length]!,
        groupId: `${opts.groupId}-p${i}`,
        table: opts.tables[i]!,
      });
      pipelines.push({ ...p, id: `bench-${i}`, spec: { ...p.spec, name: `bench-${i}` } });
    }
  }
  // The cells read their settings from the environment they inherit (apps/worker/src/env.ts): the
  // bench's limits go there; everything else stays at the worker's defaults.
  Object.assign(process.env, {
    WEIR_WORKER_TOKEN: process.env.WEIR_WORKER_TOKEN || "bench",
    WEIR_WORKER_ID: "bench",
    WEIR_WORKER_SANDBOX_CHUNK: String(opts.sandboxChunk),
    WEIR_WORKER_ISOLATES: String(opts.isolates),
    WEIR_WORKER_PARTITION_CONCURRENCY: String(opts.partitionConcurrency),
    WEIR_WORKER_SESSION_TIMEOUT_MS: "10000",
    WEIR_LOG_LEVEL: process.env.WEIR_LOG_LEVEL || "warn",
    ...opts.cellEnv,
  });
  const env = parseEnv(process.env);
  // The supervisor's log lines go to stderr as usual; its "killing cell" lines are also counted by
  // verdict (memory, hung, deadline, ...): a killed cell replays from its last commit, so the run's
  // figures then include work done twice.
  const kills: Record<string, number> = {};
  const log = pino(
    { level: env.WEIR_LOG_LEVEL, base: { worker: env.WEIR_WORKER_ID } },
    {
      write(line: string) {
        process.stderr.write(line);
        if (!line.includes('"killing cell"')) return;
        try {
          const verdict = String((JSON.parse(line) as { verdict?: unknown }).verdict ?? "other");
          kills[verdict] = (kills[verdict] ?? 0) + 1;
        } catch {
          kills.other = (kills.other ?? 0) + 1;
        }
      },
    },
  );
  const desired: DesiredState = { revision: 1, pipelines };
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
  const supervisor = new Supervisor(
    api,
    logs,
    new SupervisorMetrics(),
    supervisorOptions(env, probeCgroup()),
    log,
  );

  const hz = clockTicks();
  const rssSampleMs = opts.rssSampleMs ?? 200;
  const progress = pipelines.map(() => ({ messages: 0, rows: 0, doneAt: 0 }));
  const byId = new Map(pipelines.map((p, i) => [p.id, i]));
  const cells = new Map<number, CellUsage>();
  /** Pick up new cells (pids from health()) and refresh every known one's CPU and VmHWM. */
  const readCells = () => {
    for (const c of supervisor.health().cells) {
      const known = c.pid ? cells.get(c.pid) : undefined;
      if (known) {
        known.pipelines = c.pipelines.length;
        continue;
      }
      const stat = c.pid ? read(`/proc/${c.pid}/stat`) : null;
      const named = stat === null ? null : parsePidStatNamed(stat);
      if (!c.pid || !named) continue;
      cells.set(c.pid, {
        index: cells.size,
        id: c.id,
        started: named.started,
        ticks: named.ticks,
        mainTicks: 0,
        hwmBytes: 0,
        startupTicks: null,
        pipelines: c.pipelines.length,
      });
    }
    for (const [pid, known] of cells) {
      const stat = read(`/proc/${pid}/stat`);
      const named = stat === null ? null : parsePidStatNamed(stat);
      // Gone, or a reused pid: keep the last reading.
      if (!named || named.started !== known.started) continue;
      known.ticks = named.ticks;
      const main = read(`/proc/${pid}/task/${pid}/stat`);
      known.mainTicks = (main === null ? null : parsePidStatNamed(main)?.ticks) ?? known.mainTicks;
      known.hwmBytes = Math.max(known.hwmBytes, kB(read(`/proc/${pid}/status`), "VmHWM"));
    }
  };

  // The whole worker's RSS: the supervisor's plus every live cell's, summed at each sample.
  let wholePeak = 0;
  let wholePeakCells = 0;
  let samples = 0;
  /**
   * At the peak: the cells' own last-reported memory (prom-client default metrics, sent with every
   * 8th report, so up to ~2 s old): the main thread's V8 heap and its external memory (Buffers:
   * Kafka fetches, HTTP bodies). The isolates' heaps are neither: RSS minus these is the isolates,
   * code and native allocations.
   */
  let atPeak = { heapTotal: 0, heapUsed: 0, external: 0, cellRss: 0 };
  const cellMemory = () => {
    const out = { heapTotal: 0, heapUsed: 0, external: 0, cellRss: 0 };
    for (const registry of supervisor.cellMetrics() as { name: string; values: { value: number }[] }[][]) {
      const v = (name: string) => registry.find((m) => m.name === name)?.values[0]?.value ?? 0;
      out.heapTotal += v("weir_worker_nodejs_heap_size_total_bytes");
      out.heapUsed += v("weir_worker_nodejs_heap_size_used_bytes");
      out.external += v("weir_worker_nodejs_external_memory_bytes");
      out.cellRss += v("weir_worker_process_resident_memory_bytes");
    }
    return out;
  };
  const sampleRss = () => {
    let sum = kB(read("/proc/self/status"), "VmRSS");
    let live = 0;
    for (const c of supervisor.health().cells) {
      if (!c.pid) continue;
      const known = cells.get(c.pid);
      const status = read(`/proc/${c.pid}/status`);
      if (status === null) continue;
      sum += kB(status, "VmRSS");
      live++;
      if (known) known.hwmBytes = Math.max(known.hwmBytes, kB(status, "VmHWM"));
    }
    samples++;
    if (sum > wholePeak) {
      wholePeak = sum;
      wholePeakCells = live;
      atPeak = cellMemory();
    }
  };

  rec.countAlso(() => {
    readCells();
    sampleRss();
    let ticks = 0;
    let mainTicks = 0;
    let startup = 0;
    let hwm = 0;
    const parts: Record<string, number> = {};
    for (const c of cells.values()) {
      ticks += c.ticks;
      mainTicks += c.mainTicks;
      startup += c.startupTicks ?? 0;
      hwm += c.hwmBytes;
      parts[`cell${c.index}.cpuMs`] = (c.ticks * 1000) / hz;
      parts[`cell${c.index}.mainThreadCpuMs`] = (c.mainTicks * 1000) / hz;
      parts[`cell${c.index}.peakRssBytes`] = c.hwmBytes;
      parts[`cell${c.index}.pipelines`] = c.pipelines;
    }
    for (const [verdict, count] of Object.entries(kills)) parts[`kills.${verdict}`] = count;
    for (const [i, p] of progress.entries()) {
      parts[`p${i}.messages`] = p.messages;
      parts[`p${i}.rows`] = p.rows;
      parts[`p${i}.doneMs`] = p.doneAt ? p.doneAt - rec.startedAt : -1;
    }
    return {
      cpuMs: (ticks * 1000) / hz,
      peakRssBytes: hwm,
      pids: [...cells.keys()],
      parts: {
        ...parts,
        pipelines: n,
        perPipelineMessages: opts.perPipelineMessages,
        cellCpuMs: (ticks * 1000) / hz,
        cellMainThreadCpuMs: (mainTicks * 1000) / hz,
        cellStartupCpuMs: (startup * 1000) / hz,
        cellPeakRssBytes: hwm,
        cells: cells.size,
        wholePeakRssBytes: wholePeak,
        wholePeakLiveCells: wholePeakCells,
        "atPeak.cellHeapTotalBytes": atPeak.heapTotal,
        "atPeak.cellHeapUsedBytes": atPeak.heapUsed,
        "atPeak.cellExternalBytes": atPeak.external,
        "atPeak.cellReportedRssBytes": atPeak.cellRss,
        rssSamples: samples,
        rssSampleMs,
        cellSize: env.WEIR_WORKER_CELL_SIZE,
        isolates: env.WEIR_WORKER_ISOLATES,
        maxCells: env.WEIR_WORKER_MAX_CELLS,
        cellReportMs: env.WEIR_WORKER_CELL_REPORT_MS,
        cellNice: env.WEIR_WORKER_CELL_NICE,
        pollMs: POLL_MS,
      },
    };
  });

  let polls = 0;
  let firstReport = false;
  const poll = () => {
    if (!firstReport && supervisor.cellMetrics().length > 0) {
      firstReport = true;
      readCells();
      for (const c of cells.values()) c.startupTicks ??= c.ticks;
    } else if (++polls % 10 === 0) readCells();
    let dm = 0;
    let dr = 0;
    const now = Date.now();
    for (const r of supervisor.reports()) {
      const i = byId.get(r.pipeline_id);
      if (i === undefined) continue;
      const p = progress[i]!;
      // Committed offsets of a fresh topic = messages consumed, written and committed.
      const committed = r.lag.reduce((s, l) => s + (l.committed === null ? 0 : Number(l.committed)), 0);
      const m = Math.max(0, committed - p.messages);
      const rows = Math.max(0, r.counters.rows_out - p.rows);
      p.messages += m;
      p.rows += rows;
      if (!p.doneAt && p.messages >= opts.perPipelineMessages) p.doneAt = now;
      dm += m;
      dr += rows;
    }
    if (dm > 0 || dr > 0) rec.written(dm, dr, [], now);
  };

  rec.begin();
  supervisor.start();
  const timer = setInterval(poll, POLL_MS);
  const rssTimer = setInterval(sampleRss, rssSampleMs);
  return {
    async stop() {
      clearInterval(timer);
      clearInterval(rssTimer);
      await supervisor.stop();
    },
  };
});
