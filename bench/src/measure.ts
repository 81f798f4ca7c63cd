/** Run one measuring child to completion and turn its raw result into the reported figures. */
import type { ChildOptions, ChildResult } from "./child/harness.ts";
import { cpuDelta } from "./procstat.ts";
import { type ChildName, startChild } from "./spawn.ts";
import { type LatencySummary, summarize, sustainedRate } from "./stats.ts";

export interface ConsumerFigures {
  messages: number;
  rows: number;
  /** Rows per second between the 10% and 90% marks of the rows written. */
  rowsPerSec: number;
  /** Rows over the whole run, group join included. */
  rowsPerSecWall: number;
  messagesPerSec: number;
  cpuSeconds: number;
  cpuSecondsPerMillionRows: number;
  /**
   * CPU per 1M rows between the writes that reached 10% and 90% of the messages (start-up and drain
   * left out, as in rowsPerSec); null when the run was too short to have both marks.
   */
  cpuSecondsPerMillionRowsSustained: number | null;
  /** Busy cores on average: CPU seconds over wall seconds. */
  cores: number;
  peakRssMB: number;
  wallSeconds: number;
  latencyMs: LatencySummary;
  /** Where the box's CPU went over this run's window; null when /proc could not be read. */
  boxCpu?: BoxCpuFigures | null;
}

/** CPU seconds by process over one consumer run; null where not measured (service not found, remote). */
export interface CpuParts {
  /** The consumer child (process.cpuUsage(), every thread). */
  worker: number;
  broker: number | null;
  /** The ClickHouse server. */
  server: number | null;
  /** The bench parent process (the producer in the latency run; idle otherwise). */
  bench: number | null;
  /** box - worker - broker - server - bench: other processes, and irq/softirq time (loopback networking) no process is charged for. */
  rest: number | null;
  /** Busy time of the whole box from /proc/stat (user + nice + system + irq + softirq, every core). */
  box: number;
}

export interface BoxCpuFigures {
  /** Seconds between the two readings: the child's own CPU window (begin() to completion). */
  windowSeconds: number;
  /** Rows written in the window. */
  rows: number;
  /** Cores of the box (/proc/stat's cpu line sums them all). */
  cores: number;
  cpuSeconds: CpuParts & { boxIdle: number; boxSteal: number };
  cpuSecondsPerMillionRows: CpuParts;
  /** Box busy CPU seconds over window seconds. */
  boxBusyCores: number;
  /** (busy + idle + steal) / window: should be ~cores; a sanity check of the readings. */
  boxCoresAccounted: number;
  /**
   * What `rest` was made of, CPU seconds: irq + softirq time, other processes alive at the end of the
   * window (the five largest named "<pid> <comm>"), and what is left (processes that exited inside the
   * window, e.g. other jobs' short-lived ones, and rounding between the two accountings).
   */
  restDetail: {
    irqSoftirq: number;
    otherProcesses: number | null;
    unattributed: number | null;
    top: { process: string; cpuSeconds: number }[];
  };
  /** cores x 1e6 / box CPU-s per 1M rows: rows/s if every core did only this work at this cost per row. */
  ceilingRowsPerSec: number | null;
  /** cores x 1e6 / (broker + server CPU-s per 1M rows): the same with a worker that costs nothing. */
  ceilingZeroCostWorkerRowsPerSec: number | null;
  /** cores x 1e6 / (worker + broker + server CPU-s per 1M rows): the pipeline alone, without the rest of the box. */
  ceilingPipelineRowsPerSec: number | null;
}

export function figures(r: ChildResult, fromTimestamp = 0): ConsumerFigures {
  const wall = (r.endedAt - r.startedAt) / 1000;
  const lat =
    fromTimestamp > 0 ? r.latencies.filter((_, i) => r.timestamps[i]! >= fromTimestamp) : r.latencies;
  const messageLog: [number, number][] = r.writes;
  return {
    messages: r.messages,
    rows: r.rows,
    rowsPerSec: Math.round(sustainedRate(messageLog)),
    rowsPerSecWall: Math.round(r.rows / wall),
    messagesPerSec: Math.round(r.messages / wall),
    cpuSeconds: round(r.cpuMs / 1000, 2),
    cpuSecondsPerMillionRows: round(r.cpuMs / 1000 / (r.rows / 1e6), 2),
    cpuSecondsPerMillionRowsSustained: r.sustained
      ? round(r.sustained.cpuMs / 1000 / (r.sustained.rows / 1e6), 2)
      : null,
    cores: round(r.cpuMs / 1000 / wall, 2),
    peakRssMB: Math.round(r.peakRssBytes / 2 ** 20),
    wallSeconds: round(wall, 2),
    latencyMs: roundAll(summarize(lat)),
  };
}

/** How the supervised run's CPU and memory split between the worker's supervisor and its cell(s). */
export interface ProcessModelFigures {
  supervisorCpuSeconds: number;
  cellCpuSeconds: number;
  /**
   * The cell's CPU from its fork to its first report reaching the supervisor: Node's boot and module
   * loading, which the in-process child pays before its window begins (may include the first
   * milliseconds of the runner's start).
   */
  cellStartupCpuSeconds: number;
  supervisorPeakRssMB: number;
  cellPeakRssMB: number;
  /** Cell processes seen (more than 1: a cell was restarted, the run is not a clean measurement). */
  cells: number;
  /** WEIR_WORKER_CELL_REPORT_MS and WEIR_WORKER_CELL_NICE the cells ran with. */
  cellReportMs: number;
  cellNice: number;
}

/** The supervisor/cell split of a "weir-cell" child's result (null for other children). */
export function processModelFigures(r: ChildResult): ProcessModelFigures | null {
  const p = r.parts;
  if (!p || p.cellCpuMs === undefined || r.rows === 0) return null;
  return {
    supervisorCpuSeconds: round((p.ownCpuMs ?? 0) / 1000, 2),
    cellCpuSeconds: round(p.cellCpuMs / 1000, 2),
    cellStartupCpuSeconds: round((p.cellStartupCpuMs ?? 0) / 1000, 2),
    supervisorPeakRssMB: Math.round((p.ownPeakRssBytes ?? 0) / 2 ** 20),
    cellPeakRssMB: Math.round((p.cellPeakRssBytes ?? 0) / 2 ** 20),
    cells: p.cells ?? 0,
    cellReportMs: p.cellReportMs ?? 0,
    cellNice: p.cellNice ?? 0,
  };
}

/** The box's CPU over a child's window, split by process, per row, and the ceilings it implies. */
export function boxCpuFigures(r: ChildResult, cores: number, hz: number): BoxCpuFigures | null {
  if (!r.cpuSamples || r.rows === 0) return null;
  const d = cpuDelta(r.cpuSamples.start, r.cpuSamples.end, hz);
  if (!d.box || d.seconds <= 0) return null;
  const worker = r.cpuMs / 1000;
  const broker = d.procs.broker ?? null;
  const server = d.procs.server ?? null;
  const bench = d.procs.bench ?? null;
  const rest =
    broker === null || server === null || bench === null
      ? null
      : d.box.busy - worker - broker - server - bench;
  const seconds: CpuParts = { worker, broker, server, bench, rest, box: d.box.busy };
  const perM = (x: number) => x / (r.rows / 1e6);
  const perMOrNull = (x: number | null) => (x === null ? null : perM(x));
  const perMillion: CpuParts = {
    worker: perM(worker),
    broker: perMOrNull(broker),
    server: perMOrNull(server),
    bench: perMOrNull(bench),
    rest: perMOrNull(rest),
    box: perM(d.box.busy),
  };
  const ceiling = (cpuPerMillion: number) =>
    cpuPerMillion > 0 ? Math.round((cores * 1e6) / cpuPerMillion) : null;
  const others = d.others ? d.others.reduce((sum, [, x]) => sum + x, 0) : null;
  const services =
    perMillion.broker === null || perMillion.server === null ? null : perMillion.broker + perMillion.server;
  return {
    windowSeconds: round(d.seconds, 2),
    rows: r.rows,
    cores,
    cpuSeconds: { ...roundParts(seconds), boxIdle: round(d.box.idle, 2), boxSteal: round(d.box.steal, 2) },
    cpuSecondsPerMillionRows: roundParts(perMillion),
    boxBusyCores: round(d.box.busy / d.seconds, 2),
    boxCoresAccounted: round((d.box.busy + d.box.idle + d.box.steal) / d.seconds, 2),
    restDetail: {
      irqSoftirq: round(d.box.irq, 2),
      otherProcesses: others === null ? null : round(others, 2),
      unattributed: others === null || rest === null ? null : round(rest - d.box.irq - others, 2),
      top: (d.others ?? []).slice(0, 5).map(([process, x]) => ({ process, cpuSeconds: round(x, 2) })),
    },
    ceilingRowsPerSec: ceiling(perMillion.box),
    ceilingZeroCostWorkerRowsPerSec: services === null ? null : ceiling(services),
    ceilingPipelineRowsPerSec: services === null ? null : ceiling(perMillion.worker + services),
  };
}

function roundParts(p: CpuParts): CpuParts {
  const r2 = (x: number | null) => (x === null ? null : round(x, 2));
  return {
    worker: round(p.worker, 2),
    broker: r2(p.broker),
    server: r2(p.server),
    bench: r2(p.bench),
    rest: r2(p.rest),
    box: round(p.box, 2),
  };
}

export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function roundAll(s: LatencySummary): LatencySummary {
  return {
    messages: s.messages,
    p50: Math.round(s.p50),
    p95: Math.round(s.p95),
    p99: Math.round(s.p99),
    max: Math.round(s.max),
    mean: Math.round(s.mean),
  };
}

/** Run a child until it has written `opts.expectedMessages`; fail if it stalls for `stallMs`. */
export async function runToCompletion(
  name: ChildName,
  opts: ChildOptions,
  label: string,
  stallMs = 120_000,
): Promise<ChildResult> {
  const child = startChild(name, opts);
  let last = -1;
  let lastChange = Date.now();
  const ticker = setInterval(() => {
    const m = child.progress.messages;
    if (m !== last) {
      last = m;
      lastChange = Date.now();
      process.stderr.write(
        `  ${label}: ${m}/${opts.expectedMessages} messages, ${child.progress.rows} rows\n`,
      );
    } else if (Date.now() - lastChange > stallMs) {
      child.proc.kill("SIGKILL");
    }
  }, 2000);
  try {
    return await child.result;
  } finally {
    clearInterval(ticker);
  }
}
