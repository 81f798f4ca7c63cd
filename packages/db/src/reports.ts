/** Worker heartbeats and their latest per-pipeline reports. */
import { and, eq, gte } from "drizzle-orm";
import type { Db } from "./open.ts";
import { dlqPurges, pipelineReports, type ReportRow, workers } from "./schema.ts";

/** A worker is alive (its pool is the one its token serves, when known). */
export function recordHeartbeat(
  db: Db,
  workerId: string,
  startedAt?: number,
  now = Date.now(),
  pool?: string,
): void {
  db.orm
    .insert(workers)
    .values({ id: workerId, startedAt: startedAt ?? null, lastSeen: now, pool: pool ?? null })
    .onConflictDoUpdate({
      target: workers.id,
      set: {
        lastSeen: now,
        ...(startedAt !== undefined ? { startedAt } : {}),
        ...(pool !== undefined ? { pool } : {}),
      },
    })
    .run();
}

/** Replace a worker's reports: pipelines it no longer mentions are no longer its business. */
export function replaceReports(db: Db, workerId: string, rows: Omit<ReportRow, "workerId">[]): void {
  const exists = db.sqlite.prepare("SELECT 1 FROM pipelines WHERE id = ?").pluck();
  db.sqlite.transaction(() => {
    db.orm.delete(pipelineReports).where(eq(pipelineReports.workerId, workerId)).run();
    for (const r of rows) {
      if (exists.get(r.pipelineId) === undefined) continue;
      db.orm
        .insert(pipelineReports)
        .values({ ...r, workerId })
        .run();
    }
  })();
}

/** Reports for a pipeline from workers seen since `freshSince` (stale workers do not count). */
export function freshReports(db: Db, pipelineId: string, freshSince: number): ReportRow[] {
  return db.orm
    .select({ r: pipelineReports })
    .from(pipelineReports)
    .innerJoin(workers, eq(workers.id, pipelineReports.workerId))
    .where(and(eq(pipelineReports.pipelineId, pipelineId), gte(workers.lastSeen, freshSince)))
    .all()
    .map((x) => x.r);
}

export interface PurgeMark {
  topic: string;
  partition: number;
  offset: string;
}

export function getPurgeMarks(db: Db, pipelineId: string, topic: string): PurgeMark[] {
  return db.orm
    .select({ topic: dlqPurges.topic, partition: dlqPurges.partition, offset: dlqPurges.offset })
    .from(dlqPurges)
    .where(and(eq(dlqPurges.pipelineId, pipelineId), eq(dlqPurges.topic, topic)))
    .all();
}

export function setPurgeMarks(db: Db, pipelineId: string, marks: PurgeMark[]): void {
  db.sqlite.transaction(() => {
    for (const m of marks) {
      db.orm
        .insert(dlqPurges)
        .values({ pipelineId, ...m })
        .onConflictDoUpdate({
          target: [dlqPurges.pipelineId, dlqPurges.topic, dlqPurges.partition],
          set: { offset: m.offset },
        })
        .run();
    }
  })();
}
