/**
 * The projects migration (0002) on a database made by the schema before it: pipelines, their
 * versions, logs, reports and DLQ watermarks survive the `pipelines` rebuild (no cascade), every
 * pipeline lands in the `default` project, user tokens become editors of it and worker tokens serve
 * the `default` pool; names become unique per project, not globally.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, expect, it } from "vitest";
import {
  createProject,
  DEFAULT_PROJECT_ID,
  defaultMigrationsDir,
  getPipelineByName,
  insertPipeline,
  listTokens,
  migrate,
  openDb,
} from "./index.ts";

const dir = mkdtempSync(join(tmpdir(), "weir-migrate-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it("moves an existing database into the default project without loss", () => {
  // The schema as it was: only 0001 applied.
  const old = join(dir, "old-migrations");
  mkdirSync(old);
  cpSync(join(defaultMigrationsDir(), "0001_init.sql"), join(old, "0001_init.sql"));
  const path = join(dir, "weir.db");
  const raw = new Database(path);
  raw.pragma("foreign_keys = ON");
  migrate(raw, old);
  const now = Date.now();
  raw.exec(`
    UPDATE meta SET value = 7 WHERE key = 'revision';
    INSERT INTO pipelines VALUES ('pl_a', 'orders', '{"name":"orders"}', 'running', 'hv_a2', 5, ${now}, ${now});
    INSERT INTO pipelines VALUES ('pl_b', 'traces', '{"name":"traces"}', 'paused', NULL, 7, ${now + 1}, ${now + 1});
    INSERT INTO handler_versions VALUES ('hv_a1', 'pl_a', 1, 'h.ts', 's1', 'c1', NULL, 'x1', 2, ${now});
    INSERT INTO handler_versions VALUES ('hv_a2', 'pl_a', 2, 'h.ts', 's2', 'c2', 'm', 'x2', 2, ${now});
    INSERT INTO logs (pipeline_id, time, level, level_rank, message, source) VALUES ('pl_a', ${now}, 'info', 20, 'hello', 'handler');
    INSERT INTO pipeline_reports VALUES ('pl_a', 'w1', 5, 'running', NULL, '{}', '[]', '2', ${now});
    INSERT INTO dlq_purges VALUES ('pl_b', 't.dlq', 0, '12');
    INSERT INTO tokens VALUES ('tok_admin', 'admin', 'admin', 'h1', ${now}, NULL);
    INSERT INTO tokens VALUES ('tok_user', 'dev', 'user', 'h2', ${now}, ${now});
    INSERT INTO tokens VALUES ('tok_worker', 'w', 'worker', 'h3', ${now}, NULL);
  `);
  raw.close();

  const db = openDb(path);
  const count = (table: string) =>
    (db.sqlite.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  expect([count("pipelines"), count("handler_versions"), count("logs"), count("pipeline_reports")]).toEqual([
    2, 2, 1, 1,
  ]);
  expect(count("dlq_purges")).toBe(1);
  const a = getPipelineByName(db, DEFAULT_PROJECT_ID, "orders")!;
  expect(a).toMatchObject({
    id: "pl_a",
    projectId: DEFAULT_PROJECT_ID,
    revision: 5,
    currentVersionId: "hv_a2",
  });
  expect(getPipelineByName(db, DEFAULT_PROJECT_ID, "traces")?.desired).toBe("paused");
  const tokens = Object.fromEntries(listTokens(db).map((t) => [t.id, t]));
  expect(tokens.tok_admin).toMatchObject({ kind: "admin", projectId: null, role: null, pool: null });
  expect(tokens.tok_user).toMatchObject({ kind: "project", projectId: DEFAULT_PROJECT_ID, role: "editor" });
  expect(tokens.tok_user?.lastUsedAt).toBe(now);
  expect(tokens.tok_worker).toMatchObject({ kind: "worker", pool: "default" });
  // Foreign keys are back on, and still cascade: deleting a pipeline takes its versions and logs.
  expect(db.sqlite.pragma("foreign_keys", { simple: true })).toBe(1);
  db.sqlite.prepare("DELETE FROM pipelines WHERE id = 'pl_a'").run();
  expect([count("handler_versions"), count("logs")]).toEqual([0, 0]);
  // Names are unique per project now.
  const other = createProject(db, "team-b");
  expect(insertPipeline(db, { projectId: other.id, name: "traces", specJson: "{}" }).projectId).toBe(
    other.id,
  );
  expect(() => insertPipeline(db, { projectId: DEFAULT_PROJECT_ID, name: "traces", specJson: "{}" })).toThrow(
    /UNIQUE/,
  );
  db.close();
});
