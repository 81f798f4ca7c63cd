-- Placement (issue 15): the API assigns each pipeline to `replicas` live workers of its pool and
-- workers run only what they are assigned. Pool and replicas are copied out of the spec JSON so the
-- placement pass and the worker routes read columns instead of parsing every spec.
ALTER TABLE pipelines ADD COLUMN pool TEXT NOT NULL DEFAULT 'default';
UPDATE pipelines SET pool = coalesce(json_extract(spec_json, '$.pool'), 'default');
-- NULL: "auto" (min(partitions of the topic, live workers of the pool)).
ALTER TABLE pipelines ADD COLUMN replicas INTEGER;
UPDATE pipelines SET replicas = CASE
  WHEN json_type(spec_json, '$.replicas') = 'integer' THEN json_extract(spec_json, '$.replicas')
  ELSE NULL END;
-- Partitions of the source topic as a worker last reported them; NULL until one has.
ALTER TABLE pipelines ADD COLUMN partitions INTEGER;

-- The pool a worker's token serves, recorded with its heartbeat.
ALTER TABLE workers ADD COLUMN pool TEXT;

-- Current assignments: which workers run which pipeline, since when.
CREATE TABLE IF NOT EXISTS assignments (
  pipeline_id TEXT NOT NULL REFERENCES pipelines (id) ON DELETE CASCADE,
  worker_id TEXT NOT NULL,
  since INTEGER NOT NULL,
  PRIMARY KEY (pipeline_id, worker_id)
);
CREATE INDEX IF NOT EXISTS assignments_worker ON assignments (worker_id);

-- Every change of a pipeline's workers, with the reason (bounded per pipeline by the API).
CREATE TABLE IF NOT EXISTS placement_history (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  pipeline_id TEXT NOT NULL REFERENCES pipelines (id) ON DELETE CASCADE,
  time INTEGER NOT NULL,
  workers_json TEXT NOT NULL,
  reason TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS placement_history_pipeline ON placement_history (pipeline_id, id);
