/**
 * createProcessSandbox: the Sandbox interface with the handler in a child Node process, so nothing
 * the handler does can stall or kill the caller. The child hosts ordinary in-process sandboxes
 * (their soft limits still apply first); the parent adds hard backstops that need no cooperation
 * from the child: a per-message wall-clock deadline (timeout_ms + grace), a max RSS, and the
 * child's death itself. Each ends the child with SIGKILL, fails the message in progress
 * (HANDLER_TIMEOUT, HANDLER_MEMORY, HANDLER_CRASH) and reruns the rest of the call in a fresh child.
 */
import { deserializeError, type Limits, type LogRecord, WeirError } from "@weir/core";
import { resolveLimits } from "../limits.ts";
import { runError } from "../output.ts";
import type {
  InflightCall,
  RunErrorCode,
  RunResult,
  Sandbox,
  SandboxMessage,
  SandboxOptions,
  SandboxStats,
} from "../types.ts";
import { type ChildExit, ChildHost, crashDetails, describeExit } from "./host.ts";
import type { ChildSandboxOptions, ToParent } from "./protocol.ts";

/** drainLogs keeps at most this many records, like the in-process sandbox. */
const MAX_BUFFERED_LOGS = 10_000;
/** How often the parent checks deadlines and RSS while a call runs. */
const CHECK_MS = 100;

/** Options of {@link createProcessSandbox}: the in-process options plus the hard backstops. */
export interface ProcessSandboxOptions extends SandboxOptions {
  /** Added to timeout_ms before the parent SIGKILLs the child over one message (default 1000). */
  graceMs?: number;
  /**
   * Max RSS of the child in bytes, checked while a call runs. Default (memory_mb x isolates + 768)
   * MB: the bench (128 MB isolate, batches of 500 OTLP messages of ~50 KB) peaks at 458-574 MB of
   * RSS, as the batch is held in the child's own heap, in IPC buffers and in the isolate at once;
   * a 256 MB allowance killed healthy calls.
   */
  maxRssBytes?: number;
  /**
   * Times the child may die (by itself, not killed for a limit) during one message before that
   * message fails with HANDLER_CRASH (default 1). Above 1, a message that was merely in progress
   * in another isolate when a neighbour crashed the process gets another chance.
   */
  maxCrashes?: number;
  /** Node flags of the child (default `--no-node-snapshot`, which isolated-vm requires). */
  execArgv?: string[];
  /** Deadline for a child to start and load the handler (default 10 s + max(1 s, timeout_ms)). */
  startupTimeoutMs?: number;
}

/** A call sent to the child, waiting for its answer or the child's end. */
interface Call {
  id: number;
  /** The messages sent, as indexes into the runBatch call's messages. */
  pending: number[];
  /** Index into `pending` of the message in progress, and when it started. */
  k: number;
  startedAt: number;
  settle: (outcome: Outcome) => void;
}

type Outcome =
  | { kind: "result"; message: Extract<ToParent, { type: "result" }> }
  | { kind: "failed"; error: WeirError }
  | { kind: "died"; exit: ChildExit };

const ZERO: SandboxStats = {
  cpuTimeMs: 0,
  wallTimeMs: 0,
  recycles: 0,
  droppedLogLines: 0,
  truncatedLogLines: 0,
};

class ProcessSandbox implements Sandbox {
  private host: ChildHost | undefined;
  private starting: Promise<ChildHost> | undefined;
  private readonly calls = new Map<number, Call>();
  private nextId = 1;
  private free: number;
  private readonly waiters: Array<() => void> = [];
  private disposed = false;
  private timer: NodeJS.Timeout | undefined;
  /** Stats of dead children, plus the kills. */
  private retired: SandboxStats = { ...ZERO };
  private current: SandboxStats = { ...ZERO };
  private buffered: LogRecord[] = [];
  private bufferedDropped = 0;
  private readonly opts: ProcessSandboxOptions;
  private readonly childOpts: ChildSandboxOptions;
  private readonly limits: Limits;
  private readonly deadlineMs: number;
  private readonly maxRss: number;

  constructor(opts: ProcessSandboxOptions) {
    const {
      onCatastrophicError: _cb,
      graceMs,
      maxRssBytes,
      maxCrashes: _m,
      execArgv: _e,
      startupTimeoutMs: _s,
      // Rows come back as NDJSON from a child process (RowBinary is an in-process path only).
      rowBinary: _rb,
      ...rest
    } = opts;
    this.opts = opts;
    this.childOpts = rest;
    this.limits = resolveLimits(opts.limits);
    const isolates = Math.max(1, Math.floor(opts.isolates ?? 1));
    this.free = isolates;
    this.deadlineMs = this.limits.timeout_ms + (graceMs ?? 1000);
    this.maxRss = maxRssBytes ?? (this.limits.memory_mb * isolates + 768) * 1024 * 1024;
  }

  /** Start the first child; rejects like createSandbox when the handler cannot load. */
  async start(): Promise<void> {
    this.host = await this.spawn();
  }

  run(value: string | Uint8Array, meta?: SandboxMessage["meta"]): Promise<RunResult> {
    return this.runBatch([meta ? { value, meta } : { value }]).then((r) => r[0]!);
  }

  async runBatch(messages: readonly SandboxMessage[]): Promise<RunResult[]> {
    // At most one call per isolate in the child: a call sent is a call running, so its deadline
    // starts when it is sent.
    if (this.free === 0) await new Promise<void>((resolve) => this.waiters.push(resolve));
    this.free--;
    try {
      return await this.process(messages);
    } finally {
      this.free++;
      this.waiters.shift()?.();
    }
  }

  private async process(messages: readonly SandboxMessage[]): Promise<RunResult[]> {
    const results: RunResult[] = new Array(messages.length);
    const crashes = new Map<number, number>();
    let pending = messages.map((_, i) => i);
    while (pending.length > 0) {
      if (this.disposed) throw new WeirError("SANDBOX_DISPOSED", "the sandbox was disposed");
      const host = await this.acquire();
      const call = { id: this.nextId++, pending, k: 0, startedAt: Date.now() } as Call;
      const outcome = await new Promise<Outcome>((settle) => {
        call.settle = settle;
        this.calls.set(call.id, call);
        this.watch();
        host.send({ type: "run", id: call.id, messages: pending.map((i) => messages[i]!) });
        // Died before the call was registered: onExit may already have run without it.
        if (!host.alive) void host.exited.then((exit) => settle({ kind: "died", exit }));
      });
      this.calls.delete(call.id);
      if (outcome.kind === "failed") throw outcome.error;
      if (outcome.kind === "result") {
        const r = outcome.message;
        for (let k = 0; k < pending.length; k++) results[pending[k]!] = r.results[k]!;
        this.current = r.stats;
        this.buffer(r.results, r.dropped);
        return results;
      }
      if (this.disposed) throw new WeirError("SANDBOX_DISPOSED", "the sandbox was disposed");
      // The child is gone. Fail the message in progress if it was the cause; rerun the rest.
      const { exit } = outcome;
      const failed = pending[call.k]!;
      const crash = exit.killedFor === undefined;
      const ours = crash || exit.blame === call.id;
      if (ours) {
        const n = (crashes.get(failed) ?? 0) + 1;
        crashes.set(failed, n);
        if (!crash || n >= (this.opts.maxCrashes ?? 1)) {
          results[failed] = this.breach(exit, Date.now() - call.startedAt);
          this.buffer([results[failed]], 0);
          pending = pending.filter((i) => i !== failed);
        }
      }
    }
    return results;
  }

  /** The failure of the message in progress when the child ended. */
  private breach(exit: ChildExit, durationMs: number): RunResult {
    let code: RunErrorCode;
    let name: string;
    let message: string;
    if (exit.killedFor === "timeout") {
      code = "HANDLER_TIMEOUT";
      name = "TimeoutError";
      message = `handler exceeded timeout_ms (${this.limits.timeout_ms} ms of wall-clock time) and did not stop; the sandbox process was killed after ${this.deadlineMs} ms`;
    } else if (
      exit.killedFor === "memory" ||
      (exit.killedFor === "catastrophic" && /memory/i.test(exit.catastrophic ?? ""))
    ) {
      code = "HANDLER_MEMORY";
      name = "MemoryError";
      message =
        exit.killedFor === "memory"
          ? `the sandbox process exceeded its memory backstop (${Math.round(this.maxRss / 1048576)} MB RSS); it was killed`
          : `handler exceeded memory_mb (${this.limits.memory_mb} MB): V8 reported "${exit.catastrophic}"; the sandbox process was killed`;
    } else {
      code = "HANDLER_CRASH";
      name = "CrashError";
      message =
        exit.killedFor === "catastrophic"
          ? `V8 reported a catastrophic error ("${exit.catastrophic}"); the sandbox process was killed`
          : `the sandbox process died while running this message (${describeExit(exit)})`;
    }
    const error = runError(code, name, message, "", undefined);
    if (code === "HANDLER_CRASH") error.details = crashDetails(exit);
    return { ok: false, error, durationMs, logs: [] };
  }

  /** The live child, or a fresh one (started as soon as the last one ended). */
  private acquire(): Promise<ChildHost> {
    if (this.host?.alive) return Promise.resolve(this.host);
    if (!this.starting) {
      this.starting = this.spawn().finally(() => {
        this.starting = undefined;
      });
    }
    return this.starting;
  }

  private async spawn(): Promise<ChildHost> {
    const host = await ChildHost.start(this.childOpts, {
      execArgv: this.opts.execArgv ?? ["--no-node-snapshot"],
      startupTimeoutMs: this.opts.startupTimeoutMs ?? 10_000 + Math.max(1000, this.limits.timeout_ms),
    });
    if (this.disposed) {
      host.kill("dispose");
      throw new WeirError("SANDBOX_DISPOSED", "the sandbox was disposed");
    }
    host.onMessage = (message) => this.onMessage(host, message);
    void host.exited.then((exit) => this.onExit(host, exit));
    this.host = host;
    return host;
  }

  private onMessage(host: ChildHost, message: ToParent): void {
    if (message.type === "catastrophic") {
      // The isolate may be wedged for good (a V8 out-of-memory leaves its thread hung): kill now.
      host.noteCatastrophic(message.message);
      host.kill("catastrophic", message.id);
      return;
    }
    const call = "id" in message && message.id !== undefined ? this.calls.get(message.id) : undefined;
    if (!call) return;
    if (message.type === "progress") {
      call.k = Math.min(Math.max(0, message.index), call.pending.length - 1);
      call.startedAt = message.startedAt;
    } else if (message.type === "result") call.settle({ kind: "result", message });
    else if (message.type === "failed")
      call.settle({ kind: "failed", error: deserializeError(message.error) });
  }

  private onExit(host: ChildHost, exit: ChildExit): void {
    if (this.host === host) this.host = undefined;
    const s = this.current;
    this.retired = {
      cpuTimeMs: this.retired.cpuTimeMs + s.cpuTimeMs,
      wallTimeMs: this.retired.wallTimeMs + s.wallTimeMs,
      recycles: this.retired.recycles + s.recycles + (exit.killedFor === "dispose" ? 0 : 1),
      droppedLogLines: this.retired.droppedLogLines + s.droppedLogLines,
      truncatedLogLines: this.retired.truncatedLogLines + s.truncatedLogLines,
    };
    this.current = { ...ZERO };
    for (const call of this.calls.values()) call.settle({ kind: "died", exit });
    // Like the in-process sandbox after a breach: the replacement loads before it is needed.
    if (!this.disposed && exit.killedFor !== "dispose") void this.acquire().catch(() => {});
  }

  /** Deadline and RSS checks, running only while calls are in flight. */
  private watch(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      const host = this.host;
      if (this.calls.size === 0 || !host?.alive) {
        clearInterval(this.timer);
        this.timer = undefined;
        return;
      }
      const now = Date.now();
      let oldest: Call | undefined;
      for (const call of this.calls.values()) {
        if (now - call.startedAt > this.deadlineMs) return host.kill("timeout", call.id);
        if (!oldest || call.startedAt < oldest.startedAt) oldest = call;
      }
      const rss = host.rssBytes();
      if (rss !== undefined && rss > this.maxRss) host.kill("memory", oldest?.id);
    }, CHECK_MS);
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
    const r = this.retired;
    const c = this.current;
    const stats: SandboxStats = {
      cpuTimeMs: r.cpuTimeMs + c.cpuTimeMs,
      wallTimeMs: r.wallTimeMs + c.wallTimeMs,
      recycles: r.recycles + c.recycles,
      droppedLogLines: r.droppedLogLines + c.droppedLogLines,
      truncatedLogLines: r.truncatedLogLines + c.truncatedLogLines,
    };
    if (c.heapUsedBytes !== undefined) stats.heapUsedBytes = c.heapUsedBytes;
    return stats;
  }

  droppedLogLines(): number {
    return this.retired.droppedLogLines + this.current.droppedLogLines;
  }

  drainLogs(): { records: LogRecord[]; dropped: number } {
    const out = { records: this.buffered, dropped: this.bufferedDropped };
    this.buffered = [];
    this.bufferedDropped = 0;
    return out;
  }

  inflight(): InflightCall[] {
    return [...this.calls.values()].map((c) => ({ index: c.pending[c.k]!, startedAt: c.startedAt }));
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.host?.kill("dispose");
    void this.starting?.then((host) => host.kill("dispose")).catch(() => {});
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/**
 * Load a compiled handler into a child Node process (`--no-node-snapshot`) and return a Sandbox
 * whose calls run there. Rejects like {@link createSandbox} when the handler cannot load, or with
 * HANDLER_CRASH / HANDLER_TIMEOUT when the child dies or does not answer while loading it.
 * `onCatastrophicError` is not called: a catastrophic error in the child is answered by killing it.
 */
export async function createProcessSandbox(opts: ProcessSandboxOptions): Promise<Sandbox> {
  const sandbox = new ProcessSandbox(opts);
  await sandbox.start();
  return sandbox;
}
