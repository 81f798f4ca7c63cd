/** Proves the ClickHouse server started by scripts/services answers over HTTP with @clickhouse/client. */
import { createClient } from "@clickhouse/client";
import { afterAll, describe, expect, it } from "vitest";
import { clickhouseUrl, uniqueName } from "../index.ts";

const client = createClient({ url: clickhouseUrl() });
const table = uniqueName("smoke_ch");

describe("clickhouse server (real, HTTP)", () => {
  afterAll(async () => {
    await client.command({ query: `DROP TABLE IF EXISTS ${table}` });
    await client.close();
  });

  it("creates a table, inserts JSONEachRow and selects it back", async () => {
    const version = await (
      await client.query({ query: "SELECT version() AS v", format: "JSONEachRow" })
    ).json<{
      v: string;
    }>();
    expect(version[0]?.v).toMatch(/^\d+\.\d+/);

    await client.command({
      query: `CREATE TABLE ${table} (id UInt32, name String, at DateTime) ENGINE = MergeTree ORDER BY id`,
    });
    await client.insert({
      table,
      format: "JSONEachRow",
      values: [
        { id: 2, name: "two", at: "2024-01-02 03:04:05" },
        { id: 1, name: "one", at: "2024-01-01 00:00:00" },
      ],
    });
    const rows = await (
      await client.query({
        query: `SELECT id, name, toString(at) AS at FROM ${table} ORDER BY id`,
        format: "JSONEachRow",
      })
    ).json<{ id: number; name: string; at: string }>();
    expect(rows).toEqual([
      { id: 1, name: "one", at: "2024-01-01 00:00:00" },
      { id: 2, name: "two", at: "2024-01-02 03:04:05" },
    ]);
  });
});
