/** Per-pipeline log lines: batched inserts with retention pruning, and newest-first keyset reads. */
import { and, asc, desc, eq, gt, gte, lt, lte, or, type SQL } from "drizzle-orm";
import type { Db } from "./open.ts";
import { type LogRow, logs, type NewLogRow } from "./schema.ts";

export interface Retention {
  /** Lines kept per pipeline. */
  maxLines: number;
  /** Lines older than this (ms) are removed. */
  maxAgeMs: number;
}

/**
 * Insert many lines in one transaction and prune the pipelines they touched. Returns the rows as
 * stored (with ids) so the caller can fan them out to live tails. Rows of deleted pipelines are
 * skipped rather than failing the whole batch on the foreign key.
 */
export function insertLogs(db: Db, rows: NewLogRow[], retention: Retention, now = Date.now()): LogRow[] {
  if (rows.length === 0) return [];
  const exists = db.sqlite.prepare("SELECT 1 FROM pipelines WHERE id = ?").pluck();
  const insert = db.sqlite.prepare(
    `INSERT INTO logs (pipeline_id, time, level, level_rank, message, fields_json, source, topic, partition,
       "offset", handler_version, worker_id)
     VALUES (@pipelineId, @time, @level, @levelRank, @message, @fieldsJson, @source, @topic, @partition,
       @offset, @handlerVersion, @workerId)`,
  );
  const pruneAge = db.sqlite.prepare("DELETE FROM logs WHERE pipeline_id = ? AND time < ?");
  const pruneCount = db.sqlite.prepare(
    `DELETE FROM logs WHERE pipeline_id = ? AND id IN (
       SELECT id FROM logs WHERE pipeline_id = ? ORDER BY time DESC, id DESC LIMIT -1 OFFSET ?)`,
  );
  return db.sqlite.transaction(() => {
    const known = new Map<string, boolean>();
    const stored: LogRow[] = [];
    for (const r of rows) {
      let ok = known.get(r.pipelineId);
      if (ok === undefined) {
        ok = exists.get(r.pipelineId) !== undefined;
        known.set(r.pipelineId, ok);
      }
      if (!ok) continue;
      const full: LogRow = {
        id: 0,
        pipelineId: r.pipelineId,
        time: r.time,
        level: r.level,
        levelRank: r.levelRank,
        message: r.message,
        fieldsJson: r.fieldsJson ?? null,
        source: r.source,
        topic: r.topic ?? null,
        partition: r.partition ?? null,
        offset: r.offset ?? null,
        handlerVersion: r.handlerVersion ?? null,
        workerId: r.workerId ?? null,
      };
      const { id: _id, ...params } = full;
      full.id = Number(insert.run(params).lastInsertRowid);
      stored.push(full);
    }
    for (const [pipelineId, ok] of known) {
      if (!ok) continue;
      pruneAge.run(pipelineId, now - retention.maxAgeMs);
      pruneCount.run(pipelineId, pipelineId, retention.maxLines);
    }
    return stored;
  })();
}

export interface LogQuery {
  pipelineId: string;
  /** Minimum level rank. */
  minRank?: number | undefined;
  since?: number | undefined;
  until?: number | undefined;
  /** Keyset cursor: return lines strictly older than (time, id). */
  before?: { time: number; id: number } | undefined;
  limit: number;
}

/** Lines newest first. */
export function queryLogs(db: Db, q: LogQuery): LogRow[] {
  const where: (SQL | undefined)[] = [eq(logs.pipelineId, q.pipelineId)];
  if (q.minRank !== undefined) where.push(gte(logs.levelRank, q.minRank));
  if (q.since !== undefined) where.push(gte(logs.time, q.since));
  if (q.until !== undefined) where.push(lte(logs.time, q.until));
  if (q.before)
    where.push(or(lt(logs.time, q.before.time), and(eq(logs.time, q.before.time), lt(logs.id, q.before.id))));
  return db.orm
    .select()
    .from(logs)
    .where(and(...where))
    .orderBy(desc(logs.time), desc(logs.id))
    .limit(q.limit)
    .all();
}

/**
 * Lines stored after line `afterId`, oldest first (insertion order: ids only grow, and a tail
 * resumes from the last id it saw, whatever the lines' own timestamps). Bounded by retention.
 */
export function logsAfter(
  db: Db,
  q: { pipelineId: string; afterId: number; minRank?: number | undefined; limit: number },
): LogRow[] {
  const where: (SQL | undefined)[] = [eq(logs.pipelineId, q.pipelineId), gt(logs.id, q.afterId)];
  if (q.minRank !== undefined) where.push(gte(logs.levelRank, q.minRank));
  return db.orm
    .select()
    .from(logs)
    .where(and(...where))
    .orderBy(asc(logs.id))
    .limit(q.limit)
    .all();
}
