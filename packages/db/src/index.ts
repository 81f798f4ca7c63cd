/**
 * @weir/db: the control plane's storage. SQLite through better-sqlite3, typed with drizzle-orm;
 * DDL lives in migrations/sqlite (numbered, append-only) and is applied by {@link openDb}.
 * Values are stored as the API hands them over (spec JSON with secrets already encrypted).
 */
export * from "./audit.ts";
export * from "./ids.ts";
export * from "./logs.ts";
export { defaultMigrationsDir, migrate } from "./migrate.ts";
export { type Db, type Drizzle, type OpenDbOptions, openDb } from "./open.ts";
export * from "./pipelines.ts";
export * from "./placement.ts";
export * from "./projects.ts";
export * from "./reports.ts";
export type {
  AuditRow,
  HandlerVersionRow,
  LogRow,
  NewAuditRow,
  NewLogRow,
  PipelineRow,
  ProjectRow,
  ReportRow,
  TokenRow,
  WorkerRow,
} from "./schema.ts";
export * from "./tokens.ts";
