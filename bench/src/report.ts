/** The results file (JSON, one per run) and the one-screen summary printed at the end. */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";
import { type ClientComparison, type ClientEndToEnd, type ClientFigures, clientLines } from "./clients.ts";
import type { ComputeResult } from "./compute.ts";
import type { LoadStats } from "./load.ts";
import type { BoxCpuFigures, ConsumerFigures } from "./measure.ts";
import type { ProcessModelResults, SupervisedRun } from "./processmodel.ts";
import type { ServiceLookup } from "./procstat.ts";

export type { ClientComparison, ClientEndToEnd, ClientFigures };

export interface BenchResults {
  /**
   * 2: adds `serviceProcesses` and `boxCpu` on every consumer run (weir, plainConsumer, latency.weir).
   * 3: one topic per codec (`settings.codecs`, `loads`; `load` is the topic Weir and (b) read,
   * `settings.weirCodec`), `clients` per codec (`codec`), `clientsEndToEnd` ((b) on each client and
   * codec) and `clientComparison` (platformatic / kafkajs per codec).
   * 4: adds `processModel` (pairs of in-process and supervised runs of the same pipeline),
   * `weirSupervised` (the first pair's supervised run), their median ratios ("..., supervised /
   * in-process") and `cpuSecondsPerMillionRowsSustained` on every consumer run.
   */
  schema: 4;
  date: string;
  git: { sha: string; dirty: boolean };
  command: string;
  machine: Record<string, unknown>;
  versions: Record<string, string>;
  settings: Record<string, unknown>;
  load: LoadStats & { messagesPerSec: number; mbPerSec: number };
  weir: ConsumerFigures & { verifiedRows: number };
  /**
   * The same pipeline through the worker's real process model (the first pair's run): its Supervisor
   * in the measured child, the runner in a forked cell; CPU and peak RSS are the supervisor's plus the
   * cell's. No per-message latencies (progress comes from the cell's reports): `latencyMs` is empty.
   */
  weirSupervised?: SupervisedRun;
  /** Every in-process / supervised pair, and the median ratios. */
  processModel?: ProcessModelResults;
  baselines: {
    computeFloor?: ComputeResult & {
      rowsPerSec: number;
      cpuSecondsPerMillionRows: number;
      /** JSON.parse of every message + JSON.stringify of every row, no handler, per 1M rows. */
      jsonFloorCpuSecondsPerMillionRows: number;
    };
    plainConsumer?: ConsumerFigures & { verifiedRows: number };
  };
  ratios: Record<string, number>;
  latency?: {
    targetRowsPerSec: number;
    messagesPerSec: number;
    seconds: number;
    producedMessages: number;
    weir: ConsumerFigures;
  };
  /** Per codec topic: what the loader sent and how fast. */
  loads: (LoadStats & { codec: string; topic: string; messagesPerSec: number; mbPerSec: number })[];
  /** Consume only, each client on each codec's topic. */
  clients?: ClientFigures[];
  /** The hand-written consumer (b) on each client and codec's topic. */
  clientsEndToEnd?: ClientEndToEnd[];
  clientComparison?: ClientComparison[];
  /** The broker and ClickHouse server processes whose CPU each consumer run reads (null: not measured, see notes). */
  serviceProcesses: ServiceLookup & { clockTicksPerSec: number };
  summary: string;
}

function git(args: string[]): string {
  try {
    return execFileSync("git", args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "unknown";
  }
}

export function gitInfo(): { sha: string; dirty: boolean } {
  const dirty = git(["status", "--porcelain", "--untracked-files=no"]).length > 0;
  return { sha: git(["rev-parse", "--short", "HEAD"]), dirty };
}

export function machine(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    hostname: os.hostname(),
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? "unknown",
    memoryGB: Math.round(os.totalmem() / 2 ** 30),
    kernel: `${os.type()} ${os.release()}`,
    loadAverageAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
    note: "Kafka, ClickHouse and the benchmark share these cores; other jobs may run on the machine",
  };
}

/** A package's installed version, read from its package.json next to the bench's node_modules. */
export function packageVersion(name: string): string {
  try {
    const url = new URL(`../node_modules/${name}/package.json`, import.meta.url);
    return (JSON.parse(readFileSync(url, "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

const n = (x: number) => Math.round(x).toLocaleString("en-US");
const f2 = (x: number) => x.toFixed(2);

export function summary(r: Omit<BenchResults, "summary">): string {
  const w = r.weir;
  const a = r.baselines.computeFloor;
  const b = r.baselines.plainConsumer;
  const lines = [
    `Weir bench ${r.date} ${r.git.sha}${r.git.dirty ? "+dirty" : ""}  ${r.machine.cpus} cores, ${r.load.messages} messages x ${r.settings.spansPerMessage} spans = ${n(r.load.spans)} spans -> ${n(r.load.expectedRows)} rows, ${r.settings.partitions} partitions`,
    `load: ${r.loads.map((l) => `${l.codec} ${n(l.messagesPerSec)} msg/s, ${f2(l.mbPerSec)} MB/s`).join("; ")} into Kafka; weir and (b) read the ${r.settings.weirCodec} topic`,
    "",
    "                          rows/s   CPU-s/1M rows   cores   peak RSS",
    `  weir (sandbox, CH)  ${n(w.rowsPerSec).padStart(10)}   ${f2(w.cpuSecondsPerMillionRows).padStart(13)}   ${f2(w.cores).padStart(5)}   ${String(w.peakRssMB).padStart(5)} MB   (${n(w.verifiedRows)} rows verified in ClickHouse)`,
  ];
  const s = r.weirSupervised;
  if (s)
    lines.push(
      `  weir supervised     ${n(s.rowsPerSec).padStart(10)}   ${f2(s.cpuSecondsPerMillionRows).padStart(13)}   ${f2(s.cores).padStart(5)}   ${String(s.peakRssMB).padStart(5)} MB   (${n(s.verifiedRows)} rows verified; supervisor + cell process)`,
    );
  if (b)
    lines.push(
      `  (b) plain consumer  ${n(b.rowsPerSec).padStart(10)}   ${f2(b.cpuSecondsPerMillionRows).padStart(13)}   ${f2(b.cores).padStart(5)}   ${String(b.peakRssMB).padStart(5)} MB   (${n(b.verifiedRows)} rows verified)`,
    );
  if (a)
    lines.push(
      `  (a) compute floor   ${n(a.rowsPerSec).padStart(10)}   ${f2(a.cpuSecondsPerMillionRows).padStart(13)}    1.00          -   (handler only, strings in memory)`,
    );
  lines.push("");
  const ratios = Object.entries(r.ratios).filter(([k]) => !isProcessModelRatio(k));
  for (const [k, v] of ratios) lines.push(`  ${k.padEnd(44)} ${f2(v)}x`);
  lines.push(
    `  backlog latency (preloaded topic, not a target) p50/p95/p99: ${n(w.latencyMs.p50)} / ${n(w.latencyMs.p95)} / ${n(w.latencyMs.p99)} ms`,
  );
  lines.push(...processModelLines(r));
  if (r.latency) {
    const l = r.latency.weir.latencyMs;
    lines.push(
      `latency at ${n(r.latency.targetRowsPerSec)} rows/s (${n(r.latency.messagesPerSec)} msg/s, half the max) for ${r.latency.seconds}s: p50 ${n(l.p50)} ms, p95 ${n(l.p95)} ms, p99 ${n(l.p99)} ms, max ${n(l.max)} ms over ${n(l.messages)} messages; worker ${f2(r.latency.weir.cores)} cores`,
    );
  }
  lines.push(...clientLines(r.clients ?? [], r.clientsEndToEnd ?? []));
  lines.push(...boxCpuLines(r), ...jsonFloorLines(r));
  const cpuRatio = r.ratios["CPU per row, weir / (b) plain consumer"];
  const t = r.settings.targets as {
    rowsPerSec: number;
    cpuPerRowRatio: number;
    p99Ms: number;
    processModelCpuPerRowRatio: number;
  };
  lines.push(
    "",
    `targets: >= ${n(t.rowsPerSec)} rows/s: ${w.rowsPerSec >= t.rowsPerSec ? "MET" : "MISSED"}; CPU/row <= ${t.cpuPerRowRatio}x plain consumer: ${
      cpuRatio === undefined ? "n/a" : cpuRatio <= t.cpuPerRowRatio ? "MET" : "MISSED"
    }; p99 <= ${n(t.p99Ms)} ms at half max: ${r.latency ? (r.latency.weir.latencyMs.p99 <= t.p99Ms ? "MET" : "MISSED") : "n/a"}`,
  );
  const m = r.processModel;
  if (m) {
    const steady = m.overall.cpuPerRowSustained;
    const range = m.sustainedRange
      ? `, pairs ${m.sustainedRange[0].toFixed(2)}-${m.sustainedRange[1].toFixed(2)}x`
      : "";
    lines.push(
      `         process model <= ${t.processModelCpuPerRowRatio}x CPU per row (supervised / in-process, sustained, ${m.pairs.length} pairs): ${
        steady === null ? "n/a" : steady <= t.processModelCpuPerRowRatio ? "MET" : "MISSED"
      } (${steady === null ? "n/a" : `${steady.toFixed(3)}x`}${range}; whole runs with the cell's start-up ${m.overall.cpuPerRow.toFixed(3)}x)`,
    );
  }
  return lines.join("\n");
}

const isProcessModelRatio = (k: string) => k.endsWith("supervised / in-process");

/** The process model's cost: each in-process / supervised pair, the medians, and the supervisor/cell split. */
function processModelLines(r: Omit<BenchResults, "summary">): string[] {
  const m = r.processModel;
  if (!m) return [];
  const x = (v: number | null) => (v === null ? "n/a" : `${v.toFixed(3)}x`);
  const c = (v: number | null) => (v === null ? "n/a" : f2(v));
  const lines = [
    `process model: the same pipeline in-process vs through the worker's supervisor + a cell process, ${m.pairs.length} pair(s), order alternating`,
    "                          rows/s in / sup      CPU-s/1M rows in / sup   sustained in / sup   CPU/row  sustained  rows/s",
  ];
  m.pairs.forEach((p, i) => {
    const a = p.inProcess;
    const b = p.supervised;
    lines.push(
      `  ${`${i + 1} ${p.order}`.padEnd(20)} ${`${n(a.rowsPerSec)} / ${n(b.rowsPerSec)}`.padStart(17)}   ${`${f2(a.cpuSecondsPerMillionRows)} / ${f2(b.cpuSecondsPerMillionRows)}`.padStart(22)}   ${`${c(a.cpuSecondsPerMillionRowsSustained)} / ${c(b.cpuSecondsPerMillionRowsSustained)}`.padStart(18)}  ${x(p.cpuPerRow).padStart(7)}  ${x(p.cpuPerRowSustained).padStart(9)}  ${x(p.throughput).padStart(6)}`,
    );
  });
  lines.push(
    `  ${"all pairs".padEnd(20)} ${"(mean supervised / mean in-process)".padEnd(65)}  ${x(m.overall.cpuPerRow).padStart(7)}  ${x(m.overall.cpuPerRowSustained).padStart(9)}  ${x(m.overall.throughput).padStart(6)}`,
    `  the supervisor alone: ${f2(m.supervisorCores * 100)}% of a core while the pipeline runs (mean over the supervised runs)`,
  );
  for (const [i, p] of m.pairs.entries()) {
    const s = p.supervised.processModel;
    lines.push(
      `  pair ${i + 1} supervised: supervisor ${f2(s.supervisorCpuSeconds)} + cell ${f2(s.cellCpuSeconds)} CPU-s (cell start-up ${f2(s.cellStartupCpuSeconds)}), peak RSS ${s.supervisorPeakRssMB} + ${s.cellPeakRssMB} MB; cell reports every ${s.cellReportMs} ms, nice ${s.cellNice}${
        s.cells !== 1 ? `; WARNING: ${s.cells} cell processes (restarted), not a clean measurement` : ""
      }`,
    );
  }
  return lines;
}

/**
 * The bound any JSON-in, JSONEachRow-out pipeline has on this box: the JSON floor (parse + stringify,
 * no handler, no Kafka client) plus what the broker and the ClickHouse server spent per row in Weir's
 * run, over the box's cores.
 */
function jsonFloorLines(r: Omit<BenchResults, "summary">): string[] {
  const a = r.baselines.computeFloor;
  const b = r.weir.boxCpu;
  if (!a || a.jsonFloorCpuSecondsPerMillionRows === undefined) return [];
  const parse = a.parseCpuSeconds / (a.rows / 1e6);
  const stringify = a.stringifyCpuSeconds / (a.rows / 1e6);
  const line = `JSON floor (JSON.parse per message + JSON.stringify per row, nothing else): ${f2(a.jsonFloorCpuSecondsPerMillionRows)} CPU-s/1M rows (parse ${f2(parse)}, stringify ${f2(stringify)})`;
  const broker = b?.cpuSecondsPerMillionRows.broker;
  const server = b?.cpuSecondsPerMillionRows.server;
  // Both services measured, or no bound: a missing one would understate the box's cost per row.
  if (!b || broker == null || server == null) return [line];
  const services = broker + server;
  const total = a.jsonFloorCpuSecondsPerMillionRows + services;
  return [
    line,
    `  + broker and CH server in Weir's run ${f2(services)} = ${f2(total)} CPU-s/1M rows: at most ${n((b.cores * 1e6) / total)} rows/s on ${b.cores} cores for any handler`,
  ];
}

/** The "where the box's CPU went" block: one line per consumer run. */
function boxCpuLines(r: Omit<BenchResults, "summary">): string[] {
  const runs: [string, BoxCpuFigures | null | undefined][] = [["weir (sandbox, CH)", r.weir.boxCpu]];
  if (r.weirSupervised) runs.push(["weir supervised", r.weirSupervised.boxCpu]);
  if (r.baselines.plainConsumer) runs.push(["(b) plain consumer", r.baselines.plainConsumer.boxCpu]);
  if (r.latency) runs.push(["latency run (weir)", r.latency.weir.boxCpu]);
  const measured = runs.filter((x): x is [string, BoxCpuFigures] => Boolean(x[1]));
  if (measured.length === 0) return ["where the box's CPU went: not measured (no /proc)"];
  const c = (x: number | null, w: number) => (x === null ? "n/a" : f2(x)).padStart(w);
  const rate = (x: number | null, w: number) => (x === null ? "n/a" : `${n(x)}/s`).padStart(w);
  const lines = [
    "where the box's CPU went, CPU-s per 1M rows over each run (box: /proc/stat busy time, every process):",
    "                      worker  broker  CH server  bench   rest     box  box cores  box ceiling  0-cost worker",
  ];
  for (const [label, b] of measured) {
    const p = b.cpuSecondsPerMillionRows;
    lines.push(
      `  ${label.padEnd(18)} ${c(p.worker, 7)} ${c(p.broker, 7)} ${c(p.server, 10)} ${c(p.bench, 6)} ${c(p.rest, 6)} ${c(p.box, 7)} ${`${f2(b.boxBusyCores)} of ${b.cores}`.padStart(10)} ${rate(b.ceilingRowsPerSec, 12)} ${rate(b.ceilingZeroCostWorkerRowsPerSec, 14)}`,
    );
  }
  // Name what "rest" was when it is not small: usually other jobs on a shared box.
  for (const [label, b] of measured) {
    const rest = b.cpuSeconds.rest;
    const d = b.restDetail;
    if (rest === null || rest <= 0.1 * b.cpuSeconds.box) continue;
    const top = d.top[0] ? ` (largest: ${d.top[0].process}, ${f2(d.top[0].cpuSeconds)})` : "";
    lines.push(
      `  rest of ${label}: ${f2(rest)} CPU-s = other processes ${d.otherProcesses === null ? "n/a" : f2(d.otherProcesses)}${top} + irq/softirq ${f2(d.irqSoftirq)} + exited/unattributed ${d.unattributed === null ? "n/a" : f2(d.unattributed)}`,
    );
  }
  for (const note of r.serviceProcesses.notes) lines.push(`  ${note}`);
  return lines;
}
