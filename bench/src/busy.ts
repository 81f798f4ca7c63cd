/**
 * The whole worker with several busy pipelines (issue 17): the real Supervisor with N copies of the
 * bench pipeline (src/child/weir-cells.ts), each with its own consumer group and table, each reading
 * the whole topic, placed into cells by the worker's own rules (defaults: 8 pipelines a cell, at
 * most max(2, cores) cells). Two parts:
 *
 * - scaling: 1, 2 and 4 busy pipelines at once; per run the aggregate rows/s (sustained, 10%-90%),
 *   the worker's CPU (supervisor + cells) per 1M rows, cores used, the whole worker's peak RSS and
 *   the rows verified in ClickHouse per table; then what it implies for a 16-core box;
 * - memory: 10 busy pipelines (on a shorter topic when the main one is long, so the run stays well
 *   under ~90 s on 2 cores), the whole worker's peak RSS against the <= 300 MB target.
 *
 * `runBusy` is called by main.ts; `busySummary` gives the summary's lines. Standalone (loads its own
 * topic, same data as the bench):
 *   cd bench && node --no-node-snapshot src/busy.ts --spans 100000
 */
import { rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { KafkaCompression } from "@weir/connectors";
import type { DesiredPipeline } from "@weir/core";
import type { Kafka } from "kafkajs";
import type { ChildOptions } from "./child/harness.ts";
import { benchPipeline } from "./child/pipeline.ts";
import type { CellsOptions } from "./child/weir-cells.ts";
import type { DataSpec, InputFormat } from "./data.ts";
import { loadTopic } from "./load.ts";
import { type BoxCpuFigures, boxCpuFigures, figures, round, runToCompletion } from "./measure.ts";
import type { ChildName } from "./spawn.ts";

/** The worker-wide peak RSS target with 10 busy pipelines (issue 17). */
export const MEMORY_TARGET_MB = 300;

export interface BusyTopic {
  topic: string;
  messages: number;
}

export interface BusyDeps {
  /** The loaded bench topic (every pipeline reads all of it). */
  topic: BusyTopic;
  /** The same as main.ts's: options of a consumer child for (topic, table, expected messages). */
  childOptions(
    topic: string,
    table: string,
    expectedMessages: number,
    extra?: Partial<ChildOptions>,
  ): ChildOptions;
  /** A fresh ClickHouse table (created, dropped at the end unless --keep); `kind` is a name part. */
  freshTable(kind: string): Promise<string>;
  countRows(table: string): Promise<number>;
  cores: number;
  hz: number;
  say(s: string): void;
  /**
   * For the memory run when `topic` is longer than `memoryMessages`: a fresh topic with the bench's
   * partitions (created, deleted at the end unless --keep), which runBusy loads with `data`.
   */
  newTopic?(kind: string): Promise<string>;
  kafka?: Kafka;
  data?: DataSpec;
  partitions?: number;
  compression?: KafkaCompression;
  /** The topic's value encoding (the Kafka source's `format`), passed to childOptions; default otlp_json. */
  format?: InputFormat;
  /** Busy pipelines per scaling run; default [1, 2, 4]. */
  counts?: number[];
  /** Pipelines of the memory run; default 10 (0 skips it). */
  memoryPipelines?: number;
  /** Messages each pipeline of the memory run reads; default min(topic, 2,000 = 200k spans of 100): ~1.8M rows in all, well under 90 s here. */
  memoryMessages?: number;
  /** Worker environment for the cells on top of the defaults (none by default). */
  cellEnv?: Record<string, string>;
  /**
   * Build the pipelines here (default) so the measured supervisor never loads the bundler and
   * compiler; false: the child builds them (under vitest, where import.meta.resolve is missing).
   */
  prebuild?: boolean;
}

export interface BusyCell {
  pipelines: number;
  cpuSeconds: number;
  /** The cell's main thread (event loop: Kafka fetches, batching, inserts, commits); isolates aside. */
  mainThreadCpuSeconds: number;
  peakRssMB: number;
}

export interface BusyPipeline {
  messages: number;
  rows: number;
  verifiedRows: number;
  /** From the supervisor's start to the report in which this pipeline had committed all its messages. */
  seconds: number | null;
}

export interface BusyRun {
  pipelines: number;
  messagesPerPipeline: number;
  /** Cell processes seen (the worker's placement; more than `expectedCells`: a cell was restarted). */
  cells: number;
  /** Cells the worker's placement gives N pipelines. */
  expectedCells: number;
  /** Cells the supervisor killed, by verdict (memory, hung, deadline, ...); each replays from its last commit. */
  kills: Record<string, number>;
  cellSize: number;
  maxCells: number;
  /** Sandbox isolates per pipeline (WEIR_WORKER_ISOLATES): threads a pipeline's handler runs on. */
  isolates: number;
  rows: number;
  verifiedRows: number;
  /** Aggregate rows/s over all pipelines between the 10% and 90% marks of the messages. */
  rowsPerSec: number;
  rowsPerSecWall: number;
  /** Worker (supervisor + cells) CPU-s per 1M rows, whole run (cells' boot included) and sustained. */
  cpuSecondsPerMillionRows: number;
  cpuSecondsPerMillionRowsSustained: number | null;
  cpuSeconds: number;
  supervisorCpuSeconds: number;
  cellCpuSeconds: number;
  cellMainThreadCpuSeconds: number;
  cellStartupCpuSeconds: number;
  /** Worker CPU-s over wall seconds. */
  cores: number;
  wallSeconds: number;
  /** max over time of (supervisor VmRSS + every live cell's VmRSS), sampled every rssSampleMs. */
  peakRssMB: number;
  /** Sum of each process's own VmHWM: an upper bound (peaks at different moments). */
  peakRssHwmSumMB: number;
  supervisorPeakRssMB: number;
  rssSamples: number;
  /**
   * The cells' memory as they last reported it at the whole-worker peak (up to ~2 s old), summed:
   * main-thread V8 heap, its external memory (Buffers), and their RSS minus both (isolate heaps, code,
   * native allocations).
   */
  cellsAtPeak: { rssMB: number; heapTotalMB: number; externalMB: number; restMB: number };
  perCell: BusyCell[];
  perPipeline: BusyPipeline[];
  boxCpu: BoxCpuFigures | null;
}

export interface BusyImplications {
  /** Aggregate rows/s relative to the 1-pipeline run, per run. */
  speedup: { pipelines: number; rowsPerSec: number; ratio: number }[];
  /** 1e6 / worker CPU-s per 1M rows (sustained when available) of the largest scaling run: rows/s one busy worker core carries. */
  rowsPerSecPerWorkerCore: number | null;
  /** 16 x that: a 16-core worker with Kafka and ClickHouse elsewhere, if scaling stays linear. */
  sixteenCoresWorkerOnly: number | null;
  /** 16e6 / (worker + broker + server CPU-s per 1M rows): all three on the same 16 cores. */
  sixteenCoresWithServices: number | null;
  /** 1e6 / cells' main-thread CPU-s per 1M rows (their boot left out): what one cell's event loop carries at most. */
  rowsPerSecPerCellMainThread: number | null;
  /**
   * isolates x 1e6 / the isolates' CPU-s per 1M rows (cells' CPU less main threads): what one pipeline
   * carries at most with its handler threads saturated, however many cores.
   */
  rowsPerSecPerPipelineIsolateBound: number | null;
  /** Cores a cell uses when its main thread is saturated: cells' CPU / their main threads' CPU (boot left out). */
  cellCoresAtMainThreadLimit: number | null;
  /** Least-squares line of the whole worker's peak RSS over the busy pipelines of the scaling runs. */
  rssPerBusyPipelineMB: number | null;
  rssInterceptMB: number | null;
}

export interface BusyResults {
  scaling: BusyRun[];
  memory: (BusyRun & { targetMB: number; met: boolean }) | null;
  implications: BusyImplications;
  cores: number;
  /** Worker environment set on top of the defaults (BusyDeps.cellEnv); empty: the worker's defaults. */
  cellEnv: Record<string, string>;
}

const CHILD: ChildName = "weir-cells";
const MB = 2 ** 20;

/**
 * The N pipelines as the API would hand them over: the bench pipeline (benchPipeline, built here
 * once, so the measured supervisor never loads the bundler and compiler), each copy with its own
 * id, name, consumer group and table.
 */
export async function busyPipelines(base: ChildOptions, tables: string[]): Promise<DesiredPipeline[]> {
  const template = await benchPipeline(base);
  return tables.map((table, i) => {
    const p = structuredClone(template);
    p.id = `bench-${i}`;
    p.spec.name = `bench-${i}`;
    (p.spec.source.config as Record<string, unknown>).group_id = `${base.groupId}-p${i}`;
    (p.spec.sink.config as Record<string, unknown>).table = table;
    return p;
  });
}

/** Run N busy pipelines in one worker until each has written the whole topic; read the tables back. */
export async function runWorker(d: BusyDeps, topic: BusyTopic, n: number, label: string): Promise<BusyRun> {
  const tables: string[] = [];
  for (let i = 0; i < n; i++) tables.push(await d.freshTable(`${label}_p${i}`));
  const base = d.childOptions(
    topic.topic,
    tables[0]!,
    n * topic.messages,
    d.format ? { format: d.format } : {},
  );
  const pipelinesFile =
    d.prebuild === false
      ? undefined
      : join(os.tmpdir(), `weir-bench-${label}-${process.pid}-${Date.now()}.json`);
  if (pipelinesFile) writeFileSync(pipelinesFile, JSON.stringify(await busyPipelines(base, tables)));
  const opts: CellsOptions = {
    ...base,
    pipelines: n,
    perPipelineMessages: topic.messages,
    tables,
    ...(pipelinesFile && { pipelinesFile }),
    ...(d.cellEnv && { cellEnv: d.cellEnv }),
  };
  let raw: Awaited<ReturnType<typeof runToCompletion>>;
  try {
    raw = await runToCompletion(CHILD, opts, `${label}: ${n} busy pipelines`, 180_000);
  } finally {
    if (pipelinesFile) rmSync(pipelinesFile, { force: true });
  }
  const f = figures(raw);
  const p = raw.parts ?? {};
  const num = (k: string) => p[k] ?? 0;
  const perCell: BusyCell[] = [];
  for (let k = 0; k < num("cells"); k++)
    perCell.push({
      pipelines: num(`cell${k}.pipelines`),
      cpuSeconds: round(num(`cell${k}.cpuMs`) / 1000, 2),
      mainThreadCpuSeconds: round(num(`cell${k}.mainThreadCpuMs`) / 1000, 2),
      peakRssMB: Math.round(num(`cell${k}.peakRssBytes`) / MB),
    });
  const perPipeline: BusyPipeline[] = [];
  for (let i = 0; i < n; i++) {
    const done = num(`p${i}.doneMs`);
    perPipeline.push({
      messages: num(`p${i}.messages`),
      rows: num(`p${i}.rows`),
      verifiedRows: await d.countRows(tables[i]!),
      seconds: done > 0 ? round(done / 1000, 2) : null,
    });
  }
  const cellSize = num("cellSize");
  const maxCells = num("maxCells");
  const capacity = Math.max(cellSize, Math.ceil(n / Math.max(1, maxCells)));
  const kills: Record<string, number> = {};
  for (const [k, v] of Object.entries(p)) if (k.startsWith("kills.")) kills[k.slice(6)] = v;
  return {
    pipelines: n,
    messagesPerPipeline: topic.messages,
    cells: num("cells"),
    expectedCells: Math.ceil(n / Math.max(1, capacity)),
    kills,
    cellSize,
    maxCells,
    isolates: num("isolates"),
    rows: f.rows,
    verifiedRows: perPipeline.reduce((s, x) => s + x.verifiedRows, 0),
    rowsPerSec: f.rowsPerSec,
    rowsPerSecWall: f.rowsPerSecWall,
    cpuSecondsPerMillionRows: f.cpuSecondsPerMillionRows,
    cpuSecondsPerMillionRowsSustained: f.cpuSecondsPerMillionRowsSustained,
    cpuSeconds: f.cpuSeconds,
    supervisorCpuSeconds: round(num("ownCpuMs") / 1000, 2),
    cellCpuSeconds: round(num("cellCpuMs") / 1000, 2),
    cellMainThreadCpuSeconds: round(num("cellMainThreadCpuMs") / 1000, 2),
    cellStartupCpuSeconds: round(num("cellStartupCpuMs") / 1000, 2),
    cores: f.cores,
    wallSeconds: f.wallSeconds,
    peakRssMB: Math.round(num("wholePeakRssBytes") / MB),
    peakRssHwmSumMB: f.peakRssMB,
    supervisorPeakRssMB: Math.round(num("ownPeakRssBytes") / MB),
    rssSamples: num("rssSamples"),
    cellsAtPeak: {
      rssMB: Math.round(num("atPeak.cellReportedRssBytes") / MB),
      heapTotalMB: Math.round(num("atPeak.cellHeapTotalBytes") / MB),
      externalMB: Math.round(num("atPeak.cellExternalBytes") / MB),
      restMB: Math.round(
        (num("atPeak.cellReportedRssBytes") -
          num("atPeak.cellHeapTotalBytes") -
          num("atPeak.cellExternalBytes")) /
          MB,
      ),
    },
    perCell,
    perPipeline,
    boxCpu: boxCpuFigures(raw, d.cores, d.hz),
  };
}

/** Scaling runs (1, 2, 4 busy pipelines), then the 10-pipeline memory run. */
export async function runBusy(d: BusyDeps): Promise<BusyResults> {
  const scaling: BusyRun[] = [];
  for (const n of d.counts ?? [1, 2, 4]) {
    d.say(`busy worker: ${n} pipeline(s) at once, each reading all ${d.topic.messages} messages`);
    scaling.push(await runWorker(d, d.topic, n, `busy${n}`));
  }
  let memory: BusyResults["memory"] = null;
  const mp = d.memoryPipelines ?? 10;
  if (mp > 0) {
    const want = Math.min(d.topic.messages, d.memoryMessages ?? 2000);
    let topic = d.topic;
    if (want < d.topic.messages) {
      if (!d.newTopic || !d.kafka || !d.data || !d.partitions)
        throw new Error("runBusy: a shorter memory-run topic needs newTopic, kafka, data and partitions");
      const name = await d.newTopic("busy-memory");
      d.say(`busy worker: loading ${want} messages into ${name} for the ${mp}-pipeline memory run`);
      await loadTopic(
        d.kafka,
        name,
        d.partitions,
        d.data,
        want,
        undefined,
        d.compression ?? "none",
        d.format ?? "otlp_json",
      );
      topic = { topic: name, messages: want };
    }
    d.say(`busy worker: ${mp} pipelines at once, each reading all ${topic.messages} messages (memory)`);
    const run = await runWorker(d, topic, mp, `busymem${mp}`);
    memory = { ...run, targetMB: MEMORY_TARGET_MB, met: run.peakRssMB <= MEMORY_TARGET_MB };
  }
  return { scaling, memory, implications: implications(scaling), cores: d.cores, cellEnv: d.cellEnv ?? {} };
}

export function implications(scaling: BusyRun[]): BusyImplications {
  const one = scaling.find((r) => r.pipelines === 1) ?? scaling[0];
  const speedup = scaling.map((r) => ({
    pipelines: r.pipelines,
    rowsPerSec: r.rowsPerSec,
    ratio: one && one.rowsPerSec > 0 ? round(r.rowsPerSec / one.rowsPerSec, 2) : 0,
  }));
  const top = scaling.reduce<BusyRun | undefined>(
    (a, r) => (!a || r.pipelines > a.pipelines ? r : a),
    undefined,
  );
  const perM = top ? (top.cpuSecondsPerMillionRowsSustained ?? top.cpuSecondsPerMillionRows) : 0;
  const perCore = perM > 0 ? Math.round(1e6 / perM) : null;
  const services =
    top?.boxCpu?.cpuSecondsPerMillionRows.broker != null && top.boxCpu.cpuSecondsPerMillionRows.server != null
      ? top.boxCpu.cpuSecondsPerMillionRows.broker + top.boxCpu.cpuSecondsPerMillionRows.server
      : null;
  // The cells' boot (up to their first report) is nearly all main thread: left out of both.
  const mainCpu = top ? Math.max(0, top.cellMainThreadCpuSeconds - top.cellStartupCpuSeconds) : 0;
  const mainPerM = top && top.rows > 0 ? mainCpu / (top.rows / 1e6) : 0;
  const pts = scaling.map((r) => [r.pipelines, r.peakRssMB] as const);
  const mx = pts.reduce((a, [x]) => a + x, 0) / Math.max(1, pts.length);
  const my = pts.reduce((a, [, y]) => a + y, 0) / Math.max(1, pts.length);
  const sxx = pts.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  const slope = sxx > 0 ? pts.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0) / sxx : null;
  return {
    speedup,
    rssPerBusyPipelineMB: slope === null ? null : Math.round(slope),
    rssInterceptMB: slope === null ? null : Math.round(my - slope * mx),
    rowsPerSecPerWorkerCore: perCore,
    sixteenCoresWorkerOnly: perCore === null ? null : perCore * 16,
    sixteenCoresWithServices:
      services === null || perM <= 0
        ? null
        : Math.round((16 * 1e6) / (top!.cpuSecondsPerMillionRows + services)),
    rowsPerSecPerCellMainThread: mainPerM > 0 ? Math.round(1e6 / mainPerM) : null,
    rowsPerSecPerPipelineIsolateBound:
      top && top.rows > 0 && top.isolates > 0 && top.cellCpuSeconds - top.cellMainThreadCpuSeconds > 0
        ? Math.round(
            (top.isolates * 1e6) / ((top.cellCpuSeconds - top.cellMainThreadCpuSeconds) / (top.rows / 1e6)),
          )
        : null,
    cellCoresAtMainThreadLimit:
      top && mainCpu > 0 ? round((top.cellCpuSeconds - top.cellStartupCpuSeconds) / mainCpu, 2) : null,
  };
}

const n0 = (x: number | null | undefined) => (x == null ? "-" : Math.round(x).toLocaleString("en-US"));
const f2 = (x: number | null | undefined) => (x == null ? "-" : x.toFixed(2));

function runLine(r: BusyRun): string {
  const verified = r.perPipeline.map((p) => p.verifiedRows);
  const same = verified.every((v) => v === verified[0]);
  const ver = same ? `${r.pipelines} x ${n0(verified[0])}` : verified.map(n0).join(" / ");
  return `  ${String(r.pipelines).padStart(9)}  ${String(r.cells).padStart(5)}  ${n0(r.rowsPerSec).padStart(8)}  ${n0(r.rowsPerSec / r.pipelines).padStart(8)}  ${f2(r.cpuSecondsPerMillionRows).padStart(7)} / ${f2(r.cpuSecondsPerMillionRowsSustained).padEnd(6)}  ${f2(r.cores).padStart(5)}  ${f2(r.boxCpu?.boxBusyCores).padStart(5)}  ${String(r.peakRssMB).padStart(6)} / ${String(r.peakRssHwmSumMB).padEnd(5)}  ${f2(r.wallSeconds).padStart(6)}  ${ver}`;
}

/** The summary's lines for the busy-worker runs. */
export function busySummary(b: BusyResults): string[] {
  const lines: string[] = [];
  const head = b.scaling[0] ?? b.memory;
  if (!head) return lines;
  lines.push(
    `Busy worker (real supervisor + cells, ${
      Object.keys(b.cellEnv).length > 0
        ? `worker env ${Object.entries(b.cellEnv)
            .map(([k, v]) => `${k}=${v}`)
            .join(" ")}, else defaults`
        : "worker defaults"
    }: ${head.cellSize} pipelines a cell, at most ${head.maxCells} cells, ${head.isolates} isolates a pipeline; each pipeline reads the whole topic):`,
    "  pipelines  cells    rows/s  per pipe  CPU-s/1M rows    cores   box   RSS MB peak / HWM sum  wall s  rows verified",
    "                                          (run / sustained) worker  busy",
  );
  for (const r of b.scaling) lines.push(runLine(r));
  const m = b.memory;
  if (m) lines.push(runLine(m));
  for (const r of [...b.scaling, ...(m ? [m] : [])]) {
    const k = Object.entries(r.kills);
    if (k.length > 0 || r.cells > r.expectedCells)
      lines.push(
        `  ! ${r.pipelines} pipelines: ${r.cells} cell processes for ${r.expectedCells} placed; the supervisor killed ${k.map(([v, c]) => `${c} (${v})`).join(", ") || "none"}: replays from the last commit are in the figures (rows verified > rows read means duplicates)`,
      );
  }
  const im = b.implications;
  if (im.speedup.length > 1)
    lines.push(
      `  scaling: rows/s ${im.speedup.map((s) => `${s.pipelines}p ${n0(s.rowsPerSec)} (${f2(s.ratio)}x)`).join(", ")}; the box has ${b.cores} cores shared with Kafka and ClickHouse`,
    );
  const top = b.scaling.reduce<BusyRun | undefined>(
    (a, r) => (!a || r.pipelines > a.pipelines ? r : a),
    undefined,
  );
  if (top) {
    const cpu = top.boxCpu?.cpuSecondsPerMillionRows;
    const svc = cpu && cpu.broker != null && cpu.server != null ? cpu.broker + cpu.server : null;
    lines.push(
      `  ${top.pipelines} busy: worker ${f2(top.cores)} cores (supervisor ${f2(top.supervisorCpuSeconds)} CPU-s, cells ${f2(top.cellCpuSeconds)}, of which main threads ${f2(top.cellMainThreadCpuSeconds)}), box busy ${f2(top.boxCpu?.boxBusyCores)} of ${b.cores} cores; broker + CH server ${f2(svc)} CPU-s/1M rows`,
    );
    lines.push(
      `  16-core box: one busy worker core carries ~${n0(im.rowsPerSecPerWorkerCore)} rows/s (1e6 / worker CPU-s per 1M rows), so ~${n0(im.sixteenCoresWorkerOnly)} rows/s with Kafka and ClickHouse elsewhere if it scales linearly; ~${n0(im.sixteenCoresWithServices)} with them on the same 16 cores (here they share 2 cores, so these runs are box-bound, not worker-bound)`,
    );
    if (im.rowsPerSecPerCellMainThread !== null)
      lines.push(
        `  a cell's main thread (Kafka fetches, batching, inserts, commits for all its pipelines; isolates run on other threads) cost ${f2(1e6 / im.rowsPerSecPerCellMainThread)} CPU-s/1M rows: one cell tops out near ${n0(im.rowsPerSecPerCellMainThread)} rows/s (using ~${f2(im.cellCoresAtMainThreadLimit)} cores) however many cores the box has; cells hold ${top.cellSize} pipelines, so on 16 cores up to ${top.cellSize} busy pipelines share one cell (a smaller WEIR_WORKER_CELL_SIZE spreads them)`,
      );
  }
  if (im.rssPerBusyPipelineMB !== null)
    lines.push(
      `  memory over the scaling runs: whole-worker peak RSS ~ ${im.rssInterceptMB} MB + ${im.rssPerBusyPipelineMB} MB per busy pipeline (least squares; a cell the memory watchdog recycles caps its own peak)`,
    );
  if (top && im.rowsPerSecPerPipelineIsolateBound !== null)
    lines.push(
      `  one pipeline runs its handler on ${top.isolates} isolate threads (WEIR_WORKER_ISOLATES) at ${f2((top.cellCpuSeconds - top.cellMainThreadCpuSeconds) / (top.rows / 1e6))} CPU-s/1M rows: at most ~${n0(im.rowsPerSecPerPipelineIsolateBound)} rows/s per pipeline, so a 16-core box is filled by several busy pipelines, not one`,
    );
  const big = m ?? top;
  if (big && big.cellsAtPeak.rssMB > 0) {
    const c = big.cellsAtPeak;
    lines.push(
      `  where the cells' memory was at the ${big.pipelines}-pipeline peak (their last report): RSS ${c.rssMB} MB = main-thread JS heap ${c.heapTotalMB} + external/Buffers ${c.externalMB} + isolates, code and native ${c.restMB}`,
    );
  }
  if (m)
    lines.push(
      `  memory: ${m.pipelines} busy pipelines in ${m.cells} cell(s): whole-worker peak RSS ${m.peakRssMB} MB (sum of per-process VmHWM ${m.peakRssHwmSumMB} MB; supervisor ${m.supervisorPeakRssMB}, cells ${m.perCell.map((c) => `${c.peakRssMB} (${c.pipelines}p)`).join(", ")}): target <= ${m.targetMB} MB ${m.met ? "MET" : "NOT MET"}; ${f2(m.cpuSecondsPerMillionRows)} CPU-s/1M rows, ${n0(m.rowsPerSec)} rows/s`,
    );
  return lines;
}

// --- standalone: `node --no-node-snapshot src/busy.ts --spans 100000` (from bench/) ---

async function cli(): Promise<void> {
  const { Command } = await import("commander");
  const { createClient } = await import("@clickhouse/client");
  const { Kafka, logLevel } = await import("kafkajs");
  const { createTopic, deleteTopic } = await import("./load.ts");
  const { clockTicks, findServices } = await import("./procstat.ts");
  const { countRows, createTable, dropTable } = await import("./tables.ts");
  const list = (v: string) => v.split(",").map((s) => Number(s.trim()));
  const o = new Command()
    .name("busy")
    .option("--spans <n>", "spans in the scaling topic", Number, 100_000)
    .option("--spans-per-message <n>", "spans per message", Number, 100)
    .option("--partitions <n>", "partitions", Number, 4)
    .option("--counts <list>", "busy pipelines per scaling run", list, [1, 2, 4])
    .option("--codec <codec>", "batch codec of the topic (none, gzip, snappy, lz4, zstd)", "zstd")
    .option("--memory-pipelines <n>", "pipelines of the memory run (0 skips)", Number, 10)
    .option("--memory-spans <n>", "spans each memory-run pipeline reads", Number, 200_000)
    .option("--cell-env <kv...>", "worker env K=V for the cells", [])
    .option("--brokers <list>", "Kafka", process.env.KAFKA_BROKERS ?? "127.0.0.1:9092")
    .option(
      "--clickhouse-url <url>",
      "ClickHouse HTTP",
      process.env.CLICKHOUSE_URL ?? "http://127.0.0.1:8123",
    )
    .option("--node-flags <flags>", "V8 flags of the child", "--max-semi-space-size=16")
    .option("--json <file>", "write the results as JSON here")
    .option("--keep", "keep topics and tables")
    .parse()
    .opts<{
      spans: number;
      spansPerMessage: number;
      partitions: number;
      counts: number[];
      codec: KafkaCompression;
      memoryPipelines: number;
      memorySpans: number;
      cellEnv: string[];
      brokers: string;
      clickhouseUrl: string;
      nodeFlags: string;
      json?: string;
      keep?: boolean;
    }>();
  const say = (s: string) => process.stderr.write(`[busy] ${s}\n`);
  const repoRoot = resolve(fileURLToPath(import.meta.url), "../../..");
  const brokers = o.brokers.split(",").map((s) => s.trim());
  const kafka = new Kafka({ clientId: "weir-bench-busy", brokers, logLevel: logLevel.ERROR });
  const ch = createClient({ url: o.clickhouseUrl });
  const runId = Date.now().toString(36);
  const services = findServices(repoRoot, brokers, o.clickhouseUrl);
  const watchPids: Record<string, number> = { bench: process.pid };
  if (services.broker) watchPids.broker = services.broker.pid;
  if (services.server) watchPids.server = services.server.pid;
  const data: DataSpec = {
    seed: 1,
    spansPerMessage: o.spansPerMessage,
    baseTimeUnixNano: (BigInt(Date.now()) * 1_000_000n).toString(),
  };
  const topics: string[] = [];
  const tables: string[] = [];
  const newTopic = async (kind: string) => {
    const t = `bench-${kind}-${runId}`;
    await createTopic(kafka, t, o.partitions);
    topics.push(t);
    return t;
  };
  try {
    const messages = Math.ceil(o.spans / o.spansPerMessage);
    const topic = await newTopic("busy");
    say(`loading ${messages} messages x ${o.spansPerMessage} spans into ${topic}`);
    const load = await loadTopic(kafka, topic, o.partitions, data, messages, undefined, o.codec);
    say(
      `loaded ${load.messages} messages, ${load.expectedRows} rows expected per pipeline, ${load.seconds.toFixed(1)} s`,
    );
    const results = await runBusy({
      topic: { topic, messages },
      childOptions: (t, table, expectedMessages, extra = {}) => ({
        brokers,
        clickhouseUrl: o.clickhouseUrl,
        topic: t,
        groupId: `bench-${runId}-${Math.random().toString(36).slice(2, 8)}`,
        table,
        expectedMessages,
        maxBatchRows: 10_000,
        maxBatchWaitMs: 250,
        partitionConcurrency: 4,
        sandboxChunk: 500,
        isolates: 2,
        nodeFlags: o.nodeFlags.split(" ").filter(Boolean),
        watchPids,
        ...extra,
      }),
      freshTable: async (kind) => {
        const name = `bench_${kind}_${runId}`;
        await createTable(ch, name);
        tables.push(name);
        return name;
      },
      countRows: (t) => countRows(ch, t),
      cores: os.cpus().length,
      hz: clockTicks(),
      say,
      newTopic,
      kafka,
      data,
      partitions: o.partitions,
      counts: o.counts,
      memoryPipelines: o.memoryPipelines,
      memoryMessages: Math.ceil(o.memorySpans / o.spansPerMessage),
      ...(o.cellEnv.length > 0 && {
        cellEnv: Object.fromEntries(
          o.cellEnv.map((kv) => [kv.split("=")[0]!, kv.split("=").slice(1).join("=")]),
        ),
      }),
    });
    if (o.json)
      writeFileSync(
        o.json,
        `${JSON.stringify({ date: new Date().toISOString(), load, results }, null, 2)}\n`,
      );
    console.log(
      [
        `busy worker, ${new Date().toISOString()}: ${messages} messages x ${o.spansPerMessage} spans (${load.expectedRows} rows) per pipeline, load average ${os
          .loadavg()
          .map((x) => x.toFixed(2))
          .join(" ")}`,
        ...busySummary(results),
      ].join("\n"),
    );
  } finally {
    if (!o.keep) {
      for (const t of tables) await dropTable(ch, t).catch(() => undefined);
      // Weir creates `<topic>.dlq` only on a first dead letter: delete only what exists.
      const admin = kafka.admin();
      await admin.connect();
      const existing = new Set(await admin.listTopics().catch(() => [] as string[]));
      await admin.disconnect();
      for (const t of topics)
        for (const name of [t, `${t}.dlq`]) if (existing.has(name)) await deleteTopic(kafka, name);
    }
    await ch.close();
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await cli();
