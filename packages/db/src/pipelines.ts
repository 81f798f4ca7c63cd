/**
 * Pipelines and their handler versions. Every change that a worker must notice (spec, handler
 * pointer, pause/resume, delete) bumps the global revision in `meta` and stamps it on the pipeline,
 * inside the same transaction.
 */
import { and, asc, desc, eq, gt, inArray, max, or } from "drizzle-orm";
import { newId } from "./ids.ts";
import type { Db } from "./open.ts";
import { type HandlerVersionRow, handlerVersions, meta, type PipelineRow, pipelines } from "./schema.ts";

/** Pool and replicas copied out of a spec's JSON into their columns (placement reads the columns). */
function placementColumns(specJson: string): { pool: string; replicas: number | null } {
  const spec = JSON.parse(specJson) as { pool?: unknown; replicas?: unknown };
  return {
    pool: typeof spec.pool === "string" ? spec.pool : "default",
    replicas: typeof spec.replicas === "number" ? spec.replicas : null,
  };
}

/** The current global revision. */
export function currentRevision(db: Db): number {
  return db.orm.select().from(meta).where(eq(meta.key, "revision")).get()?.value ?? 0;
}

/** Bump the global revision (workers re-read desired state); returns the new value. */
export function bumpRevision(db: Db): number {
  return bump(db);
}

function bump(db: Db): number {
  const row = db.sqlite
    .prepare("UPDATE meta SET value = value + 1 WHERE key = 'revision' RETURNING value")
    .get() as { value: number };
  return row.value;
}

export function getPipeline(db: Db, id: string): PipelineRow | undefined {
  return db.orm.select().from(pipelines).where(eq(pipelines.id, id)).get();
}

export function getPipelineByName(db: Db, projectId: string, name: string): PipelineRow | undefined {
  return db.orm
    .select()
    .from(pipelines)
    .where(and(eq(pipelines.projectId, projectId), eq(pipelines.name, name)))
    .get();
}

export function insertPipeline(
  db: Db,
  input: { projectId: string; name: string; specJson: string },
): PipelineRow {
  return db.sqlite.transaction(() => {
    const now = Date.now();
    const row: PipelineRow = {
      id: newId("pl"),
      projectId: input.projectId,
      name: input.name,
      specJson: input.specJson,
      desired: "running",
      currentVersionId: null,
      revision: bump(db),
      createdAt: now,
      updatedAt: now,
      ...placementColumns(input.specJson),
      partitions: null,
    };
    db.orm.insert(pipelines).values(row).run();
    return row;
  })();
}

/** Update fields of a pipeline and bump its revision. Returns the new row, or undefined if gone. */
export function updatePipeline(
  db: Db,
  id: string,
  changes: Partial<Pick<PipelineRow, "name" | "specJson" | "desired" | "currentVersionId">>,
): PipelineRow | undefined {
  return db.sqlite.transaction(() => {
    if (!getPipeline(db, id)) return undefined;
    db.orm
      .update(pipelines)
      .set({
        ...changes,
        ...(changes.specJson !== undefined ? placementColumns(changes.specJson) : {}),
        revision: bump(db),
        updatedAt: Date.now(),
      })
      .where(eq(pipelines.id, id))
      .run();
    return getPipeline(db, id);
  })();
}

/** Delete a pipeline (versions, logs, reports cascade) and bump the global revision. */
export function deletePipeline(db: Db, id: string): boolean {
  return db.sqlite.transaction(() => {
    const changed = db.orm.delete(pipelines).where(eq(pipelines.id, id)).run().changes > 0;
    if (changed) bump(db);
    return changed;
  })();
}

/**
 * Keyset page ordered by (created_at, id); `after` is the last row of the previous page. Scoped to
 * a project, or to a set of ids (a pipeline token's one pipeline), when given.
 */
export function listPipelines(
  db: Db,
  page: {
    limit: number;
    after?: { createdAt: number; id: string } | undefined;
    projectId?: string | undefined;
    ids?: string[] | undefined;
  },
): PipelineRow[] {
  const after = page.after;
  const conds = [
    after
      ? or(
          gt(pipelines.createdAt, after.createdAt),
          and(eq(pipelines.createdAt, after.createdAt), gt(pipelines.id, after.id)),
        )
      : undefined,
    page.projectId !== undefined ? eq(pipelines.projectId, page.projectId) : undefined,
    page.ids !== undefined ? inArray(pipelines.id, page.ids.length > 0 ? page.ids : [""]) : undefined,
  ].filter((c) => c !== undefined);
  return db.orm
    .select()
    .from(pipelines)
    .where(conds.length > 0 ? and(...conds) : undefined)
    .orderBy(asc(pipelines.createdAt), asc(pipelines.id))
    .limit(page.limit)
    .all();
}

export function allPipelines(db: Db): PipelineRow[] {
  return db.orm.select().from(pipelines).orderBy(asc(pipelines.createdAt), asc(pipelines.id)).all();
}

/**
 * Store a new immutable version and point the pipeline at it, in one transaction. `manifestJson`
 * only for a bundled upload.
 */
export function insertVersion(
  db: Db,
  pipelineId: string,
  input: Omit<HandlerVersionRow, "id" | "pipelineId" | "version" | "createdAt" | "manifestJson"> & {
    manifestJson?: string | null;
  },
): HandlerVersionRow | undefined {
  return db.sqlite.transaction(() => {
    if (!getPipeline(db, pipelineId)) return undefined;
    const last =
      db.orm
        .select({ v: max(handlerVersions.version) })
        .from(handlerVersions)
        .where(eq(handlerVersions.pipelineId, pipelineId))
        .get()?.v ?? 0;
    const row: HandlerVersionRow = {
      ...input,
      manifestJson: input.manifestJson ?? null,
      id: newId("hv"),
      pipelineId,
      version: last + 1,
      createdAt: Date.now(),
    };
    db.orm.insert(handlerVersions).values(row).run();
    updatePipeline(db, pipelineId, { currentVersionId: row.id });
    return row;
  })();
}

export function listVersions(db: Db, pipelineId: string): HandlerVersionRow[] {
  return db.orm
    .select()
    .from(handlerVersions)
    .where(eq(handlerVersions.pipelineId, pipelineId))
    .orderBy(desc(handlerVersions.version))
    .all();
}

export function getVersion(db: Db, pipelineId: string, version: number): HandlerVersionRow | undefined {
  return db.orm
    .select()
    .from(handlerVersions)
    .where(and(eq(handlerVersions.pipelineId, pipelineId), eq(handlerVersions.version, version)))
    .get();
}

export function getVersionById(db: Db, id: string): HandlerVersionRow | undefined {
  return db.orm.select().from(handlerVersions).where(eq(handlerVersions.id, id)).get();
}
