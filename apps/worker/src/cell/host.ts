/**
 * Inside a cell: keeps the cell's runners equal to the pipelines the supervisor assigned it
 * (start, swap with drain, pause, delete), as the single-process worker did. Each change is
 * timed so the supervisor can kill a cell whose change does not finish within its bound. A new
 * egress policy restarts the running pipelines it now refuses (they then fail with EGRESS_DENIED).
 */
import type { DesiredPipeline, EgressLists, PipelineReport } from "@weir/core";
import { checkEgress, egressPolicyFromLists, ZERO_COUNTERS } from "@weir/core";
import type { Logger } from "pino";
import { PipelineRunner, type RunnerDeps } from "../runner.ts";
import type { Eviction, InflightReport, PartitionProgress, PoisonEntry } from "./protocol.ts";

export class CellHost {
  private readonly runners = new Map<string, PipelineRunner>();
  private readonly paused = new Map<string, DesiredPipeline>();
  /** Per-pipeline chain so a swap never overlaps another change of the same pipeline. */
  private readonly chains = new Map<string, Promise<void>>();
  /** Changes queued or running, per pipeline: since when the oldest one waits. */
  private readonly pending = new Map<string, { since: number; count: number }>();
  private poison = new Map<string, PoisonEntry>();
  private evict = new Map<string, string[]>();
  /** The API's egress lists as last received; undefined until the first assignment. */
  private egress: EgressLists | undefined;

  private readonly deps: RunnerDeps;
  private readonly log: Logger;
  constructor(deps: RunnerDeps, log: Logger) {
    this.deps = {
      ...deps,
      poisonFor: (pl, t, pa, o) => this.poison.get(`${pl}/${t}/${pa}/${o}`),
      evictFor: (pl) => this.evict.get(pl) ?? [],
      egress: () => this.egress,
    };
    this.log = log;
  }

  /** Apply the supervisor's assignment for this cell. */
  apply(
    pipelines: DesiredPipeline[],
    poison: PoisonEntry[],
    evict: Eviction[] = [],
    egress: EgressLists = { allow: [], deny: [] },
  ): void {
    this.poison = new Map(poison.map((p) => [`${p.pipeline}/${p.topic}/${p.partition}/${p.offset}`, p]));
    this.evict = new Map(evict.map((e) => [e.pipeline, e.memberIds]));
    const policyChanged = this.egress !== undefined && JSON.stringify(egress) !== JSON.stringify(this.egress);
    this.egress = egress;
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
    if (policyChanged)
      for (const runner of this.runners.values())
        if (seen.has(runner.id) && !this.paused.has(runner.id)) this.recheckEgress(runner);
    for (const id of [...this.runners.keys(), ...this.paused.keys()]) {
      if (seen.has(id)) continue;
      this.paused.delete(id);
      this.chain(id, async () => {
        await this.stopRunner(id);
        this.deps.metrics.forget(id);
      });
    }
  }

  /** Under a new egress policy: restart a running pipeline whose destinations it refuses (the restart reports why). */
  private recheckEgress(runner: PipelineRunner): void {
    this.chain(runner.id, async () => {
      if (this.runners.get(runner.id) !== runner) return; // replaced meanwhile: the new one checks at start
      try {
        await checkEgress(egressPolicyFromLists(this.egress), runner.desired.spec);
        return;
      } catch (err) {
        this.log.warn({ err, pipeline: runner.id }, "egress policy now refuses a destination; restarting");
      }
      await this.stopRunner(runner.id);
      const next = new PipelineRunner(runner.desired, this.deps);
      this.runners.set(runner.id, next);
      next.start();
    });
  }

  private chain(id: string, fn: () => Promise<void>): void {
    const mark = this.pending.get(id) ?? { since: Date.now(), count: 0 };
    mark.count++;
    this.pending.set(id, mark);
    const next = (this.chains.get(id) ?? Promise.resolve())
      .then(fn)
      .catch((err) => this.log.error({ err, pipeline: id }, "pipeline change failed"))
      .finally(() => {
        if (--mark.count === 0 && this.pending.get(id) === mark) this.pending.delete(id);
      });
    this.chains.set(id, next);
  }

  private async stopRunner(id: string): Promise<void> {
    const runner = this.runners.get(id);
    if (!runner) return;
    this.runners.delete(id);
    await runner.stop();
  }

  /** Changes still running: the supervisor's bound applies to `since`. */
  changes(): { pipeline: string; since: number }[] {
    return [...this.pending].map(([pipeline, m]) => ({ pipeline, since: m.since }));
  }

  reports(): PipelineReport[] {
    const out = [...this.runners.values()].map((r) => r.report());
    for (const p of this.paused.values()) {
      // Paused only once its runner has drained and left the group.
      if (this.runners.has(p.id) || this.pending.has(p.id)) continue;
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

  members(): { pipeline: string; memberId: string }[] {
    return [...this.runners.values()].flatMap((r) => {
      const memberId = r.memberId();
      return memberId ? [{ pipeline: r.id, memberId }] : [];
    });
  }

  inflight(): InflightReport[] {
    return [...this.runners.values()].flatMap((r) => r.inflight());
  }

  progress(): PartitionProgress[] {
    return [...this.runners.values()].flatMap((r) => r.progress());
  }

  /** Drain every runner (flush, commit, leave the group). */
  async stop(): Promise<void> {
    await Promise.all(this.chains.values());
    await Promise.allSettled([...this.runners.keys()].map((id) => this.stopRunner(id)));
  }
}
