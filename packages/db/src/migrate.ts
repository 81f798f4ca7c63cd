/**
 * Applies the numbered SQL files of migrations/sqlite in order, each once, each in a transaction.
 * Applied files are recorded with their sha256; an edited applied file is refused, because
 * migrations are append-only and a silent divergence between databases is worse than a failed boot.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type Database from "better-sqlite3";

/** Default location: `<repo>/migrations/sqlite`, or `WEIR_MIGRATIONS_DIR` for bundled deployments. */
export function defaultMigrationsDir(): string {
  if (process.env.WEIR_MIGRATIONS_DIR) return process.env.WEIR_MIGRATIONS_DIR;
  const here = dirname(fileURLToPath(import.meta.url));
  return resolve(here, "../../../migrations/sqlite");
}

export interface AppliedMigration {
  name: string;
  sha256: string;
  applied_at: number;
}

/** Apply pending migrations; returns the names applied by this call. */
export function migrate(db: Database.Database, dir = defaultMigrationsDir()): string[] {
  if (!existsSync(dir)) throw new Error(`migrations folder not found: ${dir}`);
  db.exec(`CREATE TABLE IF NOT EXISTS _weir_migrations (
    name TEXT PRIMARY KEY NOT NULL, sha256 TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
  const applied = new Map(
    (db.prepare("SELECT name, sha256, applied_at FROM _weir_migrations").all() as AppliedMigration[]).map(
      (m) => [m.name, m.sha256],
    ),
  );
  const files = readdirSync(dir)
    .filter((f) => /^\d{4}_[\w-]+\.sql$/.test(f))
    .sort();
  const done: string[] = [];
  for (const name of files) {
    const sql = readFileSync(join(dir, name), "utf8");
    const sha = createHash("sha256").update(sql).digest("hex");
    const prior = applied.get(name);
    if (prior !== undefined) {
      if (prior !== sha) throw new Error(`migration ${name} was edited after it was applied (append-only)`);
      continue;
    }
    // A file that rebuilds a table (SQLite's 12-step ALTER TABLE) says so on its first line: foreign
    // keys go off around it (the pragma is a no-op inside a transaction), so dropping the old table
    // does not cascade into its children, and every reference is checked before the commit.
    const fkOff = sql.startsWith("-- weir:foreign_keys=off");
    const fkWasOn = fkOff && db.pragma("foreign_keys", { simple: true }) === 1;
    if (fkWasOn) db.pragma("foreign_keys = OFF");
    try {
      db.transaction(() => {
        db.exec(sql);
        if (fkOff) {
          const broken = db.pragma("foreign_key_check") as unknown[];
          if (broken.length > 0)
            throw new Error(`migration ${name} leaves ${broken.length} broken foreign key reference(s)`);
        }
        db.prepare("INSERT INTO _weir_migrations (name, sha256, applied_at) VALUES (?, ?, ?)").run(
          name,
          sha,
          Date.now(),
        );
      })();
    } finally {
      if (fkWasOn) db.pragma("foreign_keys = ON");
    }
    done.push(name);
  }
  return done;
}
