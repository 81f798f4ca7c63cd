/**
 * What landed in ClickHouse, measured against the expected key set. The table is the otel-traces
 * legacy shape (ReplacingMergeTree keyed by fingerprint): 18.16 has no insert-time dedup for a
 * non-replicated MergeTree, so a replayed batch is at rest twice until a merge or FINAL collapses it.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { ClickHouseClient } from "@clickhouse/client";
import { uniqueName } from "@weir/testing";

const root = resolve(fileURLToPath(import.meta.url), "../../../..");

/** A fresh otel_traces_processed table (legacy DDL, unique name); returns its name. */
export async function createTracesTable(ch: ClickHouseClient): Promise<string> {
  const table = uniqueName("faults_traces");
  const ddl = readFileSync(
    resolve(root, "migrations/clickhouse/legacy/001_otel_traces_processed.sql"),
    "utf8",
  )
    .split("\n")
    .filter((l) => !l.startsWith("--"))
    .join("\n")
    .replace("IF NOT EXISTS otel_traces_processed", table);
  await ch.command({ query: ddl });
  return table;
}

export interface Landed {
  /** Rows at rest, before deduplication. */
  raw: number;
  /** Distinct fingerprints. */
  distinct: number;
  /** Rows under FINAL (what a reader of the ReplacingMergeTree sees). */
  final: number;
  /** Expected keys not in the table (loss). */
  missing: number;
  /** Keys in the table that were never expected (wrong rows). */
  extra: number;
  /** Expected keys that landed. */
  landed: number;
}

export async function landed(ch: ClickHouseClient, table: string, expected: Set<string>): Promise<Landed> {
  const keys = await (
    await ch.query({
      query: `SELECT fingerprint AS k, count() AS c FROM ${table} GROUP BY k`,
      format: "JSONEachRow",
    })
  ).json<{ k: string; c: string }>();
  const final = await (
    await ch.query({ query: `SELECT count() AS n FROM ${table} FINAL`, format: "JSONEachRow" })
  ).json<{ n: string }>();
  let raw = 0;
  let extra = 0;
  let found = 0;
  for (const { k, c } of keys) {
    raw += Number(c);
    if (expected.has(k)) found++;
    else extra++;
  }
  return {
    raw,
    distinct: keys.length,
    final: Number(final[0]?.n ?? 0),
    missing: expected.size - found,
    extra,
    landed: found,
  };
}

/** Landed rows every 200 ms until every expected key is there (or `timeoutMs`); the last count. */
export async function waitLanded(
  ch: ClickHouseClient,
  table: string,
  expected: Set<string>,
  timeoutMs: number,
): Promise<Landed> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const l = await landed(ch, table, expected);
    if (l.missing === 0 || Date.now() > deadline) return l;
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Raw row count, cheap enough to poll for progress. */
export async function rowCount(ch: ClickHouseClient, table: string): Promise<number> {
  const r = await (
    await ch.query({ query: `SELECT count() AS n FROM ${table}`, format: "JSONEachRow" })
  ).json<{
    n: string;
  }>();
  return Number(r[0]?.n ?? 0);
}

/** A fresh `(id UInt64, kind String)` ReplacingMergeTree table keyed by id; returns its name. */
export async function createIdTable(ch: ClickHouseClient): Promise<string> {
  const table = uniqueName("faults_ids");
  await ch.command({
    query: `CREATE TABLE ${table} (id UInt64, kind String) ENGINE = ReplacingMergeTree ORDER BY id`,
  });
  return table;
}

/** Like {@link landed} for an id-keyed table. */
export async function idsLanded(ch: ClickHouseClient, table: string, expected: Set<number>): Promise<Landed> {
  const ids = await (
    await ch.query({ query: `SELECT id, count() AS c FROM ${table} GROUP BY id`, format: "JSONEachRow" })
  ).json<{ id: string; c: string }>();
  const final = await (
    await ch.query({ query: `SELECT count() AS n FROM ${table} FINAL`, format: "JSONEachRow" })
  ).json<{ n: string }>();
  let raw = 0;
  let found = 0;
  for (const { id, c } of ids) {
    raw += Number(c);
    if (expected.has(Number(id))) found++;
  }
  return {
    raw,
    distinct: ids.length,
    final: Number(final[0]?.n ?? 0),
    missing: expected.size - found,
    extra: ids.length - found,
    landed: found,
  };
}
