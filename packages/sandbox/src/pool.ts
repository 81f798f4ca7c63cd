/**
 * Several isolates behind one Sandbox: each runBatch call goes to the isolate with the fewest calls
 * in flight. isolated-vm runs every isolate on its own thread, so calls from different partitions
 * run in parallel on different cores, while each call (one partition's chunk) keeps its order.
 * Every isolate loads the same handler with the same limits; stats and logs are summed.
 */
import type { LogRecord } from "@weir/core";
import type { InflightCall, RunResult, Sandbox, SandboxMessage, SandboxStats } from "./types.ts";

export class SandboxPool implements Sandbox {
  private readonly inFlight: number[];
  private readonly members: Sandbox[];
  private growing: Promise<void> | undefined;
  private disposed = false;
  private readonly max: number;
  private readonly grow: (() => Promise<Sandbox>) | undefined;

  /**
   * `members` are loaded; `grow` (optional) loads another, up to `max` in all, when every member is
   * busy: a pipeline that never runs two calls at once (one partition) keeps one isolate.
   */
  constructor(members: Sandbox[], grow?: () => Promise<Sandbox>, max = members.length) {
    this.members = members;
    this.inFlight = members.map(() => 0);
    this.grow = grow;
    this.max = max;
  }

  /** Isolates loaded so far. */
  get size(): number {
    return this.members.length;
  }

  run(value: string, meta?: SandboxMessage["meta"]): Promise<RunResult> {
    return this.runBatch([meta ? { value, meta } : { value }]).then((r) => r[0]!);
  }

  async runBatch(messages: readonly SandboxMessage[]): Promise<RunResult[]> {
    let k = this.leastBusy();
    if (this.inFlight[k]! > 0 && this.grow && this.members.length < this.max) {
      const before = this.members.length;
      await this.addMember();
      // The new isolate was loaded for this call; otherwise whichever is least busy now.
      k =
        this.members.length > before && this.inFlight.at(-1) === 0
          ? this.members.length - 1
          : this.leastBusy();
    }
    this.inFlight[k]!++;
    try {
      return await this.members[k]!.runBatch(messages);
    } finally {
      this.inFlight[k]!--;
    }
  }

  private leastBusy(): number {
    let k = 0;
    for (let i = 1; i < this.members.length; i++) if (this.inFlight[i]! < this.inFlight[k]!) k = i;
    return k;
  }

  /** Load one more member (one load at a time); a failed load leaves the pool as it was. */
  private addMember(): Promise<void> {
    this.growing ??= this.grow!()
      .then((m) => {
        if (this.disposed) return m.dispose();
        this.members.push(m);
        this.inFlight.push(0);
      })
      .catch(() => undefined)
      .finally(() => {
        this.growing = undefined;
      });
    return this.growing;
  }

  stats(): SandboxStats {
    const all = this.members.map((m) => m.stats());
    const sum = (f: (s: SandboxStats) => number) => all.reduce((n, s) => n + f(s), 0);
    const stats: SandboxStats = {
      cpuTimeMs: sum((s) => s.cpuTimeMs),
      wallTimeMs: sum((s) => s.wallTimeMs),
      recycles: sum((s) => s.recycles),
      droppedLogLines: sum((s) => s.droppedLogLines),
      truncatedLogLines: sum((s) => s.truncatedLogLines),
    };
    if (all.every((s) => s.heapUsedBytes !== undefined)) stats.heapUsedBytes = sum((s) => s.heapUsedBytes!);
    return stats;
  }

  droppedLogLines(): number {
    return this.members.reduce((n, m) => n + m.droppedLogLines(), 0);
  }

  drainLogs(): { records: LogRecord[]; dropped: number } {
    const out = { records: [] as LogRecord[], dropped: 0 };
    for (const m of this.members) {
      const d = m.drainLogs();
      out.records.push(...d.records);
      out.dropped += d.dropped;
    }
    return out;
  }

  inflight(): InflightCall[] {
    return this.members.flatMap((m) => m.inflight());
  }

  dispose(): void {
    this.disposed = true;
    for (const m of this.members) m.dispose();
  }
}
