/**
 * Placement storage: which workers run which pipeline (`assignments`), every change with its reason
 * (`placement_history`, bounded per pipeline), and what the placement pass reads (pipelines' pool,
 * replicas and partitions; workers' pool and last heartbeat). The rule itself lives in the API.
 */
import { and, asc, desc, eq, getTableColumns, gte } from "drizzle-orm";
import type { Db } from "./open.ts";
import { bumpRevision } from "./pipelines.ts";
import {
  assignments,
  type PipelineRow,
  pipelines,
  placementHistory,
  type WorkerRow,
  workers,
} from "./schema.ts";

/** History rows kept per pipeline. */
export const PLACEMENT_HISTORY_LIMIT = 50;

export interface PlacementInput {
  id: string;
  pool: string;
  replicas: number | null;
  partitions: number | null;
}

export function placementInputs(db: Db): PlacementInput[] {
  return db.orm
    .select({
      id: pipelines.id,
      pool: pipelines.pool,
      replicas: pipelines.replicas,
      partitions: pipelines.partitions,
    })
    .from(pipelines)
    .all();
}

export function allWorkers(db: Db): WorkerRow[] {
  return db.orm.select().from(workers).all();
}

/** Workers heard from since `since` whose pool is known (only those get assignments). */
export function liveWorkers(db: Db, since: number): WorkerRow[] {
  return db.orm
    .select()
    .from(workers)
    .where(gte(workers.lastSeen, since))
    .all()
    .filter((w) => w.pool !== null);
}

/** pipeline id -> worker id -> since. */
export function allAssignments(db: Db): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  for (const a of db.orm.select().from(assignments).all()) {
    const m = out.get(a.pipelineId) ?? new Map<string, number>();
    out.set(a.pipelineId, m);
    m.set(a.workerId, a.since);
  }
  return out;
}

export function assignmentsOf(db: Db, pipelineId: string): { workerId: string; since: number }[] {
  return db.orm
    .select({ workerId: assignments.workerId, since: assignments.since })
    .from(assignments)
    .where(eq(assignments.pipelineId, pipelineId))
    .all()
    .sort((a, b) => a.workerId.localeCompare(b.workerId));
}

/** The pipelines placed on a worker (its rows only, in creation order): what its desired-state poll returns. */
export function pipelinesOn(db: Db, workerId: string): PipelineRow[] {
  return db.orm
    .select(getTableColumns(pipelines))
    .from(pipelines)
    .innerJoin(assignments, eq(assignments.pipelineId, pipelines.id))
    .where(eq(assignments.workerId, workerId))
    .orderBy(asc(pipelines.createdAt), asc(pipelines.id))
    .all();
}

export interface PlacementChangeRow {
  pipelineId: string;
  workers: string[];
  reason: string;
}

/**
 * Apply changed placements in one transaction: replace each pipeline's assignments (kept workers
 * keep their `since`), append a history row (pruned to PLACEMENT_HISTORY_LIMIT), and bump the
 * global revision once so workers re-read desired state.
 */
export function applyPlacement(db: Db, changes: PlacementChangeRow[], now = Date.now()): void {
  if (changes.length === 0) return;
  const prune = db.sqlite.prepare(
    `DELETE FROM placement_history WHERE pipeline_id = ? AND id <= (
       SELECT id FROM placement_history WHERE pipeline_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
  );
  const exists = db.sqlite.prepare("SELECT 1 FROM pipelines WHERE id = ?").pluck();
  db.sqlite.transaction(() => {
    for (const c of changes) {
      if (exists.get(c.pipelineId) === undefined) continue;
      const keep = new Set(c.workers);
      for (const a of assignmentsOf(db, c.pipelineId)) {
        if (keep.has(a.workerId)) keep.delete(a.workerId);
        else
          db.orm
            .delete(assignments)
            .where(and(eq(assignments.pipelineId, c.pipelineId), eq(assignments.workerId, a.workerId)))
            .run();
      }
      for (const w of keep)
        db.orm.insert(assignments).values({ pipelineId: c.pipelineId, workerId: w, since: now }).run();
      db.orm
        .insert(placementHistory)
        .values({
          pipelineId: c.pipelineId,
          time: now,
          workersJson: JSON.stringify(c.workers),
          reason: c.reason,
        })
        .run();
      prune.run(c.pipelineId, c.pipelineId, PLACEMENT_HISTORY_LIMIT);
    }
    bumpRevision(db);
  })();
}

export function placementHistoryOf(
  db: Db,
  pipelineId: string,
  limit = 10,
): { at: number; workers: string[]; reason: string }[] {
  return db.orm
    .select()
    .from(placementHistory)
    .where(eq(placementHistory.pipelineId, pipelineId))
    .orderBy(desc(placementHistory.id))
    .limit(limit)
    .all()
    .map((r) => ({ at: r.time, workers: JSON.parse(r.workersJson) as string[], reason: r.reason }));
}

/** Record the topic's partition count a worker reported; true when it changed. */
export function setPartitions(db: Db, pipelineId: string, partitions: number): boolean {
  return (
    db.sqlite
      .prepare("UPDATE pipelines SET partitions = ? WHERE id = ? AND partitions IS NOT ?")
      .run(partitions, pipelineId, partitions).changes > 0
  );
}
