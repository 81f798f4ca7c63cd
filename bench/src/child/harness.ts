/**
 * The measuring side of a consumer child process (Weir's runner or the hand-written baseline): it
 * records every acknowledged write, the per-message latency, the process's CPU and peak RSS, and
 * talks to the parent over IPC. Both contenders use this same code, so they are measured the same way.
 */
import type { InputFormat } from "../data.ts";
import { type CpuSample, sampleCpu } from "../procstat.ts";
import { cpuMs, peakRssBytes } from "../stats.ts";

/** What the parent passes to a child (as JSON in argv[2]). */
export interface ChildOptions {
  brokers: string[];
  clickhouseUrl: string;
  topic: string;
  groupId: string;
  table: string;
  /** Stop by itself once this many messages are covered by writes; 0 = run until told to stop. */
  expectedMessages: number;
  maxBatchRows: number;
  maxBatchWaitMs: number;
  partitionConcurrency: number;
  sandboxChunk: number;
  /** Sandbox isolates per pipeline (Weir only). */
  isolates: number;
  /** Node/V8 flags the child runs with (besides --no-node-snapshot and tsx); the same for every contender. */
  nodeFlags: string[];
  /**
   * How the topic's values are encoded (the Kafka source's `format`; default otlp_json). Weir's
   * children put it in the pipeline spec; the plain consumer (b) JSON.parses or decodeTraces.
   */
  format?: InputFormat;
  /** Consume-only children: which client. */
  client?: "kafkajs" | "platformatic";
  /**
   * Other processes whose CPU to read from /proc at the same two moments as this child's own
   * (name -> pid: the broker, the ClickHouse server, the bench parent), along with /proc/stat.
   */
  watchPids?: Record<string, number>;
}

export interface ChildResult {
  messages: number;
  rows: number;
  bytes: number;
  /** Date.now() when consumption began, and of the last acknowledged write. */
  startedAt: number;
  endedAt: number;
  cpuMs: number;
  /** /proc/stat and the watched pids, read right after cpuUsage() at begin() and at completion. */
  cpuSamples?: { start: CpuSample; end: CpuSample };
  peakRssBytes: number;
  /** Cumulative (time, rows) after each write, for the sustained rate. */
  writes: [number, number][];
  /** Per message: ack time - record timestamp, ms. */
  latencies: number[];
  /** Per message: record timestamp, ms (to select a window in the latency run). */
  timestamps: number[];
  /**
   * Between the first writes that reached 10% and 90% of the expected messages: the same window as
   * the sustained rows/s, so start-up (process boot, group join, isolates) and the drain of the last
   * partitions are out of its CPU too. Absent when the run had no expected count or was too short.
   */
  sustained?: { seconds: number; messages: number; rows: number; cpuMs: number };
  /**
   * When other processes count as this consumer's (the worker's cells, see `Recorder.countAlso`):
   * the breakdown of `cpuMs` and `peakRssBytes` between this process (`ownCpuMs`, `ownPeakRssBytes`)
   * and them, plus whatever the child adds.
   */
  parts?: Record<string, number>;
}

/** Processes other than the child's own whose CPU and memory are the consumer's, read at completion. */
export interface ExtraUsage {
  /** Their CPU since begin(), ms (also read at the 10% and 90% marks). */
  cpuMs: number;
  /** Sum of their peak RSS. */
  peakRssBytes: number;
  /** Their pids, left out of the box's "other processes" (they are in the worker's CPU). */
  pids: number[];
  /** A breakdown reported as is in `ChildResult.parts`. */
  parts: Record<string, number>;
}

export type ToParent =
  | { type: "ready" }
  | { type: "progress"; messages: number; rows: number }
  | { type: "done"; result: ChildResult }
  | { type: "error"; message: string };

export class Recorder {
  messages = 0;
  rows = 0;
  bytes = 0;
  startedAt = 0;
  private cpuAtStart = 0;
  private samplesAtStart: CpuSample | undefined;
  private endedAt = 0;
  private readonly writes: [number, number][] = [];
  private readonly latencies: number[] = [];
  private readonly timestamps: number[] = [];
  private finished = false;
  private onComplete: (() => void) | undefined;

  private readonly expectedMessages: number;
  private readonly watchPids: Record<string, number>;
  private extra: (() => ExtraUsage) | undefined;
  /** At the 10% and 90% marks of the expected messages. */
  private readonly marks: { at: number; messages: number; rows: number; cpuMs: number }[] = [];
  constructor(expectedMessages: number, watchPids: Record<string, number> = {}) {
    this.expectedMessages = expectedMessages;
    this.watchPids = watchPids;
  }

  /**
   * Count other processes as part of this consumer (the worker's cells): `read` is called at the
   * 10% and 90% marks and at completion, right after this process's own CPU is read. Their CPU is added to `cpuMs`, their
   * peak RSS to `peakRssBytes`.
   */
  countAlso(read: () => ExtraUsage): void {
    this.extra = read;
  }

  /** Call right before consumption starts. */
  begin(): void {
    this.startedAt = Date.now();
    this.cpuAtStart = cpuMs();
    this.samplesAtStart = sampleCpu(this.watchPids, true);
  }

  /** One acknowledged write covering `messages` offsets, with the record timestamps of those that had rows. */
  written(messages: number, rows: number, timestamps: number[], writtenAt: number): void {
    this.messages += messages;
    this.rows += rows;
    for (const ts of timestamps) {
      this.timestamps.push(ts);
      this.latencies.push(writtenAt - ts);
    }
    this.endedAt = writtenAt;
    this.writes.push([writtenAt, this.rows]);
    for (;;) {
      const share = [0.1, 0.9][this.marks.length];
      if (share === undefined || this.expectedMessages <= 0 || this.messages < share * this.expectedMessages)
        break;
      const cpu = cpuMs() - this.cpuAtStart + (this.extra?.().cpuMs ?? 0);
      this.marks.push({ at: writtenAt, messages: this.messages, rows: this.rows, cpuMs: cpu });
    }
    if (this.expectedMessages > 0 && this.messages >= this.expectedMessages) this.complete();
  }

  /** Resolves when the expected messages are written (or `complete()` is called). */
  done(): Promise<void> {
    return new Promise((resolve) => {
      if (this.finished) resolve();
      else this.onComplete = resolve;
    });
  }

  complete(): void {
    if (this.finished) return;
    this.finished = true;
    this.snapshot = this.result();
    this.onComplete?.();
  }

  private snapshot: ChildResult | undefined;

  /** Figures as of completion (CPU and RSS read then, before any shutdown work). */
  result(): ChildResult {
    if (this.snapshot) return this.snapshot;
    const cpu = cpuMs() - this.cpuAtStart;
    const extra = this.extra?.();
    const end = sampleCpu(this.watchPids, true, extra?.pids);
    const rss = peakRssBytes();
    const [m1, m2] = this.marks;
    const sustained =
      m1 && m2 && m2.rows > m1.rows && m2.at > m1.at
        ? {
            seconds: (m2.at - m1.at) / 1000,
            messages: m2.messages - m1.messages,
            rows: m2.rows - m1.rows,
            cpuMs: m2.cpuMs - m1.cpuMs,
          }
        : undefined;
    return {
      messages: this.messages,
      rows: this.rows,
      bytes: this.bytes,
      startedAt: this.startedAt,
      endedAt: this.endedAt || Date.now(),
      cpuMs: cpu + (extra?.cpuMs ?? 0),
      cpuSamples: this.samplesAtStart ? { start: this.samplesAtStart, end } : undefined,
      peakRssBytes: rss + (extra?.peakRssBytes ?? 0),
      writes: this.writes,
      latencies: this.latencies,
      timestamps: this.timestamps,
      ...(sustained && { sustained }),
      ...(extra && { parts: { ownCpuMs: cpu, ownPeakRssBytes: rss, ...extra.parts } }),
    };
  }
}

function send(msg: ToParent): Promise<void> {
  // A parent that died (or failed) closes the channel; sending then would crash the child.
  return new Promise((done) => {
    if (!process.connected || !process.send) return done();
    process.send(msg, undefined, {}, () => done());
  });
}

/**
 * Run a child: parse options, `start` consumption (it must call `rec.begin()` right before), report
 * progress, stop when done or told to, send the result, exit.
 */
export async function runChild(
  start: (opts: ChildOptions, rec: Recorder) => Promise<{ stop(): Promise<void> }>,
): Promise<void> {
  const opts = JSON.parse(process.argv[2] ?? "{}") as ChildOptions;
  const rec = new Recorder(opts.expectedMessages, opts.watchPids);
  process.on("message", (m: { type?: string }) => {
    if (m?.type === "stop") rec.complete();
  });
  try {
    const handle = await start(opts, rec);
    await send({ type: "ready" });
    const progress = setInterval(
      () => void send({ type: "progress", messages: rec.messages, rows: rec.rows }),
      500,
    );
    await rec.done();
    clearInterval(progress);
    const result = rec.result();
    await handle.stop();
    // Sent (written to the channel) before the channel is closed below.
    await send({ type: "done", result });
  } catch (err) {
    await send({ type: "error", message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    process.exitCode = 1;
  }
  process.disconnect?.();
  setTimeout(() => process.exit(process.exitCode ?? 0), 200).unref();
}
