/**
 * Startup probes shared by the ClickHouse server sink and the embedded engine: what the server can do
 * (version, settings, types) and what the target table looks like. They run once at connect, through
 * whatever query function the sink has, and return notes instead of failing on what is missing.
 */
import { planRowBinary, type RowBinaryColumn, WeirError } from "@weir/core";

/** Runs one query and returns its rows (the sink asks for JSONEachRow output). */
export type RunQuery = (sql: string) => Promise<Array<Record<string, unknown>>>;

export interface ServerInfo {
  version: string;
  /** The server's time zone (a DateTime column without its own uses it). */
  timezone: string;
  /** Which of the settings we care about exist on this server. */
  settings: Set<string>;
  /** MergeTree-level defaults we care about (name -> value), when the server has them. */
  mergeTreeSettings: Map<string, string>;
  /** Data types we care about that exist (Map, DateTime64, ...). */
  types: Set<string>;
}

const WANTED_SETTINGS = [
  "insert_deduplication_token",
  "insert_deduplicate",
  "async_insert",
  "input_format_skip_unknown_fields",
  "input_format_defaults_for_omitted_fields",
];
const WANTED_MERGE_TREE = ["non_replicated_deduplication_window", "replicated_deduplication_window"];
const WANTED_TYPES = ["Map", "DateTime64", "JSON"];

/** A ClickHouse string literal. */
export function literal(s: string): string {
  return `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

/** A ClickHouse identifier, backquoted. */
export function ident(s: string): string {
  return `\`${s.replace(/\\/g, "\\\\").replace(/`/g, "\\`")}\``;
}

const list = (names: string[]) => names.map(literal).join(", ");

/** Detect the server's version, settings and types. */
export async function detectServer(run: RunQuery): Promise<ServerInfo> {
  const [v] = await run("SELECT version() AS v, timezone() AS tz");
  const settings = await run(`SELECT name FROM system.settings WHERE name IN (${list(WANTED_SETTINGS)})`);
  const mt = await run(
    `SELECT name, value FROM system.merge_tree_settings WHERE name IN (${list(WANTED_MERGE_TREE)})`,
  );
  const types = await run(`SELECT name FROM system.data_type_families WHERE name IN (${list(WANTED_TYPES)})`);
  return {
    version: String(v?.v ?? "unknown"),
    timezone: String(v?.tz ?? "UTC"),
    settings: new Set(settings.map((r) => String(r.name))),
    mergeTreeSettings: new Map(mt.map((r) => [String(r.name), String(r.value)])),
    types: new Set(types.map((r) => String(r.name))),
  };
}

export interface ColumnInfo {
  name: string;
  type: string;
  /** "", DEFAULT, MATERIALIZED, ALIAS (EPHEMERAL on newer servers). */
  defaultKind: string;
}

export interface TableInfo {
  engine: string;
  createQuery: string;
  columns: ColumnInfo[];
}

/** The table's engine, DDL and columns; undefined when it does not exist. */
export async function describeTable(
  run: RunQuery,
  db: string,
  table: string,
): Promise<TableInfo | undefined> {
  const where = `database = ${literal(db)} AND name = ${literal(table)}`;
  const [t] = await run(`SELECT engine, create_table_query FROM system.tables WHERE ${where}`);
  if (!t) return undefined;
  const cols = await run(
    `SELECT name, type, default_kind FROM system.columns WHERE database = ${literal(db)} AND table = ${literal(table)}`,
  );
  return {
    engine: String(t.engine),
    createQuery: String(t.create_table_query ?? ""),
    columns: cols.map((c) => ({
      name: String(c.name),
      type: String(c.type),
      defaultKind: String(c.default_kind ?? ""),
    })),
  };
}

/** Columns an INSERT can write (MATERIALIZED and ALIAS columns are computed by the server). */
export function insertableColumns(t: TableInfo): ColumnInfo[] {
  return t.columns.filter((c) => c.defaultKind !== "MATERIALIZED" && c.defaultKind !== "ALIAS");
}

/**
 * Check the table exists and can take rows; throws SINK_SCHEMA naming the table otherwise.
 * Which row fields fit which columns is only known per row: the server rejects an unknown field or a
 * wrong type at write time (a permanent error that the sink annotates with this column list).
 */
export function checkTable(info: TableInfo | undefined, db: string, table: string): TableInfo {
  const name = `${db}.${table}`;
  if (!info) {
    throw new WeirError(
      "SINK_SCHEMA",
      `table ${name} does not exist; create it before starting the pipeline`,
      {
        details: { database: db, table },
      },
    );
  }
  if (/^(View|Dictionary|LiveView|WindowView)$/.test(info.engine)) {
    throw new WeirError(
      "SINK_SCHEMA",
      `table ${name} has engine ${info.engine}, which does not accept INSERT`,
      {
        details: { database: db, table, engine: info.engine },
      },
    );
  }
  if (insertableColumns(info).length === 0) {
    throw new WeirError("SINK_SCHEMA", `table ${name} has no insertable columns`, {
      details: { database: db, table },
    });
  }
  return info;
}

export interface InsertPlan {
  /** Send insert_deduplication_token with every insert (the server has the setting). */
  sendToken: boolean;
  /** True when the table itself drops a replayed batch. */
  tableDeduplicates: boolean;
  /**
   * Settings every insert carries. Unknown JSON fields are an error on every version (newer servers
   * skip them by default, which would silently drop a column the handler meant to write).
   */
  settings: Record<string, string | number>;
  notes: string[];
}

/** Decide how inserts deduplicate on this server and table, and say what is missing. */
export function planInserts(server: ServerInfo, info: TableInfo, name: string): InsertPlan {
  const notes: string[] = [];
  const sendToken = server.settings.has("insert_deduplication_token");
  if (!sendToken) notes.push(`insert_deduplication_token unsupported on ${server.version}`);
  if (!server.settings.has("async_insert")) notes.push(`async_insert unsupported on ${server.version}`);
  for (const t of WANTED_TYPES.slice(0, 2)) {
    if (!server.types.has(t)) notes.push(`type ${t} unsupported on ${server.version}`);
  }
  const replicated = info.engine.startsWith("Replicated") || info.engine.startsWith("Shared");
  const hasWindowSetting = server.mergeTreeSettings.has("non_replicated_deduplication_window");
  const tableWindow = /non_replicated_deduplication_window\s*=\s*(\d+)/.exec(info.createQuery)?.[1];
  const window = Number(
    tableWindow ?? server.mergeTreeSettings.get("non_replicated_deduplication_window") ?? 0,
  );
  const tableDeduplicates =
    replicated || (info.engine.endsWith("MergeTree") && hasWindowSetting && window > 0);
  if (!hasWindowSetting) {
    notes.push(
      `non_replicated_deduplication_window unsupported on ${server.version}: only Replicated tables deduplicate inserts`,
    );
  }
  if (!tableDeduplicates) {
    notes.push(
      info.engine.includes("Replacing")
        ? `table ${name} (${info.engine}) does not deduplicate inserts: a replayed batch is stored twice until a merge collapses it (read with FINAL)`
        : `table ${name} (${info.engine}) does not deduplicate inserts: a replayed batch is stored twice; use ReplacingMergeTree${hasWindowSetting ? " or SETTINGS non_replicated_deduplication_window" : ""}`,
    );
  } else if (!sendToken) {
    notes.push(`table ${name} deduplicates by block hash only: a replay drops only byte-identical batches`);
  }
  const settings: Record<string, string | number> = {};
  if (server.settings.has("input_format_skip_unknown_fields")) settings.input_format_skip_unknown_fields = 0;
  return { sendToken, tableDeduplicates, notes, settings };
}

export type InsertFormat = "auto" | "JSONEachRow" | "RowBinary";

/** How rows are inserted: RowBinary for these columns, or JSONEachRow and why. */
export type FormatPlan =
  | { format: "RowBinary"; columns: RowBinaryColumn[] }
  | { format: "JSONEachRow"; reason?: string };

/**
 * Whether inserts can be RowBinary (encoded in the sandbox, one column list fixed at connect): every
 * insertable column has a type the encoder knows, and a key missing in a row means what it means
 * in JSONEachRow. That last point rules out DEFAULT columns on servers that fill omitted JSON fields
 * from the DEFAULT expression (`input_format_defaults_for_omitted_fields`, 19.x on): RowBinary would
 * write the type's zero instead. 18.x fills omitted fields with the zero value too, so RowBinary
 * matches it there. `reason` says why JSONEachRow was kept (absent when asked for).
 */
export function planFormat(requested: InsertFormat, server: ServerInfo, info: TableInfo): FormatPlan {
  if (requested === "JSONEachRow") return { format: "JSONEachRow" };
  const cols = insertableColumns(info);
  const defaultsApply = server.settings.has("input_format_defaults_for_omitted_fields");
  for (const c of cols) {
    if (c.defaultKind === "DEFAULT" && defaultsApply)
      return {
        format: "JSONEachRow",
        reason: `column ${c.name} has a DEFAULT expression, which ClickHouse ${server.version} applies to keys missing in JSONEachRow rows`,
      };
    if (c.defaultKind !== "" && c.defaultKind !== "DEFAULT")
      return { format: "JSONEachRow", reason: `column ${c.name} is ${c.defaultKind}` };
  }
  const plan = planRowBinary(cols, { serverTimezone: server.timezone });
  if (!plan.ok) return { format: "JSONEachRow", reason: plan.reason };
  return { format: "RowBinary", columns: plan.plan.columns };
}
