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

  constructor(members: Sandbox[]) {
    this.members = members;
    this.inFlight = members.map(() => 0);
  }

  run(value: string, meta?: SandboxMessage["meta"]): Promise<RunResult> {
    return this.runBatch([meta ? { value, meta } : { value }]).then((r) => r[0]!);
  }

  async runBatch(messages: readonly SandboxMessage[]): Promise<RunResult[]> {
    let k = 0;
    for (let i = 1; i < this.members.length; i++) if (this.inFlight[i]! < this.inFlight[k]!) k = i;
    this.inFlight[k]!++;
    try {
      return await this.members[k]!.runBatch(messages);
    } finally {
      this.inFlight[k]!--;
    }
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
    for (const m of this.members) m.dispose();
  }
}
