/**
 * One isolate with the runtime and the handler loaded: the unit that a breach throws away.
 * Loading happens once per isolate (never per message); the host keeps a reference to the
 * runtime's runner and deletes every bootstrap global so handler code cannot reach them.
 */
import { WeirError } from "@weir/core";
import { otlpDecoderSource } from "@weir/otlp";
import ivm from "isolated-vm";
import { HANDLER_FILENAME } from "./compile.ts";
import { PROGRESS, type RuntimeConfig } from "./isolate/protocol.ts";
import { RUNTIME_FILENAME, runtimeSource } from "./runtime-bundle.ts";

/** Filename of the OTLP decoder script in isolate stack traces. */
const OTLP_FILENAME = "weir-otlp.js";

type Runner = (
  values: Array<string | Uint8Array>,
  formats: string,
  logBudget: number,
) => string | [string, Uint8Array] | Promise<string | [string, Uint8Array]>;

export interface InstanceOptions {
  code: string;
  /** Load the OTLP protobuf decoder (@weir/otlp) for the otlp_proto formats. */
  otlp?: boolean;
  memoryMb: number;
  /** Bound on the handler's top-level code, which runs once at load. */
  loadTimeoutMs: number;
  config: RuntimeConfig;
  onCatastrophicError: (message: string) => void;
}

/** A live isolate. `progress` is shared memory the runtime writes and the watchdog reads. */
export class Instance {
  /** Set when the watchdog (not the memory limit) disposed this isolate. */
  killedByWatchdog = false;
  private lastCpuNs = 0n;
  private lastWallNs = 0n;

  readonly isolate: ivm.Isolate;
  private readonly context: ivm.Context;
  private readonly runner: ivm.Reference<Runner>;
  readonly progressIndex: Int32Array;
  readonly progressStart: Float64Array;

  private constructor(
    isolate: ivm.Isolate,
    context: ivm.Context,
    runner: ivm.Reference<Runner>,
    progressIndex: Int32Array,
    progressStart: Float64Array,
  ) {
    this.isolate = isolate;
    this.context = context;
    this.runner = runner;
    this.progressIndex = progressIndex;
    this.progressStart = progressStart;
  }

  /** Create an isolate and load the runtime and the handler into it. */
  static async create(opts: InstanceOptions): Promise<Instance> {
    const isolate = new ivm.Isolate({
      memoryLimit: opts.memoryMb,
      onCatastrophicError: opts.onCatastrophicError,
    });
    try {
      const context = await isolate.createContext();
      if (opts.otlp) {
        // Before the runtime, which captures the decoder and deletes its global at boot.
        const decoder = await isolate.compileScript(otlpDecoderSource(), { filename: OTLP_FILENAME });
        await decoder.run(context);
      }
      const runtime = await isolate.compileScript(await runtimeSource(), { filename: RUNTIME_FILENAME });
      await runtime.run(context);
      const progress = new SharedArrayBuffer(PROGRESS.bytes);
      const boot = await context.global.get("__weir_boot", { reference: true });
      // An ExternalCopy of a SharedArrayBuffer shares its memory: the watchdog reads what the runtime writes.
      await boot.apply(undefined, [
        new ivm.ExternalCopy(progress).copyInto({ release: true }),
        new ivm.ExternalCopy(opts.config).copyInto({ release: true }),
      ]);
      boot.release();
      await context.global.delete("__weir_boot");

      const script = await isolate.compileScript(opts.code, { filename: HANDLER_FILENAME });
      await script.run(context, { timeout: opts.loadTimeoutMs });
      const loaded = await context.eval("__weir_loaded()", { timeout: 100 });
      const runner = (await context.global.get("__weir_run", { reference: true })) as ivm.Reference<Runner>;
      for (const name of ["__weir_run", "__weir_loaded", "__weir_define"]) await context.global.delete(name);
      if (loaded !== true) {
        throw new WeirError(
          "MISSING_HANDLER_EXPORT",
          "the handler script does not export a `handler` function; add `export function handler(data, log) { ... }`",
        );
      }
      return new Instance(isolate, context, runner, new Int32Array(progress), new Float64Array(progress));
    } catch (err) {
      if (!isolate.isDisposed) isolate.dispose();
      throw err;
    }
  }

  /** Run one chunk; resolves to the runtime's output (see isolate/protocol.ts). */
  async run(
    values: Array<string | Uint8Array>,
    formats: string,
    logBudget: number,
  ): Promise<string | [string, Uint8Array]> {
    this.progressIndex[PROGRESS.indexSlot] = -1;
    this.progressStart[PROGRESS.startSlot] = Date.now();
    const out = await this.runner.apply(undefined, [values, formats, logBudget], {
      arguments: { copy: true },
      result: { copy: true, promise: true },
    });
    this.sample();
    return out as string | [string, Uint8Array];
  }

  /** Index (within the current call) of the message in progress, and when it started. */
  progress(): { index: number; startedAt: number } {
    return {
      index: Atomics.load(this.progressIndex, PROGRESS.indexSlot),
      startedAt: this.progressStart[PROGRESS.startSlot] ?? 0,
    };
  }

  /** CPU and wall time used by this isolate so far, in ns (last known value once disposed). */
  usage(): { cpuNs: bigint; wallNs: bigint } {
    this.sample();
    return { cpuNs: this.lastCpuNs, wallNs: this.lastWallNs };
  }

  heapUsedBytes(): number | undefined {
    if (this.isolate.isDisposed) return undefined;
    const h = this.isolate.getHeapStatisticsSync();
    return h.used_heap_size + h.externally_allocated_size;
  }

  get disposed(): boolean {
    return this.isolate.isDisposed;
  }

  private sample(): void {
    if (this.isolate.isDisposed) return;
    try {
      this.lastCpuNs = this.isolate.cpuTime;
      this.lastWallNs = this.isolate.wallTime;
    } catch {
      // disposed between the check and the read: keep the last sample
    }
  }

  /** Dispose the isolate (idempotent). `byWatchdog` records why, for the failure's code. */
  dispose(byWatchdog = false): void {
    this.sample();
    if (byWatchdog) this.killedByWatchdog = true;
    this.runner.release();
    if (!this.isolate.isDisposed) this.isolate.dispose();
    this.context.release();
  }
}
