/** The benchmark's ClickHouse tables: the legacy (18.16) otel_traces_processed DDL under a fresh name. */
import { readFileSync } from "node:fs";
import type { ClickHouseClient } from "@clickhouse/client";

const LEGACY_DDL = new URL(
  "../../migrations/clickhouse/legacy/001_otel_traces_processed.sql",
  import.meta.url,
);

export async function createTable(ch: ClickHouseClient, name: string): Promise<void> {
  const ddl = readFileSync(LEGACY_DDL, "utf8")
    .split("\n")
    .filter((l) => !l.trim().startsWith("--"))
    .join("\n")
    .replace(/otel_traces_processed/, name)
    .replace(/;\s*$/, "");
  await ch.command({ query: ddl });
}

export async function countRows(ch: ClickHouseClient, name: string): Promise<number> {
  const rs = await ch.query({ query: `SELECT count() AS n FROM ${name}`, format: "JSONEachRow" });
  const rows = await rs.json<{ n: string }>();
  return Number(rows[0]?.n ?? 0);
}

export async function dropTable(ch: ClickHouseClient, name: string): Promise<void> {
  await ch.command({ query: `DROP TABLE IF EXISTS ${name}` });
}

export async function serverVersion(ch: ClickHouseClient): Promise<string> {
  const rs = await ch.query({ query: "SELECT version() AS v", format: "JSONEachRow" });
  return (await rs.json<{ v: string }>())[0]?.v ?? "unknown";
}
