/** Projects: every pipeline belongs to one; names are unique. `default` exists from the start. */
import { asc, eq } from "drizzle-orm";
import { newId } from "./ids.ts";
import type { Db } from "./open.ts";
import { type ProjectRow, pipelines, projects } from "./schema.ts";

export const DEFAULT_PROJECT_ID = "prj_default";

export function createProject(db: Db, name: string): ProjectRow {
  const row: ProjectRow = { id: newId("prj"), name, createdAt: Date.now() };
  db.orm.insert(projects).values(row).run();
  return row;
}

export function getProject(db: Db, id: string): ProjectRow | undefined {
  return db.orm.select().from(projects).where(eq(projects.id, id)).get();
}

export function getProjectByName(db: Db, name: string): ProjectRow | undefined {
  return db.orm.select().from(projects).where(eq(projects.name, name)).get();
}

export function listProjects(db: Db): ProjectRow[] {
  return db.orm.select().from(projects).orderBy(asc(projects.createdAt), asc(projects.id)).all();
}

export function countProjectPipelines(db: Db, projectId: string): number {
  return db.orm.select().from(pipelines).where(eq(pipelines.projectId, projectId)).all().length;
}

/** Delete an empty project (its tokens cascade). False when it does not exist. */
export function deleteProject(db: Db, id: string): boolean {
  return db.orm.delete(projects).where(eq(projects.id, id)).run().changes > 0;
}
