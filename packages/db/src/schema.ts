/**
 * Drizzle table definitions mirroring migrations/sqlite. The SQL files are the source of truth for
 * DDL (numbered, append-only); these definitions only type the queries.
 */
import { integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const meta = sqliteTable("meta", {
  key: text("key").primaryKey(),
  value: integer("value").notNull(),
});

export const projects = sqliteTable("projects", {
  id: text("id").primaryKey(),
  name: text("name").notNull().unique(),
  createdAt: integer("created_at").notNull(),
});

export const tokens = sqliteTable("tokens", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  kind: text("kind", { enum: ["admin", "project", "pipeline", "worker"] }).notNull(),
  hash: text("hash").notNull().unique(),
  /** Project and pipeline tokens: the project they belong to. */
  projectId: text("project_id"),
  /** Project tokens: viewer, editor or admin. */
  role: text("role", { enum: ["viewer", "editor", "admin"] }),
  /** Pipeline tokens: the one pipeline and the actions allowed on it (JSON array). */
  pipelineId: text("pipeline_id"),
  actionsJson: text("actions_json"),
  /** Worker tokens: the pool whose pipelines (and secrets) the worker receives. */
  pool: text("pool"),
  /** Id of the token that created this one (null: bootstrap). */
  createdBy: text("created_by"),
  expiresAt: integer("expires_at"),
  createdAt: integer("created_at").notNull(),
  lastUsedAt: integer("last_used_at"),
});

export const pipelines = sqliteTable("pipelines", {
  id: text("id").primaryKey(),
  projectId: text("project_id").notNull(),
  name: text("name").notNull(),
  specJson: text("spec_json").notNull(),
  desired: text("desired", { enum: ["running", "paused"] }).notNull(),
  currentVersionId: text("current_version_id"),
  revision: integer("revision").notNull(),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
  /** Copied from the spec on every write (see placementColumns). */
  pool: text("pool").notNull().default("default"),
  /** Copied from the spec: null is "auto". */
  replicas: integer("replicas"),
  /** Partitions of the source topic as a worker last reported them. */
  partitions: integer("partitions"),
});

export const handlerVersions = sqliteTable("handler_versions", {
  id: text("id").primaryKey(),
  pipelineId: text("pipeline_id").notNull(),
  version: integer("version").notNull(),
  filename: text("filename").notNull(),
  source: text("source").notNull(),
  code: text("code").notNull(),
  sourceMap: text("source_map"),
  sha256: text("sha256").notNull(),
  size: integer("size").notNull(),
  createdAt: integer("created_at").notNull(),
  /** A bundled upload's manifest (core's HandlerManifest) as JSON; null for a raw upload. */
  manifestJson: text("manifest_json"),
});

export const logs = sqliteTable("logs", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  pipelineId: text("pipeline_id").notNull(),
  time: integer("time").notNull(),
  level: text("level").notNull(),
  levelRank: integer("level_rank").notNull(),
  message: text("message").notNull(),
  fieldsJson: text("fields_json"),
  source: text("source").notNull(),
  topic: text("topic"),
  partition: integer("partition"),
  offset: text("offset"),
  handlerVersion: text("handler_version"),
  workerId: text("worker_id"),
});

export const workers = sqliteTable("workers", {
  id: text("id").primaryKey(),
  startedAt: integer("started_at"),
  lastSeen: integer("last_seen").notNull(),
  pool: text("pool"),
});

export const assignments = sqliteTable(
  "assignments",
  {
    pipelineId: text("pipeline_id").notNull(),
    workerId: text("worker_id").notNull(),
    since: integer("since").notNull(),
  },
  (t) => [primaryKey({ columns: [t.pipelineId, t.workerId] })],
);

export const placementHistory = sqliteTable("placement_history", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  pipelineId: text("pipeline_id").notNull(),
  time: integer("time").notNull(),
  workersJson: text("workers_json").notNull(),
  reason: text("reason").notNull(),
});

export const pipelineReports = sqliteTable(
  "pipeline_reports",
  {
    pipelineId: text("pipeline_id").notNull(),
    workerId: text("worker_id").notNull(),
    revision: integer("revision").notNull(),
    state: text("state").notNull(),
    lastErrorJson: text("last_error_json"),
    countersJson: text("counters_json").notNull(),
    lagJson: text("lag_json").notNull(),
    handlerVersion: text("handler_version"),
    reportedAt: integer("reported_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.pipelineId, t.workerId] })],
);

export const dlqPurges = sqliteTable(
  "dlq_purges",
  {
    pipelineId: text("pipeline_id").notNull(),
    topic: text("topic").notNull(),
    partition: integer("partition").notNull(),
    offset: text("offset").notNull(),
  },
  (t) => [primaryKey({ columns: [t.pipelineId, t.topic, t.partition] })],
);

export const audit = sqliteTable("audit", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  time: integer("time").notNull(),
  projectId: text("project_id"),
  tokenId: text("token_id"),
  tokenName: text("token_name"),
  action: text("action").notNull(),
  target: text("target"),
  pipelineId: text("pipeline_id"),
  revisionBefore: integer("revision_before"),
  revisionAfter: integer("revision_after"),
  status: integer("status").notNull(),
  detailsJson: text("details_json"),
});

export type ProjectRow = typeof projects.$inferSelect;
export type AuditRow = typeof audit.$inferSelect;
export type NewAuditRow = typeof audit.$inferInsert;
export type TokenRow = typeof tokens.$inferSelect;
export type PipelineRow = typeof pipelines.$inferSelect;
export type HandlerVersionRow = typeof handlerVersions.$inferSelect;
export type LogRow = typeof logs.$inferSelect;
export type NewLogRow = typeof logs.$inferInsert;
export type ReportRow = typeof pipelineReports.$inferSelect;
export type WorkerRow = typeof workers.$inferSelect;
