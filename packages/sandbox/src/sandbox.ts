/**
 * createSandbox: a compiled handler behind run/runBatch/dispose. A batch goes into the isolate as
 * one array of raw strings and comes back as one string; a breach (timeout, memory) fails the
 * message that was running, replaces the isolate, and the rest of the batch carries on.
 */
import { type Limits, type LogRecord, WeirError } from "@weir/core";
import { isBinaryFormat } from "./format.ts";
import { Instance } from "./instance.ts";
import { FORMAT_CODES, type RuntimeConfig } from "./isolate/protocol.ts";
import { resolveLimits } from "./limits.ts";
import { decodeChunk, type LogTags, runError } from "./output.ts";
import { SandboxPool } from "./pool.ts";
import { acquireBucket, type TokenBucket } from "./rate-limit.ts";
import { SourceMap } from "./sourcemap.ts";
import type {
  InflightCall,
  MessageFormat,
  MessageMeta,
  RunResult,
  Sandbox,
  SandboxMessage,
  SandboxOptions,
  SandboxStats,
} from "./types.ts";
import { watch } from "./watchdog.ts";

/** Output of one call is capped so a batch never builds more than this inside a 128 MB heap. */
const CHUNK_CHARS = 16 * 1024 * 1024;
/** drainLogs keeps at most this many records; older undrained lines are counted as dropped. */
const MAX_BUFFERED_LOGS = 10_000;

function describe(err: unknown): { name: string; message: string; stack: string } {
  const e = err as { name?: unknown; message?: unknown; stack?: unknown } | null;
  return {
    name: typeof e?.name === "string" ? e.name : "Error",
    message: typeof e?.message === "string" ? e.message : String(err),
    stack: typeof e?.stack === "string" ? e.stack : "",
  };
}

class IsolateSandbox implements Sandbox {
  private instance: Instance | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private disposed = false;
  private retiredCpuNs = 0n;
  private retiredWallNs = 0n;
  private recycles = 0;
  private droppedTotal = 0;
  private truncatedTotal = 0;
  private running = false;
  /** The isolate call in flight and the message indexes (within the runBatch call) it was given. */
  private current: { instance: Instance; pending: readonly number[] } | undefined;
  private loading: Promise<Instance> | undefined;
  private buffered: LogRecord[] = [];
  private bufferedDropped = 0;
  private readonly tags: LogTags;
  private readonly defaultFormat: MessageFormat;

  private readonly opts: SandboxOptions;
  private readonly limits: Limits;
  private readonly map: SourceMap | undefined;
  private readonly bucket: TokenBucket;
  private readonly releaseBucket: () => void;

  constructor(
    opts: SandboxOptions,
    limits: Limits,
    map: SourceMap | undefined,
    bucket: TokenBucket,
    releaseBucket: () => void,
  ) {
    this.opts = opts;
    this.limits = limits;
    this.map = map;
    this.bucket = bucket;
    this.releaseBucket = releaseBucket;
    this.tags = { handlerVersion: opts.handlerVersion };
    this.defaultFormat = opts.format ?? "json";
  }

  /** Load a fresh isolate; load-time faults become a WeirError with the handler's mapped stack. */
  async load(): Promise<Instance> {
    const config: RuntimeConfig = {
      maxOutputChars: this.limits.max_output_bytes,
      maxLogLineChars: this.limits.max_log_line_bytes,
      chunkChars: CHUNK_CHARS,
      env: { ...(this.opts.env ?? {}) },
      memoryMb: this.limits.memory_mb,
      ...(this.opts.rowBinary ? { rowBinary: this.opts.rowBinary } : {}),
    };
    try {
      this.instance = await Instance.create({
        code: this.opts.code,
        otlp: isBinaryFormat(this.defaultFormat),
        memoryMb: this.limits.memory_mb,
        loadTimeoutMs: Math.max(1000, this.limits.timeout_ms),
        config,
        onCatastrophicError:
          this.opts.onCatastrophicError ??
          ((message) => process.stderr.write(`@weir/sandbox: catastrophic isolate error: ${message}\n`)),
      });
      return this.instance;
    } catch (err) {
      if ((err as { code?: unknown }).code === "MISSING_HANDLER_EXPORT") throw err;
      const d = describe(err);
      const code = /timed out/i.test(d.message)
        ? "HANDLER_TIMEOUT"
        : /memory limit|disposed/i.test(d.message)
          ? "HANDLER_MEMORY"
          : "HANDLER_ERROR";
      const wire = runError(code, d.name, `handler failed to load: ${d.message}`, d.stack, this.map);
      throw new WeirError(code, wire.message, { details: { ...wire.details, stack: wire.stack } });
    }
  }

  run(value: string | Uint8Array, meta?: MessageMeta): Promise<RunResult> {
    return this.runBatch([meta ? { value, meta } : { value }]).then((r) => r[0]!);
  }

  runBatch(messages: readonly SandboxMessage[]): Promise<RunResult[]> {
    const next = this.queue.then(() => this.process(messages));
    this.queue = next.catch(() => {});
    return next;
  }

  private async process(messages: readonly SandboxMessage[]): Promise<RunResult[]> {
    const results: RunResult[] = new Array(messages.length);
    let pending = messages.map((_, i) => i);
    while (pending.length > 0) {
      if (this.disposed) throw new WeirError("SANDBOX_DISPOSED", "the sandbox was disposed");
      const instance = await this.acquire();
      const values = pending.map((i) => messages[i]!.value);
      let formats = "";
      for (const i of pending) formats += FORMAT_CODES[messages[i]!.meta?.format ?? this.defaultFormat];
      let killedAt = -1;
      const stop = watch(instance, this.limits.timeout_ms, (index) => {
        killedAt = index;
      });
      this.running = true;
      this.current = { instance, pending };
      try {
        const out = await instance.run(values, formats, this.bucket.available());
        stop();
        const metas = pending.map((i) => messages[i]!.meta);
        const chunk = decodeChunk(out, metas, this.map, this.tags);
        for (let k = 0; k < chunk.processed; k++) results[pending[k]!] = chunk.results[k]!;
        this.bucket.take(chunk.logLines);
        this.droppedTotal += chunk.dropped;
        this.truncatedTotal += chunk.truncated;
        this.buffer(chunk.results, chunk.dropped);
        pending = pending.slice(chunk.processed);
      } catch (err) {
        stop();
        if (this.disposed)
          throw new WeirError("SANDBOX_DISPOSED", "the sandbox was disposed", { cause: err });
        // The isolate is gone (or untrustworthy): fail the message in flight, retry the others.
        const k = Math.max(0, killedAt >= 0 ? killedAt : instance.progress().index);
        const startedAt = instance.progress().startedAt;
        const failed = pending[Math.min(k, pending.length - 1)]!;
        results[failed] = this.breach(instance, err, Date.now() - startedAt);
        this.buffer([results[failed]], 0);
        pending = pending.filter((i) => i !== failed);
        this.retire(instance);
      } finally {
        this.running = false;
        this.current = undefined;
      }
    }
    return results;
  }

  /** The failure of the message that was running when the isolate died. */
  private breach(instance: Instance, err: unknown, durationMs: number): RunResult {
    const d = describe(err);
    let error: RunResult & { ok: false };
    if (instance.killedByWatchdog) {
      const message = `handler exceeded timeout_ms (${this.limits.timeout_ms} ms of wall-clock time, async code included); the isolate was recycled`;
      error = {
        ok: false,
        error: runError("HANDLER_TIMEOUT", "TimeoutError", message, "", undefined),
        durationMs,
        logs: [],
      };
    } else if (instance.disposed) {
      const message = `handler exceeded memory_mb (${this.limits.memory_mb} MB); the isolate was recycled`;
      error = {
        ok: false,
        error: runError("HANDLER_MEMORY", "MemoryError", message, "", undefined),
        durationMs,
        logs: [],
      };
    } else {
      const message = `the sandbox failed while running this message (${d.message}); the isolate was recycled`;
      error = {
        ok: false,
        error: runError("HANDLER_ERROR", d.name, message, d.stack, this.map),
        durationMs,
        logs: [],
      };
    }
    return error;
  }

  private retire(instance: Instance): void {
    const { cpuNs, wallNs } = instance.usage();
    this.retiredCpuNs += cpuNs;
    this.retiredWallNs += wallNs;
    if (!instance.killedByWatchdog) instance.dispose();
    this.recycles++;
    if (this.instance === instance) this.instance = undefined;
    if (!this.disposed && !this.loading) this.startLoading();
  }

  /** The live isolate; after a breach the replacement is already loading (started in retire). */
  private acquire(): Promise<Instance> {
    if (this.instance && !this.instance.disposed) return Promise.resolve(this.instance);
    if (this.instance) this.retire(this.instance);
    return this.loading ?? this.startLoading();
  }

  private startLoading(): Promise<Instance> {
    const loading = this.load().finally(() => {
      if (this.loading === loading) this.loading = undefined;
    });
    loading.catch(() => {}); // surfaced by the next acquire(), not as an unhandled rejection
    this.loading = loading;
    return loading;
  }

  private buffer(results: RunResult[], dropped: number): void {
    this.bufferedDropped += dropped;
    for (const r of results) {
      for (const record of r.logs) {
        if (this.buffered.length < MAX_BUFFERED_LOGS) this.buffered.push(record);
        else this.bufferedDropped++;
      }
    }
  }

  stats(): SandboxStats {
    const usage = this.instance?.usage() ?? { cpuNs: 0n, wallNs: 0n };
    const stats: SandboxStats = {
      cpuTimeMs: Number(this.retiredCpuNs + usage.cpuNs) / 1e6,
      wallTimeMs: Number(this.retiredWallNs + usage.wallNs) / 1e6,
      recycles: this.recycles,
      droppedLogLines: this.droppedTotal,
      truncatedLogLines: this.truncatedTotal,
    };
    // Reading heap statistics takes the isolate's lock: only when idle, never while a handler runs.
    const heap = this.running ? undefined : this.instance?.heapUsedBytes();
    if (heap !== undefined) stats.heapUsedBytes = heap;
    return stats;
  }

  droppedLogLines(): number {
    return this.droppedTotal;
  }

  inflight(): InflightCall[] {
    const current = this.current;
    if (!current) return [];
    // -1 until the runtime picks up the first message of the isolate call: that message is next.
    const { index, startedAt } = current.instance.progress();
    const k = Math.min(Math.max(0, index), current.pending.length - 1);
    return [{ index: current.pending[k]!, startedAt }];
  }

  drainLogs(): { records: LogRecord[]; dropped: number } {
    const out = { records: this.buffered, dropped: this.bufferedDropped };
    this.buffered = [];
    this.bufferedDropped = 0;
    return out;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.instance?.dispose();
    void this.loading?.then((instance) => instance.dispose());
    this.releaseBucket();
  }
}

/**
 * Load a compiled handler into a fresh isolate. Rejects with a WeirError when the handler cannot
 * load: `MISSING_HANDLER_EXPORT`, or `HANDLER_ERROR`/`HANDLER_TIMEOUT`/`HANDLER_MEMORY` when its
 * top-level code throws, runs too long or allocates too much.
 */
export async function createSandbox(opts: SandboxOptions): Promise<Sandbox> {
  const isolates = Math.max(1, Math.floor(opts.isolates ?? 1));
  if (isolates > 1) {
    // One isolate now (it proves the handler loads); more only when calls overlap (pool.ts).
    const first = await createSandbox({ ...opts, isolates: 1 });
    return new SandboxPool([first], () => createSandbox({ ...opts, isolates: 1 }), isolates);
  }
  const limits = resolveLimits(opts.limits);
  const map = opts.sourceMap ? new SourceMap(opts.sourceMap) : undefined;
  const { bucket, release } = acquireBucket(opts.pipelineId, limits.log_lines_per_second);
  const sandbox = new IsolateSandbox(opts, limits, map, bucket, release);
  try {
    await sandbox.load();
  } catch (err) {
    release();
    throw err;
  }
  return sandbox;
}
