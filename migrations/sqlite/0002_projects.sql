-- weir:foreign_keys=off
-- Projects and scoped access (issue 20). Rebuilds `pipelines` (a name is unique within a project,
-- no longer globally) and `tokens` (project, pipeline and pool scopes, expiry), with foreign keys
-- off for the rebuild as SQLite's ALTER TABLE procedure requires (the migration runner turns them
-- off around this file and runs PRAGMA foreign_key_check before it commits). Existing pipelines move
-- to the `default` project; existing user tokens become editors of it (what they could do before,
-- since every pipeline is in it); existing worker tokens serve the `default` pool.

CREATE TABLE projects (
  id TEXT PRIMARY KEY NOT NULL,
  name TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL
);
INSERT INTO projects (id, name, created_at) VALUES ('prj_default', 'default', CAST(strftime('%s', 'now') AS INTEGER) * 1000);

CREATE TABLE pipelines_new (
  id TEXT PRIMARY KEY NOT NULL,
  project_id TEXT NOT NULL REFERENCES projects (id),
  name TEXT NOT NULL,
  spec_json TEXT NOT NULL,
  desired TEXT NOT NULL CHECK (desired IN ('running', 'paused')),
  current_version_id TEXT,
  revision INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (project_id, name)
);
INSERT INTO pipelines_new (id, project_id, name, spec_json, desired, current_version_id, revision, created_at, updated_at)
  SELECT id, 'prj_default', name, spec_json, desired, current_version_id, revision, created_at, updated_at FROM pipelines;
DROP TABLE pipelines;
ALTER TABLE pipelines_new RENAME TO pipelines;
CREATE INDEX pipelines_created ON pipelines (created_at, id);
CREATE INDEX pipelines_project ON pipelines (project_id, created_at, id);

-- kind: admin (server-wide, bootstrap), project (role in one project), pipeline (a subset of actions
-- on one pipeline), worker (serves one pool).
CREATE TABLE tokens_new (
  id TEXT PRIMARY KEY NOT NULL,
  name TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('admin', 'project', 'pipeline', 'worker')),
  hash TEXT NOT NULL UNIQUE,
  project_id TEXT REFERENCES projects (id) ON DELETE CASCADE,
  role TEXT CHECK (role IN ('viewer', 'editor', 'admin')),
  pipeline_id TEXT REFERENCES pipelines (id) ON DELETE CASCADE,
  actions_json TEXT,
  pool TEXT,
  created_by TEXT,
  expires_at INTEGER,
  created_at INTEGER NOT NULL,
  last_used_at INTEGER,
  CHECK ((kind = 'project') = (role IS NOT NULL)),
  CHECK ((kind = 'pipeline') = (pipeline_id IS NOT NULL AND actions_json IS NOT NULL)),
  CHECK ((kind IN ('project', 'pipeline')) = (project_id IS NOT NULL)),
  CHECK ((kind = 'worker') = (pool IS NOT NULL))
);
INSERT INTO tokens_new (id, name, kind, hash, project_id, role, pool, created_at, last_used_at)
  SELECT id, name,
    CASE kind WHEN 'user' THEN 'project' ELSE kind END,
    hash,
    CASE kind WHEN 'user' THEN 'prj_default' END,
    CASE kind WHEN 'user' THEN 'editor' END,
    CASE kind WHEN 'worker' THEN 'default' END,
    created_at, last_used_at
  FROM tokens;
DROP TABLE tokens;
ALTER TABLE tokens_new RENAME TO tokens;
CREATE INDEX tokens_project ON tokens (project_id);

-- Every change through the API: who (token id and name, kept when the token is revoked), what,
-- on which pipeline, and the pipeline's revision before and after.
CREATE TABLE audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  time INTEGER NOT NULL,
  project_id TEXT,
  token_id TEXT,
  token_name TEXT,
  action TEXT NOT NULL,
  target TEXT,
  pipeline_id TEXT,
  revision_before INTEGER,
  revision_after INTEGER,
  status INTEGER NOT NULL,
  details_json TEXT
);
CREATE INDEX audit_project_time ON audit (project_id, time, id);
