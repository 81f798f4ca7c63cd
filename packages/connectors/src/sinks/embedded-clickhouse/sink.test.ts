import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { EmbeddedClickHouseSinkConfig } from "@weir/core";
import { uniqueName } from "@weir/testing";
import { Session } from "chdb";
import { afterAll, describe, expect, it } from "vitest";
import { type ConformanceRow, makeBatch, runSinkConformance } from "../conformance.ts";
import { EmbeddedClickHouseSink } from "./sink.ts";

// libchdb binds one data directory per process, so every sink and the reader share this one.
const path = mkdtempSync(join(tmpdir(), "weir-chdb-"));
const reader = new Session(path);
afterAll(() => {
  reader.close();
  rmSync(path, { recursive: true, force: true });
});

async function query(sql: string): Promise<Array<Record<string, unknown>>> {
  const text = (await reader.queryAsync(sql, { format: "JSONEachRow" })).text();
  return text
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

function config(table: string): EmbeddedClickHouseSinkConfig {
  return {
    path,
    table,
    database: "default",
    max_batch_rows: 10_000,
    max_batch_bytes: 16 * 1024 * 1024,
    max_batch_wait_ms: 1000,
  };
}

/** A plain MergeTree that deduplicates inserts by token (the modern engine can). */
async function createTable(): Promise<string> {
  const table = uniqueName("weir_emb");
  await reader.queryAsync(
    `CREATE TABLE default.${table} (id UInt32, name String, value Float64) ENGINE = MergeTree ORDER BY id SETTINGS non_replicated_deduplication_window = 100`,
  );
  return table;
}

runSinkConformance("embedded-clickhouse (chdb)", {
  async create(pipelineId) {
    const table = await createTable();
    return {
      sink: new EmbeddedClickHouseSink(config(table), { pipelineId }),
      read: async (opts) =>
        (await query(
          `SELECT id, name, value FROM default.${table} ${opts?.final ? "FINAL" : ""} ORDER BY id`,
        )) as unknown as ConformanceRow[],
      cleanup: async () => {
        await reader.queryAsync(`DROP TABLE IF EXISTS default.${table}`);
      },
    };
  },
  missingTable: () => {
    const table = uniqueName("weir_missing");
    return { sink: new EmbeddedClickHouseSink(config(table), { pipelineId: "p" }), table };
  },
  unreachable: "an in-process engine has no endpoint to lose",
});

describe("embedded-clickhouse sink on the modern engine", () => {
  it("deduplicates by insert_deduplication_token, not by content", async () => {
    const table = await createTable();
    const sink = new EmbeddedClickHouseSink(config(table), { pipelineId: "p" });
    await sink.connect();
    expect(sink.capabilities.dedupToken).toBe(true);
    expect(sink.capabilities.notes).toEqual([]);
    const rows = [{ id: 1, name: "same", value: 1 }];
    const first = makeBatch("p", [rows], { firstOffset: 0 });
    await sink.write(first);
    await sink.write(first); // replay: same token, dropped
    await sink.write(makeBatch("p", [rows], { firstOffset: 10 })); // same bytes, other offsets: lands
    await sink.write({ ...makeBatch("p", [[{ id: 2, name: "x", value: 2 }]]), dedupToken: first.dedupToken });
    expect(await query(`SELECT id, count() AS n FROM default.${table} GROUP BY id ORDER BY id`)).toEqual([
      { id: 1, n: 2 },
    ]);
    await sink.close();
  });

  it("takes the seed article's exact DDL and rows (DateTime64, Map, LowCardinality, codecs)", async () => {
    const table = uniqueName("otel_traces_processed");
    // The article's DDL as migrations/ holds it, under a unique table name.
    const ddl = readFileSync(
      fileURLToPath(
        new URL("../../../../../migrations/clickhouse/001_otel_traces_processed.sql", import.meta.url),
      ),
      "utf8",
    );
    await reader.queryAsync(
      ddl.replace("CREATE TABLE otel_traces_processed", `CREATE TABLE default.${table}`),
    );
    const sink = new EmbeddedClickHouseSink(config(table), { pipelineId: "p" });
    await sink.connect();
    expect(sink.capabilities.notes.join("\n")).toContain("ReplacingMergeTree");
    const row = {
      timestamp: "2024-01-02 03:04:05.123456",
      trace_id: "5b8efff798038103d269b633813fc60c",
      span_id: "eee19b7ec3c1b174",
      parent_span_id: "",
      service_name: "checkout",
      span_name: "GET /cart",
      duration_ms: 12.5,
      status_code: "STATUS_CODE_OK",
      attributes: { "http.method": "GET", "http.status_code": "200" },
      fingerprint: "0f343b0931126a20f133d67c2b018a3b",
    };
    const batch = makeBatch("p", [[row]]);
    await sink.write(batch);
    await sink.write(batch);
    expect(await query(`SELECT * FROM default.${table} FINAL`)).toEqual([row]);
    await sink.close();
  });
});
