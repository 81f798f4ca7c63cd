/**
 * @weir/db: the control plane's storage. SQLite through better-sqlite3, typed with drizzle-orm;
 * DDL lives in migrations/sqlite (numbered, append-only) and is applied by {@link openDb}.
 * Values are stored as the API hands them over (spec JSON with secrets already encrypted).
 */
export * from "./ids.js";
export * from "./logs.js";
export { defaultMigrationsDir, migrate } from "./migrate.js";
export { type Db, type Drizzle, type OpenDbOptions, openDb } from "./open.js";
export * from "./pipelines.js";
export * from "./reports.js";
export type { HandlerVersionRow, LogRow, NewLogRow, PipelineRow, ReportRow, TokenRow } from "./schema.js";
export * from "./tokens.js";
