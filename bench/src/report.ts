/** The results file (JSON, one per run) and the one-screen summary printed at the end. */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";
import { type BusyResults, busySummary } from "./busy.ts";
import { type ClientComparison, type ClientEndToEnd, type ClientFigures, clientLines } from "./clients.ts";
import type { ComputeResult } from "./compute.ts";
import type { InputFormat } from "./data.ts";
import type { DecodeCost } from "./decode.ts";
import type { LoadStats } from "./load.ts";
import type { BoxCpuFigures, ConsumerFigures } from "./measure.ts";
import type { ProcessModelResults, SupervisedRun } from "./processmodel.ts";
import type { ServiceLookup } from "./procstat.ts";

export type { ClientComparison, ClientEndToEnd, ClientFigures };

/** One consumer run's figures, with CPU per 1M spans next to CPU per 1M rows (schema 5). */
export type SpanFigures = ConsumerFigures & {
  verifiedRows: number;
  /** The run's CPU over the spans of the messages it wrote (rows != spans: spans < 1 ms are dropped). */
  cpuSecondsPerMillionSpans: number;
  /** Between the 10% and 90% marks, per 1M spans; null when the run lacked the marks. */
  cpuSecondsPerMillionSpansSustained: number | null;
};

/** Baseline (a) on one input format. */
export type FloorFigures = ComputeResult & {
  rowsPerSec: number;
  cpuSecondsPerMillionRows: number;
  cpuSecondsPerMillionSpans: number;
  /** JSON.parse (otlp_json) or decodeTraces (otlp_proto) of every message + JSON.stringify of every row, no handler, per 1M rows. */
  jsonFloorCpuSecondsPerMillionRows: number;
};

/** Everything measured on one input format's topic (schema 5). */
export interface FormatRun {
  format: InputFormat;
  /** Batch codec of the topic Weir and (b) read for this format. */
  codec: string;
  topic: string;
  load: LoadStats & { messagesPerSec: number; mbPerSec: number };
  weir: SpanFigures;
  /** (a): the handler as a plain function on this format's values in memory. */
  computeFloor?: FloorFigures;
  /** (b): the hand-written kafkajs consumer on the same topic. */
  plainConsumer?: SpanFigures;
  /** Platform overhead: (weir - (a)) / (a), CPU per 1M spans (0.15 = 15%). */
  overhead?: number;
  /** Weir / (b), CPU per row. */
  cpuPerRowVsPlain?: number;
}

/** A fixed-rate run at `fraction` of the format's measured maximum (schema 5). */
export interface LatencyRun {
  format: InputFormat;
  codec: string;
  /** Of Weir's sustained rows/s on the same format in this invocation. */
  fraction: number;
  targetRowsPerSec: number;
  messagesPerSec: number;
  seconds: number;
  producedMessages: number;
  weir: ConsumerFigures;
}

/** One line of the targets block. `met` null: not measured in this run. */
export interface TargetLine {
  /** Stable id, e.g. "cpu.otlp_proto", "overhead.otlp_json", "p99.otlp_proto", "rss10". */
  key: string;
  what: string;
  measured: string;
  target: string;
  met: boolean | null;
  /** Printed after the verdict, e.g. the steady-state figure next to the whole-run one. */
  note?: string;
}

export interface BenchResults {
  /**
   * 2: adds `serviceProcesses` and `boxCpu` on every consumer run (weir, plainConsumer, latency.weir).
   * 3: one topic per codec (`settings.codecs`, `loads`; `load` is the topic Weir and (b) read,
   * `settings.weirCodec`), `clients` per codec (`codec`), `clientsEndToEnd` ((b) on each client and
   * codec) and `clientComparison` (platformatic / kafkajs per codec).
   * 4: adds `processModel` (pairs of in-process and supervised runs of the same pipeline),
   * `weirSupervised` (the first pair's supervised run), their median ratios ("..., supervised /
   * in-process") and `cpuSecondsPerMillionRowsSustained` on every consumer run.
   * 5: one topic per input format (`settings.formats`, compressed with `settings.weirCodec`), Weir,
   * (a) and (b) once per format in `formats` (CPU per 1M spans, overhead over (a), CPU per row over
   * (b)); `weir`, `baselines` and `load` are the first format's (as in schema 4); `loads` has the
   * format of each topic; `latencies` at `settings.latencyFraction` of the max, per latency format
   * (`latency` is the first); `decode` (lever 2: parse vs protobuf decode per span, host and
   * isolate); `targets` (issue 17's, one line each); `busy` (10 pipelines, when measured). The
   * client matrix (`--codecs`) reads otlp_json topics.
   */
  schema: 5;
  date: string;
  git: { sha: string; dirty: boolean };
  command: string;
  machine: Record<string, unknown>;
  versions: Record<string, string>;
  settings: Record<string, unknown>;
  load: LoadStats & { messagesPerSec: number; mbPerSec: number };
  weir: SpanFigures;
  /**
   * The same pipeline through the worker's real process model (the first pair's run): its Supervisor
   * in the measured child, the runner in a forked cell; CPU and peak RSS are the supervisor's plus the
   * cell's. No per-message latencies (progress comes from the cell's reports): `latencyMs` is empty.
   */
  weirSupervised?: SupervisedRun;
  /** Every in-process / supervised pair, and the median ratios. */
  processModel?: ProcessModelResults;
  baselines: {
    computeFloor?: FloorFigures;
    plainConsumer?: SpanFigures;
  };
  /** Per input format: Weir, (a), (b) and the ratios between them. */
  formats: FormatRun[];
  ratios: Record<string, number>;
  /** The first of `latencies` (the target's). */
  latency?: LatencyRun;
  latencies?: LatencyRun[];
  /** Lever 2: decoding cost per span, JSON.parse vs protobuf, on the host and inside an isolate. */
  decode?: DecodeCost;
  /** Per topic: format, codec, what the loader sent and how fast. */
  loads: (LoadStats & {
    format: string;
    codec: string;
    topic: string;
    messagesPerSec: number;
    mbPerSec: number;
  })[];
  /** Consume only, each client on each codec's topic. */
  clients?: ClientFigures[];
  /** The hand-written consumer (b) on each client and codec's topic. */
  clientsEndToEnd?: ClientEndToEnd[];
  clientComparison?: ClientComparison[];
  /** The broker and ClickHouse server processes whose CPU each consumer run reads (null: not measured, see notes). */
  serviceProcesses: ServiceLookup & { clockTicksPerSec: number };
  /**
   * 10 pipelines in one worker (supervisor plus cells), from busy.ts when it ran. Its target line
   * comes from `busyTargetLines`.
   */
  busy?: BusyResults;
  targets: TargetLine[];
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
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** Issue 17's targets (and issue 19's process model), as `settings.targets` records them. */
export const TARGETS = {
  /** Worker CPU-s per 1M spans, per input format (zstd-compressed batches). */
  cpuSecondsPerMillionSpans: { otlp_proto: 10, otlp_json: 18 } as Record<InputFormat, number>,
  /** (Weir - (a)) / (a), CPU per 1M spans. */
  overhead: 0.15,
  /** Weir / (b), CPU per row. */
  cpuPerRowVsPlain: 0.8,
  /** p99 produce-to-insert latency at `latencyFraction` of the measured maximum. */
  p99Ms: 1000,
  latencyFraction: 0.8,
  /** Peak RSS of the whole worker (supervisor plus cells) with 10 pipelines (busy.ts). */
  rss10PipelinesMB: 300,
  processModelCpuPerRowRatio: 1.05,
};

/** The busy-worker runs' target line: the whole worker's peak RSS with 10 busy pipelines. */
export function busyTargetLines(busy: BusyResults | undefined): TargetLine[] {
  const m = busy?.memory;
  if (!m) return [];
  return [
    {
      key: "rss10",
      what: `peak RSS, worker with ${m.pipelines} busy pipelines (supervisor + ${m.cells} cells)`,
      measured: `${n(m.peakRssMB)} MB`,
      target: `<= ${TARGETS.rss10PipelinesMB} MB`,
      met: m.peakRssMB <= TARGETS.rss10PipelinesMB,
    },
  ];
}

/**
 * The targets block, one line per target: per-format worker CPU per 1M spans, platform overhead
 * over (a), CPU per row over (b), p99 at the latency fraction, the 10-pipeline RSS slot (filled from
 * `extra`, see `busyTargetLines`) and the process model. Lines in `extra` with the key of a built-in
 * slot replace it; others are appended.
 */
export function targetLines(
  r: Omit<BenchResults, "summary" | "targets">,
  extra: TargetLine[] = [],
): TargetLine[] {
  const t = TARGETS;
  const lines: TargetLine[] = [];
  const ordered = (["otlp_proto", "otlp_json"] as InputFormat[]).map((format) => ({
    format,
    run: r.formats.find((f) => f.format === format),
  }));
  const label = (format: InputFormat, run: FormatRun | undefined) =>
    run ? `${format}/${run.codec}` : format;
  for (const { format, run } of ordered) {
    const x = run?.weir.cpuSecondsPerMillionSpans;
    const limit = t.cpuSecondsPerMillionSpans[format];
    lines.push({
      key: `cpu.${format}`,
      what: `worker CPU-s per 1M spans, ${label(format, run)}`,
      measured: x === undefined ? "not run" : f2(x),
      target: `<= ${limit}`,
      met: x === undefined ? null : x <= limit,
      ...(run?.weir.cpuSecondsPerMillionSpansSustained != null && {
        note: `whole run; 10-90% window ${f2(run.weir.cpuSecondsPerMillionSpansSustained)}`,
      }),
    });
  }
  for (const { format, run } of ordered) {
    const x = run?.overhead;
    lines.push({
      key: `overhead.${format}`,
      what: `platform overhead, weir over (a) per span, ${format}`,
      measured: x === undefined ? "not run" : pct(x),
      target: `<= ${pct(t.overhead)}`,
      met: x === undefined ? null : x <= t.overhead,
    });
  }
  for (const { format, run } of ordered) {
    const x = run?.cpuPerRowVsPlain;
    lines.push({
      key: `cpuPerRow.${format}`,
      what: `CPU per row, weir / (b) kafkajs consumer, ${format}`,
      measured: x === undefined ? "not run" : `${f2(x)}x`,
      target: `<= ${f2(t.cpuPerRowVsPlain)}x`,
      met: x === undefined ? null : x <= t.cpuPerRowVsPlain,
    });
  }
  const latencies = r.latencies ?? [];
  if (latencies.length === 0)
    lines.push({
      key: "p99.otlp_proto",
      what: `p99 produce-to-insert at ${pct(t.latencyFraction)} of max`,
      measured: "not run",
      target: `<= ${n(t.p99Ms)} ms`,
      met: null,
    });
  for (const l of latencies) {
    const p99 = l.weir.latencyMs.p99;
    lines.push({
      key: `p99.${l.format}`,
      what: `p99 produce-to-insert at ${pct(l.fraction)} of max, ${l.format}/${l.codec}`,
      measured: `${n(p99)} ms`,
      target: `<= ${n(t.p99Ms)} ms`,
      met: l.weir.latencyMs.messages > 0 && p99 <= t.p99Ms,
    });
  }
  lines.push({
    key: "rss10",
    what: "peak RSS, worker with 10 pipelines (supervisor + cells)",
    measured: r.busy === undefined ? "not measured" : "see busy",
    target: `<= ${t.rss10PipelinesMB} MB`,
    met: null,
  });
  const m = r.processModel;
  if (m) {
    const steady = m.overall.cpuPerRowSustained;
    lines.push({
      key: "processModel",
      what: `process model CPU per row, supervised / in-process, sustained (${m.pairs.length} pairs)`,
      measured: steady === null ? "n/a" : `${steady.toFixed(3)}x`,
      target: `<= ${t.processModelCpuPerRowRatio}x`,
      met: steady === null ? null : steady <= t.processModelCpuPerRowRatio,
    });
  }
  for (const e of extra) {
    const i = lines.findIndex((l) => l.key === e.key);
    if (i >= 0) lines[i] = e;
    else lines.push(e);
  }
  return lines;
}

function targetBlock(targets: TargetLine[]): string[] {
  const status = (m: boolean | null) => (m === null ? "n/a" : m ? "MET" : "MISSED");
  return [
    `targets (issue 17)${" ".repeat(61)}measured   target`,
    ...targets.map((t) =>
      `  ${t.what.padEnd(72)} ${t.measured.padStart(12)}   ${t.target.padEnd(12)} ${status(t.met).padEnd(6)}${t.note ? `  (${t.note})` : ""}`.trimEnd(),
    ),
  ];
}

export function summary(r: Omit<BenchResults, "summary">): string {
  const w = r.weir;
  const lines = [
    `Weir bench ${r.date} ${r.git.sha}${r.git.dirty ? "+dirty" : ""}  ${r.machine.cpus} cores, ${r.load.messages} messages x ${r.settings.spansPerMessage} spans = ${n(r.load.spans)} spans -> ${n(r.load.expectedRows)} rows, ${r.settings.partitions} partitions`,
    `load: ${r.loads.map((l) => `${l.format}/${l.codec} ${n(l.messagesPerSec)} msg/s, ${f2(l.mbPerSec)} MB/s (${n(l.bytes / l.messages / 1000)} KB a message)`).join("; ")}`,
    `      weir and (b) read the ${r.settings.weirCodec} topic of each format; the Kafka client matrix the otlp_json topics`,
    "",
    "                                  rows/s   CPU-s/1M rows  CPU-s/1M spans   cores   peak RSS",
  ];
  const row = (
    label: string,
    x: { rowsPerSec: number; cpuSecondsPerMillionRows: number; cores?: number; peakRssMB?: number },
    spans: number | undefined,
    note: string,
  ) =>
    `  ${label.padEnd(26)} ${n(x.rowsPerSec).padStart(10)}   ${f2(x.cpuSecondsPerMillionRows).padStart(13)}  ${(spans === undefined ? "-" : f2(spans)).padStart(14)}   ${(x.cores === undefined ? "1.00" : f2(x.cores)).padStart(5)}   ${x.peakRssMB === undefined ? "       -" : `${String(x.peakRssMB).padStart(5)} MB`}   ${note}`;
  for (const f of r.formats)
    lines.push(
      row(
        `weir ${f.format}/${f.codec}`,
        f.weir,
        f.weir.cpuSecondsPerMillionSpans,
        `(${n(f.weir.verifiedRows)} rows verified in ClickHouse)`,
      ),
    );
  const s = r.weirSupervised;
  if (s)
    lines.push(
      row(
        `weir supervised ${r.formats[0]?.format ?? ""}`,
        s,
        undefined,
        `(${n(s.verifiedRows)} rows verified; supervisor + cell process)`,
      ),
    );
  for (const f of r.formats)
    if (f.plainConsumer)
      lines.push(
        row(
          `(b) plain ${f.format}`,
          f.plainConsumer,
          f.plainConsumer.cpuSecondsPerMillionSpans,
          `(${n(f.plainConsumer.verifiedRows)} rows verified)`,
        ),
      );
  for (const f of r.formats)
    if (f.computeFloor)
      lines.push(
        row(
          `(a) floor ${f.format}`,
          f.computeFloor,
          f.computeFloor.cpuSecondsPerMillionSpans,
          `(handler only, values in memory; ${f.format === "otlp_proto" ? "decodeTraces" : "JSON.parse"})`,
        ),
      );
  lines.push("");
  const ratios = Object.entries(r.ratios).filter(([k]) => !isProcessModelRatio(k));
  for (const [k, v] of ratios) lines.push(`  ${k.padEnd(58)} ${f2(v)}x`);
  for (const f of r.formats)
    if (f.overhead !== undefined)
      lines.push(
        `  ${`platform overhead per span, (weir - (a)) / (a), ${f.format}`.padEnd(58)} ${pct(f.overhead)}`,
      );
  lines.push(
    `  backlog latency (preloaded topic, not a target) p50/p95/p99: ${r.formats.map((f) => `${f.format} ${n(f.weir.latencyMs.p50)} / ${n(f.weir.latencyMs.p95)} / ${n(f.weir.latencyMs.p99)} ms`).join("; ") || `${n(w.latencyMs.p50)} / ${n(w.latencyMs.p95)} / ${n(w.latencyMs.p99)} ms`}`,
  );
  lines.push(...processModelLines(r));
  for (const l of r.latencies ?? []) {
    const x = l.weir.latencyMs;
    lines.push(
      `latency at ${n(l.targetRowsPerSec)} rows/s (${n(l.messagesPerSec)} msg/s, ${pct(l.fraction)} of the max), ${l.format}/${l.codec}, for ${l.seconds}s: p50 ${n(x.p50)} ms, p95 ${n(x.p95)} ms, p99 ${n(x.p99)} ms (target ${n(TARGETS.p99Ms)}), max ${n(x.max)} ms over ${n(x.messages)} messages; worker ${f2(l.weir.cores)} cores`,
    );
  }
  lines.push(...decodeLines(r));
  if (r.busy) lines.push(...busySummary(r.busy));
  lines.push(...clientLines(r.clients ?? [], r.clientsEndToEnd ?? []));
  lines.push(...boxCpuLines(r), ...floorLines(r));
  lines.push("", ...targetBlock(r.targets));
  return lines.join("\n");
}

/** Lever 2: reading a message per span, JSON.parse against protobuf, on the host and in an isolate. */
function decodeLines(r: Omit<BenchResults, "summary">): string[] {
  const d = r.decode;
  if (!d) return [];
  const i = d.isolate;
  return [
    `decode per span (lever 2; ${n(d.messages)} messages, ${n(d.spans)} spans, ${n(d.jsonBytesPerMessage / 1000)} KB JSON vs ${n(d.protoBytesPerMessage / 1000)} KB protobuf a message): host JSON.parse ${d.host.jsonParseUsPerSpan.toFixed(3)} us vs decodeTraces ${d.host.protoDecodeUsPerSpan.toFixed(3)} us (${f2(d.host.ratio)}x); in an isolate, handler returning null: json ${i.json.isolateCpuUsPerSpan.toFixed(3)} us vs otlp_proto ${i.otlp_proto.isolateCpuUsPerSpan.toFixed(3)} us isolate CPU (${f2(i.ratio)}x), process CPU ${i.json.processCpuUsPerSpan.toFixed(3)} vs ${i.otlp_proto.processCpuUsPerSpan.toFixed(3)} us`,
  ];
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
 * The bound any pipeline reading this format and writing JSONEachRow has on this box: the format
 * floor (JSON.parse or decodeTraces + JSON.stringify, no handler, no Kafka client) plus what the
 * broker and the ClickHouse server spent per row in Weir's run on the same format, over the cores.
 */
function floorLines(r: Omit<BenchResults, "summary">): string[] {
  const lines: string[] = [];
  for (const f of r.formats) {
    const a = f.computeFloor;
    if (!a) continue;
    const b = f.weir.boxCpu;
    const parse = a.parseCpuSeconds / (a.rows / 1e6);
    const stringify = a.stringifyCpuSeconds / (a.rows / 1e6);
    const reader = f.format === "otlp_proto" ? "decodeTraces" : "JSON.parse";
    lines.push(
      `${f.format} floor (${reader} per message + JSON.stringify per row, nothing else): ${f2(a.jsonFloorCpuSecondsPerMillionRows)} CPU-s/1M rows (${reader} ${f2(parse)}, stringify ${f2(stringify)})`,
    );
    const broker = b?.cpuSecondsPerMillionRows.broker;
    const server = b?.cpuSecondsPerMillionRows.server;
    // Both services measured, or no bound: a missing one would understate the box's cost per row.
    if (!b || broker == null || server == null) continue;
    const services = broker + server;
    const total = a.jsonFloorCpuSecondsPerMillionRows + services;
    lines.push(
      `  + broker and CH server in Weir's ${f.format} run ${f2(services)} = ${f2(total)} CPU-s/1M rows: at most ${n((b.cores * 1e6) / total)} rows/s on ${b.cores} cores for any handler`,
    );
  }
  return lines;
}

/** The "where the box's CPU went" block: one line per consumer run. */
function boxCpuLines(r: Omit<BenchResults, "summary">): string[] {
  const short = (f: string) => (f === "otlp_proto" ? "proto" : "json");
  const runs: [string, BoxCpuFigures | null | undefined][] = r.formats.map((f) => [
    `weir ${short(f.format)}`,
    f.weir.boxCpu,
  ]);
  if (r.weirSupervised) runs.push(["weir supervised", r.weirSupervised.boxCpu]);
  for (const f of r.formats)
    if (f.plainConsumer) runs.push([`(b) plain ${short(f.format)}`, f.plainConsumer.boxCpu]);
  for (const l of r.latencies ?? []) runs.push([`latency ${short(l.format)}`, l.weir.boxCpu]);
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
