/**
 * The handler's rows land in both tables: the article's exact DDL on the embedded modern engine (chdb)
 * and the legacy variant on the real Debian clickhouse-server 18.16 started by scripts/services.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient } from "@clickhouse/client";
import { ByteWriter, type RowBinaryColumn, rowEncoder } from "@weir/core";
import { generateTraces } from "@weir/generator";
import { clickhouseUrl, fixturePath, readFixture, uniqueName } from "@weir/testing";
import { installSandboxGlobals, recordingLog } from "@weir/testing/handlers";
import { Session } from "chdb";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { handler, type LegacyTraceRow, type TraceRow } from "./index.ts";

const migrations = resolve(fileURLToPath(import.meta.url), "../../../migrations/clickhouse");
const modernDdl = readFileSync(join(migrations, "001_otel_traces_processed.sql"), "utf8");
const legacyDdl = readFileSync(join(migrations, "legacy/001_otel_traces_processed.sql"), "utf8");

const setEnv = installSandboxGlobals();
beforeEach(() => setEnv({}));

/** Fixture + 200 generated spans, in the requested table flavor. */
function rowsFor(flavor: "modern" | "legacy"): Array<TraceRow | LegacyTraceRow> {
  setEnv({ WEIR_TABLE_FLAVOR: flavor });
  const generated = generateTraces({
    seed: 8,
    spansPerMessage: 200,
    timeUnixNano: 1_700_000_000_000_000_000n,
  });
  const messages = [
    JSON.parse(readFixture("otlp/trace.json")),
    JSON.parse(JSON.stringify(generated.request)),
  ];
  return messages.flatMap((m) => handler(m, recordingLog()) as Array<TraceRow | LegacyTraceRow>);
}

/** The rows as the sandbox encodes them for a RowBinary sink (one column list, the table's order). */
function rowBinary(columns: RowBinaryColumn[], rows: object[]): Buffer {
  const w = new ByteWriter();
  const enc = rowEncoder(columns);
  for (const r of rows) enc(w, r as Record<string, unknown>);
  return Buffer.from(w.buf.subarray(0, w.pos));
}

describe("migrations/clickhouse/001_otel_traces_processed.sql", () => {
  it("is the seed article's DDL, verbatim", () => {
    // packages/testing/fixtures/seed-article holds the article's DDL block as published.
    const block = readFileSync(fixturePath("seed-article/otel_traces_processed.sql"), "utf8");
    expect(block).toContain("CREATE TABLE otel_traces_processed");
    expect(modernDdl).toBe(block);
  });
});

describe("rows into the article's table on chdb (modern engine)", () => {
  const dir = mkdtempSync(join(tmpdir(), "weir-fn-traces-"));
  const session = new Session(dir);
  afterAll(() => {
    session.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it("inserts every row as JSONEachRow and reads back the same values; replays collapse under FINAL", () => {
    session.query(modernDdl);
    const rows = rowsFor("modern") as TraceRow[];
    const body = rows.map((r) => JSON.stringify(r)).join("\n");
    session.query(`INSERT INTO otel_traces_processed FORMAT JSONEachRow\n${body}`);
    session.query(`INSERT INTO otel_traces_processed FORMAT JSONEachRow\n${body}`); // a replayed batch

    const count = (sql: string) => Number(session.query(sql, "TSV").trim());
    expect(count("SELECT count() FROM otel_traces_processed FINAL")).toBe(rows.length);
    const back = session
      .query(
        "SELECT toString(timestamp) AS timestamp, trace_id, span_id, parent_span_id, service_name, span_name, " +
          "duration_ms, status_code, attributes, fingerprint FROM otel_traces_processed FINAL ORDER BY fingerprint",
        "JSONEachRow",
      )
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    const sorted = [...rows].sort((a, b) => (a.fingerprint < b.fingerprint ? -1 : 1));
    expect(back).toEqual(sorted);
    expect(
      count("SELECT count() FROM otel_traces_processed WHERE attributes['my.span.attr'] = 'some value'"),
    ).toBe(2);
  });

  it("as RowBinary, the table holds exactly what JSONEachRow gives it", () => {
    session.query(modernDdl.replace(/otel_traces_processed/g, "via_json"));
    session.query(modernDdl.replace(/otel_traces_processed/g, "via_rowbinary"));
    const rows = rowsFor("modern");
    session.query(
      `INSERT INTO via_json FORMAT JSONEachRow\n${rows.map((r) => JSON.stringify(r)).join("\n")}`,
    );
    const columns = session
      .query(
        "SELECT name, type FROM system.columns WHERE table = 'via_rowbinary' AND database = currentDatabase()",
        "JSONEachRow",
      )
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as RowBinaryColumn);
    const file = join(dir, "rows.bin");
    writeFileSync(file, rowBinary(columns, rows));
    const structure = columns
      .map((c) => `${c.name} ${c.type}`)
      .join(", ")
      .replace(/'/g, "\\'");
    session.query(`INSERT INTO via_rowbinary SELECT * FROM file('${file}', RowBinary, '${structure}')`);
    const dump = (t: string) => session.query(`SELECT * FROM ${t} ORDER BY fingerprint`, "TSV");
    expect(dump("via_json").split("\n").length).toBe(rows.length + 1);
    expect(dump("via_rowbinary")).toBe(dump("via_json"));
  });
});

describe("rows into the legacy table on clickhouse-server 18.16", () => {
  const client = createClient({ url: clickhouseUrl() });
  const table = uniqueName("otel_traces_legacy");
  afterAll(async () => {
    await client.command({ query: `DROP TABLE IF EXISTS ${table}` });
    await client.close();
  });

  it("creates the table from the legacy DDL and round-trips the legacy rows", async () => {
    const ddl = legacyDdl.replace(/otel_traces_processed/g, table);
    expect(ddl).not.toBe(legacyDdl);
    await client.command({ query: ddl });
    await client.command({ query: ddl }); // IF NOT EXISTS: applying twice is harmless
    const rows = rowsFor("legacy") as LegacyTraceRow[];
    await client.insert({ table, values: rows, format: "JSONEachRow" });

    const result = await client.query({
      query: `SELECT toString(timestamp) AS timestamp, timestamp_us, trace_id, span_id, parent_span_id, service_name,
        span_name, duration_ms, status_code, attributes_keys, attributes_values, fingerprint
        FROM ${table} ORDER BY fingerprint`,
      format: "JSONEachRow",
    });
    const back = await result.json<LegacyTraceRow>();
    const sorted = [...rows].sort((a, b) => (a.fingerprint < b.fingerprint ? -1 : 1));
    expect(back).toEqual(sorted);
    // The fixture's span: 2018-12-13 14:51:00 UTC whatever the server's time zone.
    const probe = await client.query({
      query: `SELECT toUnixTimestamp(timestamp) AS t, attributes_values[indexOf(attributes_keys, 'my.span.attr')] AS v
        FROM ${table} WHERE service_name = 'my.service'`,
      format: "JSONEachRow",
    });
    expect(await probe.json()).toEqual([{ t: 1544712660, v: "some value" }]);
  });

  it("as RowBinary, the table holds exactly what JSONEachRow gives it", async () => {
    const binaryTable = `${table}_rb`;
    await client.command({ query: legacyDdl.replace(/otel_traces_processed/g, binaryTable) });
    try {
      const rows = rowsFor("legacy") as LegacyTraceRow[];
      const cols = await client.query({
        query: `SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = '${binaryTable}'`,
        format: "JSONEachRow",
      });
      const columns = await cols.json<RowBinaryColumn>();
      const res = await fetch(
        `${clickhouseUrl()}/?query=${encodeURIComponent(`INSERT INTO ${binaryTable} FORMAT RowBinary`)}`,
        { method: "POST", body: rowBinary(columns, rows) },
      );
      expect(res.status, await res.text()).toBe(200);
      const dump = async (t: string) =>
        (
          await client.query({ query: `SELECT * FROM ${t} ORDER BY fingerprint`, format: "TabSeparated" })
        ).text();
      const json = await dump(table);
      expect(json.split("\n").length).toBe(rows.length + 1);
      expect(await dump(binaryTable)).toBe(json);
    } finally {
      await client.command({ query: `DROP TABLE IF EXISTS ${binaryTable}` });
    }
  });
});
