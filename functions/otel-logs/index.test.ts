/** otel-logs as a plain function, then its rows in chdb (modern DDL) and clickhouse-server 18.16 (legacy DDL). */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient } from "@clickhouse/client";
import type { OtlpLogRecord } from "@weir/core";
import { clickhouseUrl, readFixture, uniqueName } from "@weir/testing";
import { installSandboxGlobals, recordingLog } from "@weir/testing/handlers";
import { Session } from "chdb";
import { beforeEach, describe, expect, it } from "vitest";
import { handler, type LegacyLogRow, type LogRow, severityNumberOf } from "./index.ts";

const setEnv = installSandboxGlobals();
beforeEach(() => setEnv({}));
const migrations = resolve(fileURLToPath(import.meta.url), "../../../migrations/clickhouse");
const fixture = () => JSON.parse(readFixture("otlp/logs.json"));

/** A collector-style message: string nanos, lower-case ids, several records. */
function collectorMessage(records: OtlpLogRecord[]) {
  return {
    resourceLogs: [
      {
        resource: { attributes: [{ key: "service.name", value: { stringValue: "checkout" } }] },
        scopeLogs: [{ scope: { name: "app.logger" }, logRecords: records }],
      },
    ],
  };
}

const expectedFixtureRow: LogRow = {
  timestamp: "2018-12-13 14:51:00.300000",
  observed_timestamp: "2018-12-13 14:51:00.300000",
  severity_text: "Information",
  severity_number: 0,
  body: "Example log record",
  service_name: "my.service",
  scope_name: "my.library",
  trace_id: "5b8efff798038103d269b633813fc60c",
  span_id: "eee19b7ec3c1b174",
  attributes: {
    "string.attribute": "some string",
    "boolean.attribute": "true",
    "int.attribute": "10",
    "double.attribute": "637.704",
    "array.attribute": '["many","values"]',
    "map.attribute": '{"some.map.key":"some value"}',
  },
};

describe("otel-logs handler", () => {
  it("flattens the official OTLP logs example", () => {
    const log = recordingLog();
    expect(handler(fixture(), log)).toEqual([expectedFixtureRow]);
    expect(log.entries).toHaveLength(1);
  });

  it("handles collector-style records: string nanos, missing time, severities, structured bodies", () => {
    const rows = handler(
      collectorMessage([
        {
          timeUnixNano: "1700000000123456789",
          observedTimeUnixNano: "1700000000200000000",
          severityNumber: 17,
          body: {
            kvlistValue: {
              values: [
                { key: "event", value: { stringValue: "payment failed" } },
                { key: "amount", value: { intValue: "9007199254740993" } },
              ],
            },
          },
          traceId: "AABBCCDDEEFF00112233445566778899",
          spanId: "0011223344556677",
        },
        // No timeUnixNano: the observed time stands in, as the spec says.
        {
          observedTimeUnixNano: "1700000001000000000",
          severityNumber: "SEVERITY_NUMBER_WARN2",
          body: { intValue: "5" },
        },
        { timeUnixNano: "0", observedTimeUnixNano: "0", body: { stringValue: "no time at all" } },
        { timeUnixNano: "1700000002000000000" },
      ]),
      recordingLog(),
    ) as LogRow[];
    expect(rows).toHaveLength(3);
    expect(rows[0]).toMatchObject({
      timestamp: "2023-11-14 22:13:20.123456",
      observed_timestamp: "2023-11-14 22:13:20.200000",
      severity_text: "ERROR",
      severity_number: 17,
      body: '{"event":"payment failed","amount":9007199254740993}',
      service_name: "checkout",
      scope_name: "app.logger",
      trace_id: "aabbccddeeff00112233445566778899",
      span_id: "0011223344556677",
    });
    expect(rows[1]).toMatchObject({
      timestamp: "2023-11-14 22:13:21.000000",
      severity_text: "WARN",
      severity_number: 14,
      body: "5",
    });
    expect(rows[2]).toMatchObject({
      severity_text: "",
      severity_number: 0,
      body: "",
      trace_id: "",
      span_id: "",
    });
  });

  it("maps severity numbers and enum names", () => {
    expect(
      ["SEVERITY_NUMBER_TRACE", "SEVERITY_NUMBER_DEBUG4", "SEVERITY_NUMBER_FATAL", "9", 24, 25, "junk"].map(
        severityNumberOf,
      ),
    ).toEqual([1, 8, 21, 9, 24, 0, 0]);
  });

  it("returns no rows for empty batches and rejects non-objects", () => {
    expect(handler({}, recordingLog())).toEqual([]);
    expect(handler({ resourceLogs: [{ scopeLogs: [{}] }] }, recordingLog())).toEqual([]);
    expect(() => handler("x", recordingLog())).toThrow(/ExportLogsServiceRequest/);
  });
});

describe("otel-logs rows in ClickHouse", () => {
  it("insert into the modern table on chdb and read back", () => {
    const dir = mkdtempSync(join(tmpdir(), "weir-fn-logs-"));
    const session = new Session(dir);
    try {
      session.query(readFileSync(join(migrations, "002_otel_logs_processed.sql"), "utf8"));
      const rows = handler(fixture(), recordingLog()) as LogRow[];
      session.query(
        `INSERT INTO otel_logs_processed FORMAT JSONEachRow\n${rows.map((r) => JSON.stringify(r)).join("\n")}`,
      );
      const back = session.query(
        "SELECT toString(timestamp) AS timestamp, toString(observed_timestamp) AS observed_timestamp, severity_text, " +
          "severity_number, body, service_name, scope_name, trace_id, span_id, attributes FROM otel_logs_processed",
        "JSONEachRow",
      );
      expect(JSON.parse(back)).toEqual(expectedFixtureRow);
    } finally {
      session.cleanup();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("insert into the legacy table on clickhouse-server 18.16 and read back", async () => {
    const client = createClient({ url: clickhouseUrl() });
    const table = uniqueName("otel_logs_legacy");
    try {
      const ddl = readFileSync(join(migrations, "legacy/002_otel_logs_processed.sql"), "utf8");
      await client.command({ query: ddl.replace(/otel_logs_processed/g, table) });
      setEnv({ WEIR_TABLE_FLAVOR: "legacy" });
      const rows = handler(fixture(), recordingLog()) as LegacyLogRow[];
      expect(rows[0]).toMatchObject({ timestamp: "2018-12-13 14:51:00", timestamp_us: 300000 });
      await client.insert({ table, values: rows, format: "JSONEachRow" });
      const result = await client.query({
        query: `SELECT toString(timestamp) AS timestamp, timestamp_us, toString(observed_timestamp) AS observed_timestamp,
          observed_timestamp_us, severity_text, severity_number, body, service_name, scope_name, trace_id, span_id,
          attributes_keys, attributes_values FROM ${table}`,
        format: "JSONEachRow",
      });
      expect(await result.json()).toEqual(rows);
    } finally {
      await client.command({ query: `DROP TABLE IF EXISTS ${table}` });
      await client.close();
    }
  });
});
