/** The audit log: one row per change made through the API, kept when tokens and pipelines go. */
import { and, asc, eq, gt } from "drizzle-orm";
import type { Db } from "./open.ts";
import { type AuditRow, audit, type NewAuditRow } from "./schema.ts";

export function recordAudit(db: Db, row: NewAuditRow): void {
  db.orm.insert(audit).values(row).run();
}

/** Oldest first after `afterId`; every project's when `projectId` is undefined. */
export function listAudit(
  db: Db,
  q: { projectId?: string | undefined; pipelineId?: string | undefined; afterId?: number; limit: number },
): AuditRow[] {
  const conds = [
    q.projectId !== undefined ? eq(audit.projectId, q.projectId) : undefined,
    q.pipelineId !== undefined ? eq(audit.pipelineId, q.pipelineId) : undefined,
    q.afterId !== undefined ? gt(audit.id, q.afterId) : undefined,
  ].filter((c) => c !== undefined);
  return db.orm
    .select()
    .from(audit)
    .where(conds.length > 0 ? and(...conds) : undefined)
    .orderBy(asc(audit.id))
    .limit(q.limit)
    .all();
}
