/** Opening the control-plane database: one better-sqlite3 handle, WAL, foreign keys, migrations. */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { type BetterSQLite3Database, drizzle } from "drizzle-orm/better-sqlite3";
import { migrate } from "./migrate.ts";
import * as schema from "./schema.ts";

export type Drizzle = BetterSQLite3Database<typeof schema>;

/** An open database: the raw handle (for transactions and pragmas) and its drizzle wrapper. */
export interface Db {
  sqlite: Database.Database;
  orm: Drizzle;
  close(): void;
}

export interface OpenDbOptions {
  /** Migrations folder; defaults to the repository's migrations/sqlite. */
  migrationsDir?: string;
}

/**
 * Open (creating if needed) the SQLite file at `path` and apply pending migrations. WAL lets the
 * API read while the log writer commits; `busy_timeout` covers a second process briefly holding it.
 */
export function openDb(path: string, options: OpenDbOptions = {}): Db {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const sqlite = new Database(path);
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("synchronous = NORMAL");
  sqlite.pragma("foreign_keys = ON");
  sqlite.pragma("busy_timeout = 5000");
  migrate(sqlite, options.migrationsDir);
  const orm = drizzle(sqlite, { schema });
  return {
    sqlite,
    orm,
    close: () => {
      if (sqlite.open) sqlite.close();
    },
  };
}
