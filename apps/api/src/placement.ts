/**
 * Placement: which live workers run which pipeline. The rule is stateless over the live workers of
 * the pipeline's pool (heartbeat within WEIR_PLACEMENT_DEAD_MS), so nothing here needs consensus:
 *
 *   replicas  = spec.replicas, or "auto": the topic's partitions (1 until a worker has reported
 *               them), in both cases at most the number of live workers of the pool;
 *   workers   = the `replicas` live workers with the highest rendezvous score sha1(pipeline, worker).
 *
 * Rendezvous (highest-random-weight) hashing moves the least: when a worker joins, only pipelines
 * for which it now ranks in the top `replicas` move to it (about 1/W of them); when one goes, only
 * its own pipelines move, each to its next-ranked worker; and a higher `replicas` adds workers
 * without moving any. Pipelines spread evenly in expectation (1,000 over 3 workers: see the scale
 * bench). Paused pipelines are placed too, so a resume needs no move and status keeps its counters.
 *
 * A pass runs every WEIR_PLACEMENT_TICK_MS (and right away when an unknown worker polls); changes are
 * written with their reason and bump the global revision, so workers re-read desired state.
 */
import { createHash } from "node:crypto";
import type { PlacementView, Replicas } from "@weir/core";
import {
  allAssignments,
  applyPlacement,
  assignmentsOf,
  liveWorkers,
  type PlacementChangeRow,
  placementHistoryOf,
  placementInputs,
} from "@weir/db";
import type { AppContext } from "./context.ts";

/** The top `k` of `workers` for `pipelineId` by rendezvous score (deterministic, sorted by rank). */
export function rendezvous(pipelineId: string, workers: readonly string[], k: number): string[] {
  if (k <= 0) return [];
  return workers
    .map((w) => ({
      w,
      score: createHash("sha1").update(pipelineId).update("\0").update(w).digest().readUIntBE(0, 6),
    }))
    .sort((a, b) => b.score - a.score || (a.w < b.w ? -1 : 1))
    .slice(0, k)
    .map((x) => x.w);
}

/** How many workers a pipeline gets. */
export function replicasFor(replicas: number | null, partitions: number | null, live: number): number {
  return Math.min(replicas ?? Math.max(1, partitions ?? 1), live);
}

export class Placer {
  /** Live workers at the previous pass, to tell "joined" from "rebalanced" in the history. */
  private lastLive = new Set<string>();
  /** Live workers per pool at the previous pass. */
  private livePerPool = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private readonly ctx: Pick<AppContext, "db" | "env">;
  constructor(ctx: Pick<AppContext, "db" | "env">) {
    this.ctx = ctx;
  }

  private onError: (err: unknown) => void = () => {};

  start(onError: (err: unknown) => void): void {
    this.onError = onError;
    this.timer = setInterval(() => this.poke(), this.ctx.env.WEIR_PLACEMENT_TICK_MS);
    this.timer.unref();
  }

  /** A pass now (after a pipeline is created or changed, or an unknown worker polls); errors are logged. */
  poke(): void {
    try {
      this.tick();
    } catch (err) {
      this.onError(err);
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Workers that said they are leaving (SIGTERM), for the history's reason; cleared by the next pass. */
  private readonly leaving = new Set<string>();

  /** A worker is shutting down: it is no longer live, and its pipelines move now. */
  leave(workerId: string): void {
    this.ctx.db.sqlite.prepare("UPDATE workers SET last_seen = 0 WHERE id = ?").run(workerId);
    this.leaving.add(workerId);
    this.poke();
  }

  /** Is this worker live as of the last pass? (A worker unknown to it triggers a pass on its poll.) */
  knows(workerId: string): boolean {
    return this.lastLive.has(workerId);
  }

  /** One pass: compute every pipeline's workers and write what changed. Returns the changed count. */
  tick(now = Date.now()): number {
    const { db, env } = this.ctx;
    const live = liveWorkers(db, now - env.WEIR_PLACEMENT_DEAD_MS);
    const byPool = new Map<string, string[]>();
    for (const w of live) byPool.set(w.pool!, [...(byPool.get(w.pool!) ?? []), w.id]);
    const liveIds = new Set(live.map((w) => w.id));
    const current = allAssignments(db);
    const changes: PlacementChangeRow[] = [];
    for (const p of placementInputs(db)) {
      const pool = byPool.get(p.pool) ?? [];
      const target = rendezvous(p.id, pool, replicasFor(p.replicas, p.partitions, pool.length));
      const before = current.get(p.id) ?? new Map<string, number>();
      const same = target.length === before.size && target.every((w) => before.has(w));
      if (same) continue;
      changes.push({ pipelineId: p.id, workers: target, reason: this.why(p.pool, before, target, liveIds) });
    }
    applyPlacement(db, changes, now);
    this.leaving.clear();
    this.lastLive = liveIds;
    this.livePerPool = new Map([...byPool].map(([pool, ws]) => [pool, ws.length]));
    return changes.length;
  }

  private why(pool: string, before: Map<string, number>, target: string[], live: Set<string>): string {
    if (target.length === 0) return `no live worker in pool ${pool}`;
    if (before.size === 0) return `placed on ${target.join(", ")}`;
    const parts: string[] = [];
    for (const w of before.keys())
      if (!target.includes(w))
        parts.push(
          live.has(w) ? `moved off ${w}` : this.leaving.has(w) ? `${w} left` : `${w} stopped heartbeating`,
        );
    for (const w of target)
      if (!before.has(w)) parts.push(this.lastLive.has(w) ? `added ${w}` : `${w} joined the pool`);
    if (target.length !== before.size) parts.push(`replicas ${before.size} -> ${target.length}`);
    return parts.join("; ");
  }

  /** The placement part of a pipeline's status. */
  view(row: { id: string; pool: string; replicas: number | null; partitions: number | null }): PlacementView {
    const workers = assignmentsOf(this.ctx.db, row.id).map((a) => ({
      worker_id: a.workerId,
      since: a.since,
    }));
    const history = placementHistoryOf(this.ctx.db, row.id, 10);
    return {
      pool: row.pool,
      replicas: (row.replicas ?? "auto") as Replicas,
      partitions: row.partitions,
      workers,
      reason:
        workers.length > 0
          ? null
          : (this.livePerPool.get(row.pool) ?? 0) > 0
            ? "waiting for the next placement pass"
            : `no live worker in pool ${row.pool}`,
      history,
    };
  }
}
