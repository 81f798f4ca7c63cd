-- Weir control plane, first schema. Append-only: later changes go in new numbered files.
-- Times are milliseconds since the epoch (INTEGER).

-- Global counters, e.g. the desired-state revision bumped by every pipeline change.
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY NOT NULL,
  value INTEGER NOT NULL
);
INSERT OR IGNORE INTO meta (key, value) VALUES ('revision', 0);

-- API tokens: only the sha256 of the secret is stored.
CREATE TABLE IF NOT EXISTS tokens (
  id TEXT PRIMARY KEY NOT NULL,
  name TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('admin', 'user', 'worker')),
  hash TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  last_used_at INTEGER
);

-- Pipelines: spec_json holds the validated spec with secrets encrypted ({"$enc": ...}).
CREATE TABLE IF NOT EXISTS pipelines (
  id TEXT PRIMARY KEY NOT NULL,
  name TEXT NOT NULL UNIQUE,
  spec_json TEXT NOT NULL,
  desired TEXT NOT NULL CHECK (desired IN ('running', 'paused')),
  current_version_id TEXT,
  revision INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS pipelines_created ON pipelines (created_at, id);

-- Immutable handler versions.
CREATE TABLE IF NOT EXISTS handler_versions (
  id TEXT PRIMARY KEY NOT NULL,
  pipeline_id TEXT NOT NULL REFERENCES pipelines (id) ON DELETE CASCADE,
  version INTEGER NOT NULL,
  filename TEXT NOT NULL,
  source TEXT NOT NULL,
  code TEXT NOT NULL,
  source_map TEXT,
  sha256 TEXT NOT NULL,
  size INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (pipeline_id, version)
);

-- Per-pipeline log lines (bounded by count and age, pruned by the API's log writer).
CREATE TABLE IF NOT EXISTS logs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  pipeline_id TEXT NOT NULL REFERENCES pipelines (id) ON DELETE CASCADE,
  time INTEGER NOT NULL,
  level TEXT NOT NULL,
  level_rank INTEGER NOT NULL,
  message TEXT NOT NULL,
  fields_json TEXT,
  source TEXT NOT NULL,
  topic TEXT,
  partition INTEGER,
  "offset" TEXT,
  handler_version TEXT,
  worker_id TEXT
);
CREATE INDEX IF NOT EXISTS logs_pipeline_time ON logs (pipeline_id, time, id);

-- Worker liveness.
CREATE TABLE IF NOT EXISTS workers (
  id TEXT PRIMARY KEY NOT NULL,
  started_at INTEGER,
  last_seen INTEGER NOT NULL
);

-- Latest report per (pipeline, worker).
CREATE TABLE IF NOT EXISTS pipeline_reports (
  pipeline_id TEXT NOT NULL REFERENCES pipelines (id) ON DELETE CASCADE,
  worker_id TEXT NOT NULL,
  revision INTEGER NOT NULL,
  state TEXT NOT NULL,
  last_error_json TEXT,
  counters_json TEXT NOT NULL,
  lag_json TEXT NOT NULL,
  handler_version TEXT,
  reported_at INTEGER NOT NULL,
  PRIMARY KEY (pipeline_id, worker_id)
);

-- DLQ purge watermarks: records below `offset` in (topic, partition) are hidden for the pipeline.
-- A watermark, not deleteRecords, because several pipelines may share one dead-letter topic.
CREATE TABLE IF NOT EXISTS dlq_purges (
  pipeline_id TEXT NOT NULL REFERENCES pipelines (id) ON DELETE CASCADE,
  topic TEXT NOT NULL,
  partition INTEGER NOT NULL,
  "offset" TEXT NOT NULL,
  PRIMARY KEY (pipeline_id, topic, partition)
);
