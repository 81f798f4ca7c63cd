/**
 * The measuring side of a consumer child process (Weir's runner or the hand-written baseline): it
 * records every acknowledged write, the per-message latency, the process's CPU and peak RSS, and
 * talks to the parent over IPC. Both contenders use this same code, so they are measured the same way.
 */
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
  constructor(expectedMessages: number, watchPids: Record<string, number> = {}) {
    this.expectedMessages = expectedMessages;
    this.watchPids = watchPids;
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
    const end = sampleCpu(this.watchPids, true);
    return {
      messages: this.messages,
      rows: this.rows,
      bytes: this.bytes,
      startedAt: this.startedAt,
      endedAt: this.endedAt || Date.now(),
      cpuMs: cpu,
      cpuSamples: this.samplesAtStart ? { start: this.samplesAtStart, end } : undefined,
      peakRssBytes: peakRssBytes(),
      writes: this.writes,
      latencies: this.latencies,
      timestamps: this.timestamps,
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
