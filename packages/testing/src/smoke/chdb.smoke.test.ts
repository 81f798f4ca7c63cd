/**
 * Proves the embedded engine (chdb, ClickHouse 26.x in-process) takes the seed article's exact DDL
 * (migrations/clickhouse/001_otel_traces_processed.sql) and round-trips Map and DateTime64 values.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Session } from "chdb";
import { afterAll, describe, expect, it } from "vitest";

const ddlPath = resolve(
  fileURLToPath(import.meta.url),
  "../../../../../migrations/clickhouse/001_otel_traces_processed.sql",
);
const dir = mkdtempSync(join(tmpdir(), "weir-chdb-"));
const session = new Session(dir);

describe("chdb (embedded ClickHouse)", () => {
  afterAll(() => {
    session.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it("creates the seed article's otel_traces_processed table and reads back Map and DateTime64", () => {
    const version = session.query("SELECT version()", "TSV").trim();
    expect(Number(version.split(".")[0])).toBeGreaterThanOrEqual(24);

    session.query(readFileSync(ddlPath, "utf8"));
    const row = {
      timestamp: "2018-12-13 14:51:00.123456",
      trace_id: "5b8efff798038103d269b633813fc60c",
      span_id: "eee19b7ec3c1b174",
      parent_span_id: "eee19b7ec3c1b173",
      service_name: "my.service",
      span_name: "I'm a server span",
      duration_ms: 1000,
      status_code: "UNSET",
      attributes: { "my.span.attr": "some value", "http.status_code": "200" },
      fingerprint: "0f1e2d3c",
    };
    session.query(`INSERT INTO otel_traces_processed FORMAT JSONEachRow ${JSON.stringify(row)}`);

    const out = JSON.parse(
      session
        .query(
          "SELECT toTypeName(timestamp) AS tt, toString(timestamp) AS ts, toTypeName(attributes) AS mt, " +
            "attributes['http.status_code'] AS code, attributes FROM otel_traces_processed",
          "JSONEachRow",
        )
        .trim(),
    ) as Record<string, unknown>;
    expect(out).toEqual({
      tt: "DateTime64(6)",
      ts: "2018-12-13 14:51:00.123456",
      mt: "Map(String, String)",
      code: "200",
      attributes: { "my.span.attr": "some value", "http.status_code": "200" },
    });
    const engine = session
      .query("SELECT engine FROM system.tables WHERE name = 'otel_traces_processed'", "TSV")
      .trim();
    expect(engine).toBe("ReplacingMergeTree");
  });
});
