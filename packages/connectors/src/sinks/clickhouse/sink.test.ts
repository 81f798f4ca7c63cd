import type { ClickHouseSinkConfig } from "@weir/core";
import { clickhouseUrl, uniqueName } from "@weir/testing";
import { afterAll, describe, expect, it } from "vitest";
import { Receiver } from "../../testing/http-receiver.ts";
import { type ConformanceRow, makeBatch, runSinkConformance } from "../conformance.ts";
import { ClickHouseSink } from "./sink.ts";

const url = clickhouseUrl();

async function sql(query: string): Promise<string> {
  const res = await fetch(url, { method: "POST", body: query });
  const text = await res.text();
  if (!res.ok) throw new Error(`${query}: ${text}`);
  return text;
}

function config(table: string, extra: Partial<ClickHouseSinkConfig> = {}): ClickHouseSinkConfig {
  return {
    url,
    table,
    database: "default",
    username: "default",
    request_timeout_ms: 10_000,
    max_batch_rows: 10_000,
    max_batch_bytes: 16 * 1024 * 1024,
    max_batch_wait_ms: 1000,
    ...extra,
  };
}

const tables: string[] = [];
afterAll(async () => {
  for (const t of tables) await sql(`DROP TABLE IF EXISTS default.${t}`);
});

/** A table that deduplicates inserts where the server can, else a ReplacingMergeTree (18.x). */
async function createTable(): Promise<string> {
  const table = uniqueName("weir_ch_sink");
  tables.push(table);
  const hasWindow = (
    await sql(
      "SELECT count() FROM system.merge_tree_settings WHERE name = 'non_replicated_deduplication_window'",
    )
  ).trim();
  const engine =
    hasWindow === "1"
      ? "MergeTree ORDER BY id SETTINGS non_replicated_deduplication_window = 100"
      : "ReplacingMergeTree ORDER BY id";
  await sql(`CREATE TABLE default.${table} (id UInt32, name String, value Float64) ENGINE = ${engine}`);
  return table;
}

async function readRows(table: string, final = false): Promise<ConformanceRow[]> {
  const text = await sql(
    `SELECT id, name, value FROM default.${table} ${final ? "FINAL" : ""} ORDER BY id FORMAT JSONEachRow`,
  );
  return text
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as ConformanceRow);
}

runSinkConformance("clickhouse", {
  async create(pipelineId) {
    const table = await createTable();
    return {
      sink: new ClickHouseSink(config(table), { pipelineId }),
      read: (opts) => readRows(table, opts?.final),
      cleanup: async () => {
        await sql(`DROP TABLE IF EXISTS default.${table}`);
      },
    };
  },
  missingTable: () => {
    const table = uniqueName("weir_missing");
    return { sink: new ClickHouseSink(config(table), { pipelineId: "p" }), table };
  },
  unreachable: () => new ClickHouseSink(config("t", { url: "http://127.0.0.1:1" }), { pipelineId: "p" }),
});

describe("clickhouse sink on this server", () => {
  it("detects what the server cannot do and says so", async () => {
    const table = await createTable();
    const logs: string[] = [];
    const sink = new ClickHouseSink(config(table), {
      pipelineId: "p",
      logger: (level, message) => logs.push(`${level} ${message}`),
    });
    await sink.connect();
    const version = (await sql("SELECT version()")).trim();
    const hasToken = (
      await sql("SELECT count() FROM system.settings WHERE name = 'insert_deduplication_token'")
    ).trim();
    if (hasToken === "0") {
      expect(sink.capabilities.notes).toContain(`insert_deduplication_token unsupported on ${version}`);
      expect(sink.capabilities.dedupToken).toBe(false);
    }
    expect(logs.some((l) => l.startsWith("info") && l.includes(version))).toBe(true);
    await sink.close();
  });

  it("on a server without insert deduplication, a replay duplicates at rest and FINAL collapses it", async () => {
    const table = await createTable();
    const sink = new ClickHouseSink(config(table), { pipelineId: "p" });
    await sink.connect();
    const batch = makeBatch("p", [[{ id: 1, name: "a", value: 1 }]], { firstOffset: 5 });
    await sink.write(batch);
    await sink.write(batch);
    const raw = await readRows(table);
    expect(raw.length).toBe(sink.capabilities.dedupToken ? 1 : 2);
    expect(await readRows(table, true)).toEqual([{ id: 1, name: "a", value: 1 }]);
    await sink.close();
  });

  it("names the table's columns when a row does not fit", async () => {
    const table = await createTable();
    const sink = new ClickHouseSink(config(table), { pipelineId: "p" });
    await sink.connect();
    const err = await sink.write(makeBatch("p", [[{ id: 1, nope: 2 }]])).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "SINK_PERMANENT", details: { clickhouse_code: 117, status: 500 } });
    expect((err as Error).message).toContain("columns: id UInt32, name String, value Float64");
    await sink.close();
  });

  it("treats bad credentials as retryable (an operator fix, not bad rows)", async () => {
    const sink = new ClickHouseSink(config("t", { username: "no_such_user_weir" }), { pipelineId: "p" });
    const err = await sink.connect().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "SINK_RETRYABLE", retryable: true });
    await sink.close();
  });

  it("classifies a real retryable server error (241 MEMORY_LIMIT_EXCEEDED) and passes insert_settings", async () => {
    const table = await createTable();
    const sink = new ClickHouseSink(config(table, { insert_settings: { max_memory_usage: 1 } }), {
      pipelineId: "p",
    });
    await sink.connect();
    const err = await sink.write(makeBatch("p", [[{ id: 1, name: "a", value: 1 }]])).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "SINK_RETRYABLE", retryable: true, details: { clickhouse_code: 241 } });
    await sink.close();
  });

  it("writes a large multi-chunk batch in one insert", async () => {
    const table = await createTable();
    const sink = new ClickHouseSink(config(table), { pipelineId: "p" });
    await sink.connect();
    const chunks = Array.from({ length: 10 }, (_, c) =>
      Array.from({ length: 5000 }, (_, i) => ({ id: c * 5000 + i, name: `n${i}`, value: i / 2 })),
    );
    await sink.write(makeBatch("p", chunks));
    expect((await sql(`SELECT count(), uniqExact(id) FROM default.${table}`)).trim()).toBe("50000\t50000");
    await sink.close();
  });

  it("a proxy's 503 and a hung server are retryable", async () => {
    const receiver = await new Receiver().start();
    try {
      receiver.script.push({ status: 503, body: "<html>upstream unavailable</html>" }, "hang");
      const base = receiver.url.replace(/\/ingest$/, "");
      const sink = new ClickHouseSink(config("t", { url: base, request_timeout_ms: 300 }), {
        pipelineId: "p",
      });
      await expect(sink.connect()).rejects.toMatchObject({ code: "SINK_RETRYABLE" });
      const started = Date.now();
      await expect(sink.connect()).rejects.toMatchObject({ code: "SINK_RETRYABLE" });
      expect(Date.now() - started).toBeLessThan(3000);
      await sink.close();
    } finally {
      await receiver.stop();
    }
  });
});
