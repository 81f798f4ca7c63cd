/**
 * Keeps this worker's runners equal to the API's desired state: polls for changes, starts, swaps
 * (drain, commit, start the new revision) and stops runners, and reports status and counters.
 * Scale-out needs nothing here: every worker runs every active pipeline and Kafka's group protocol
 * spreads the partitions.
 */
import type { DesiredPipeline, DesiredState, LogBatch, PipelineReport, WorkerReport } from "@weir/core";
import { ZERO_COUNTERS } from "@weir/core";
import type { Logger } from "pino";
import { PipelineRunner, type RunnerDeps } from "./runner.ts";

/** The slice of the API a worker talks to (the SDK's worker methods). */
export interface ApiLink {
  /** Desired state when it changed since `since`, else null. */
  desiredState(since: number | null): Promise<DesiredState | null>;
  postStatus(report: WorkerReport): Promise<void>;
  postLogs(batch: LogBatch): Promise<void>;
}

export class Supervisor {
  private readonly runners = new Map<string, PipelineRunner>();
  private readonly paused = new Map<string, DesiredPipeline>();
  /** Per-pipeline chain so a swap never overlaps another change of the same pipeline. */
  private readonly chains = new Map<string, Promise<void>>();
  private revision: number | null = null;
  private readonly startedAt = Date.now();
  private pollTimer: NodeJS.Timeout | undefined;
  private reportTimer: NodeJS.Timeout | undefined;
  private polling = false;

  private readonly api: ApiLink;
  private readonly deps: RunnerDeps;
  private readonly pollMs: number;
  private readonly reportMs: number;
  private readonly log: Logger;
  constructor(api: ApiLink, deps: RunnerDeps, pollMs: number, reportMs: number, log: Logger) {
    this.api = api;
    this.deps = deps;
    this.pollMs = pollMs;
    this.reportMs = reportMs;
    this.log = log;
  }

  start(): void {
    this.pollTimer = setInterval(() => void this.poll(), this.pollMs);
    this.reportTimer = setInterval(() => void this.report(), this.reportMs);
    void this.poll();
  }

  /** Fetch desired state once and reconcile; errors are logged and retried on the next tick. */
  async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const desired = await this.api.desiredState(this.revision);
      if (desired) {
        this.reconcile(desired.pipelines);
        this.revision = desired.revision;
      }
    } catch (err) {
      this.log.warn({ err }, "desired state unavailable; keeping the current pipelines");
    } finally {
      this.polling = false;
    }
  }

  private reconcile(pipelines: DesiredPipeline[]): void {
    const seen = new Set<string>();
    for (const p of pipelines) {
      seen.add(p.id);
      const current = this.runners.get(p.id);
      if (p.desired === "paused") {
        this.paused.set(p.id, p);
        if (current) this.chain(p.id, () => this.stopRunner(p.id));
        continue;
      }
      this.paused.delete(p.id);
      if (current && current.revision === p.revision) continue;
      this.chain(p.id, async () => {
        await this.stopRunner(p.id);
        const runner = new PipelineRunner(p, this.deps);
        this.runners.set(p.id, runner);
        runner.start();
      });
    }
    for (const id of [...this.runners.keys(), ...this.paused.keys()]) {
      if (seen.has(id)) continue;
      this.paused.delete(id);
      this.chain(id, async () => {
        await this.stopRunner(id);
        this.deps.metrics.forget(id);
      });
    }
  }

  private chain(id: string, fn: () => Promise<void>): void {
    const next = (this.chains.get(id) ?? Promise.resolve()).then(fn).catch((err) => {
      this.log.error({ err, pipeline: id }, "pipeline change failed");
    });
    this.chains.set(id, next);
  }

  private async stopRunner(id: string): Promise<void> {
    const runner = this.runners.get(id);
    if (!runner) return;
    this.runners.delete(id);
    await runner.stop();
  }

  /** Settles when every queued start, swap and stop has run (tests and shutdown use it). */
  async settled(): Promise<void> {
    await Promise.all(this.chains.values());
  }

  reports(): PipelineReport[] {
    const out = [...this.runners.values()].map((r) => r.report());
    for (const p of this.paused.values()) {
      // Paused only once its runner has drained and left the group.
      if (this.runners.has(p.id)) continue;
      out.push({
        pipeline_id: p.id,
        revision: p.revision,
        state: "paused",
        last_error: null,
        counters: { ...ZERO_COUNTERS },
        lag: [],
        handler_version: p.handler ? String(p.handler.version) : null,
      });
    }
    return out;
  }

  async report(): Promise<void> {
    try {
      await this.api.postStatus({
        worker_id: this.deps.workerId,
        started_at: this.startedAt,
        pipelines: this.reports(),
      });
    } catch (err) {
      this.log.warn({ err }, "status report failed");
    }
  }

  /** Graceful shutdown: stop polling, drain every runner, send a last report and the logs. */
  async stop(): Promise<void> {
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.reportTimer) clearInterval(this.reportTimer);
    await this.settled();
    await Promise.allSettled([...this.runners.keys()].map((id) => this.stopRunner(id)));
    await this.report();
    await this.deps.logs.stop();
  }
}
