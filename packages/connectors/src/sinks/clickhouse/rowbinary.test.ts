/**
 * RowBinary inserts against the real ClickHouse 18.16 (and the chdb engine for types 18.16 lacks):
 * every supported type reads back exactly as the same rows inserted as JSONEachRow, the format plan
 * falls back where RowBinary would not mean the same, and a batch goes through the sink as the
 * worker builds it.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ByteWriter, type ClickHouseSinkConfig, type RowBinaryColumn, rowEncoder } from "@weir/core";
import { clickhouseUrl, uniqueName } from "@weir/testing";
import { Session } from "chdb";
import { afterAll, describe, expect, it } from "vitest";
import { dedupToken, type SinkBatch } from "../types.ts";
import { planFormat, type ServerInfo, type TableInfo } from "./probe.ts";
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

async function table(columns: string, engine = "MergeTree ORDER BY tuple()"): Promise<string> {
  const name = uniqueName("weir_rb");
  tables.push(name);
  await sql(`CREATE TABLE default.${name} (${columns}) ENGINE = ${engine}`);
  return name;
}

function encode(columns: RowBinaryColumn[], rows: Record<string, unknown>[]): Uint8Array[] {
  const enc = rowEncoder(columns);
  return rows.map((r) => {
    const w = new ByteWriter(64);
    enc(w, r);
    return w.buf.slice(0, w.pos);
  });
}

function batch(parts: { chunks?: string[]; rowBinary?: Uint8Array[] }, rowCount: number): SinkBatch {
  const ids = { pipelineId: "p", topic: "t", partition: 0, firstOffset: "0", lastOffset: String(rowCount) };
  return {
    ...ids,
    chunks: parts.chunks ?? [],
    ...(parts.rowBinary ? { rowBinary: parts.rowBinary } : {}),
    rowCount,
    bytes: 0,
    dedupToken: dedupToken(ids),
  };
}

/** Insert `rows` once as JSONEachRow and once as RowBinary (through the sink); both tables' TSV dumps. */
async function bothWays(columnsDdl: string, rows: Record<string, unknown>[]): Promise<[string, string]> {
  const viaJson = await table(columnsDdl);
  const viaBinary = await table(columnsDdl);
  const json = new ClickHouseSink(config(viaJson, { format: "JSONEachRow" }), { pipelineId: "p" });
  const binary = new ClickHouseSink(config(viaBinary, { format: "RowBinary" }), { pipelineId: "p" });
  await json.connect();
  await binary.connect();
  expect(json.rowBinaryColumns).toBeUndefined();
  const columns = binary.rowBinaryColumns!;
  expect(columns).toBeDefined();
  await json.write(batch({ chunks: [rows.map((r) => JSON.stringify(r)).join("\n")] }, rows.length));
  await binary.write(batch({ rowBinary: encode(columns, rows) }, rows.length));
  await json.close();
  await binary.close();
  const dump = (t: string) => sql(`SELECT * FROM default.${t} ORDER BY k FORMAT TSV`);
  return [await dump(viaJson), await dump(viaBinary)];
}

describe("RowBinary on clickhouse-server (18.16 here)", () => {
  it("every supported type reads back as the same rows inserted as JSONEachRow", async () => {
    const ddl = [
      "k UInt32",
      "s String",
      "fs FixedString(4)",
      "i8 Int8",
      "i16 Int16",
      "i32 Int32",
      "i64 Int64",
      "u8 UInt8",
      "u16 UInt16",
      "u64 UInt64",
      "f32 Float32",
      "f64 Float64",
      "d Date",
      "dt DateTime",
      "dtu DateTime('UTC')",
      "uuid UUID",
      "ns Nullable(String)",
      "ni Nullable(Int32)",
      "arr Array(String)",
      "arr2 Array(Array(UInt16))",
      "an Array(Nullable(Float64))",
      "e8 Enum8('a' = 1, 'b' = -2)",
      "e16 Enum16('x' = 1000, 'y' = 2)",
    ].join(", ");
    const rows: Record<string, unknown>[] = [
      {
        k: 1,
        s: "plain",
        fs: "ab",
        i8: -128,
        i16: 32767,
        i32: -2147483648,
        i64: "-9223372036854775808",
        u8: true,
        u16: 65535,
        u64: "18446744073709551615",
        f32: 1.5,
        f64: -0.1,
        d: "2024-02-29",
        dt: "2024-11-30 20:53:20",
        dtu: 1733000000,
        uuid: "5b8efff7-9803-8103-d269-b633813fc60c",
        ns: "x",
        ni: 7,
        arr: ["a", "ü€😀", ""],
        arr2: [[1, 2], [], [3]],
        an: [1.25, null],
        e8: "b",
        e16: "x",
      },
      {
        k: 2,
        s: "tab\tnew\nline \\ \"quote\" 'apos' \u0000 nul",
        fs: "abcd",
        i64: 9007199254740991,
        u64: 42,
        u8: false,
        ns: null,
        ni: null,
        f64: 1e308,
        e8: "a",
        e16: "y",
        s2: undefined,
      },
      { k: 3 }, // every other key missing: the type's zero (NULL for Nullable, first Enum value)
      { k: 4, s: "x".repeat(300), arr: ["y".repeat(200)], dt: "1970-01-01 00:00:00", d: "1970-01-01" },
    ];
    const [json, binary] = await bothWays(ddl, rows);
    expect(json.split("\n").length).toBe(rows.length + 1);
    expect(binary).toBe(json);
  });

  it("a DEFAULT column gets what JSONEachRow gives a missing key on this server", async () => {
    const [json, binary] = await bothWays(
      "k UInt32, d UInt32 DEFAULT 7, e String DEFAULT concat('x', toString(k))",
      [{ k: 1 }, { k: 2, d: 3, e: "given" }],
    );
    expect(binary).toBe(json);
  });

  it("a column added after connect gets its default (the insert names the columns)", async () => {
    const name = await table("k UInt32, s String");
    const sink = new ClickHouseSink(config(name), { pipelineId: "p" });
    await sink.connect();
    const columns = sink.rowBinaryColumns!;
    await sql(`ALTER TABLE default.${name} ADD COLUMN extra String DEFAULT 'dflt'`);
    await sink.write(batch({ rowBinary: encode(columns, [{ k: 1, s: "a" }]) }, 1));
    expect(await sql(`SELECT * FROM default.${name} FORMAT TSV`)).toBe("1\ta\tdflt\n");
    await sink.close();
  });

  it("format auto falls back to JSONEachRow for a type the encoder does not know; RowBinary then fails the start", async () => {
    const name = await table("k UInt32, d Decimal(10, 2)");
    const logs: string[] = [];
    const auto = new ClickHouseSink(config(name), {
      pipelineId: "p",
      logger: (level, message) => logs.push(`${level} ${message}`),
    });
    await auto.connect();
    expect(auto.rowBinaryColumns).toBeUndefined();
    expect(
      logs.some(
        (l) =>
          l.startsWith("info clickhouse sink inserts JSONEachRow, not RowBinary") && l.includes("Decimal"),
      ),
    ).toBe(true);
    expect(auto.capabilities.notes.some((n) => n.includes("RowBinary"))).toBe(false);
    await auto.write(batch({ chunks: ['{"k":1,"d":1.25}'] }, 1));
    expect(await sql(`SELECT * FROM default.${name} FORMAT TSV`)).toBe("1\t1.25\n");
    await auto.close();
    const strict = new ClickHouseSink(config(name, { format: "RowBinary" }), { pipelineId: "p" });
    await expect(strict.connect()).rejects.toMatchObject({ code: "SINK_SCHEMA" });
    await strict.close();
  });

  it("inserts a worker's batch of per-message parts, and refuses RowBinary it did not ask for", async () => {
    const name = await table("k UInt32, s String");
    const sink = new ClickHouseSink(config(name), { pipelineId: "p" });
    await sink.connect();
    const parts = encode(sink.rowBinaryColumns!, [{ k: 1, s: "a" }, { k: 2 }, { k: 3, s: "c" }]);
    await sink.write(batch({ rowBinary: [parts[0]!, new Uint8Array(0), parts[1]!, parts[2]!] }, 3));
    expect(await sql(`SELECT * FROM default.${name} ORDER BY k FORMAT TSV`)).toBe("1\ta\n2\t\n3\tc\n");
    await expect(sink.write(batch({ chunks: ['{"k":4}'], rowBinary: parts }, 4))).rejects.toMatchObject({
      code: "SINK_PERMANENT",
    });
    await sink.close();
    const json = new ClickHouseSink(config(name, { format: "JSONEachRow" }), { pipelineId: "p" });
    await json.connect();
    await expect(json.write(batch({ rowBinary: parts }, 3))).rejects.toMatchObject({
      code: "SINK_PERMANENT",
    });
    await json.close();
  });
});

describe("planFormat", () => {
  const server = (over: Partial<ServerInfo> = {}): ServerInfo => ({
    version: "x",
    timezone: "UTC",
    settings: new Set(),
    mergeTreeSettings: new Map(),
    types: new Set(),
    ...over,
  });
  const info = (columns: Array<[string, string, string?]>): TableInfo => ({
    engine: "MergeTree",
    createQuery: "",
    columns: columns.map(([name, type, defaultKind]) => ({ name, type, defaultKind: defaultKind ?? "" })),
  });

  it("RowBinary for known types; the insertable columns only", () => {
    const p = planFormat(
      "auto",
      server(),
      info([
        ["a", "LowCardinality(String)"],
        ["m", "UInt8", "MATERIALIZED"],
        ["t", "Map(String, Array(Nullable(UInt8)))"],
      ]),
    );
    expect(p).toEqual({
      format: "RowBinary",
      columns: [
        { name: "a", type: "LowCardinality(String)" },
        { name: "t", type: "Map(String, Array(Nullable(UInt8)))" },
      ],
    });
  });

  it("JSONEachRow when asked, for unknown types, DEFAULT where the server applies it, non-UTC DateTime", () => {
    expect(planFormat("JSONEachRow", server(), info([["a", "String"]]))).toEqual({ format: "JSONEachRow" });
    expect(planFormat("auto", server(), info([["a", "Tuple(String, UInt8)"]]))).toMatchObject({
      format: "JSONEachRow",
      reason: expect.stringContaining("Tuple"),
    });
    const withDefault = info([
      ["a", "String"],
      ["b", "UInt8", "DEFAULT"],
    ]);
    expect(planFormat("auto", server(), withDefault).format).toBe("RowBinary");
    expect(
      planFormat(
        "auto",
        server({ settings: new Set(["input_format_defaults_for_omitted_fields"]) }),
        withDefault,
      ),
    ).toMatchObject({ format: "JSONEachRow", reason: expect.stringContaining("column b has a DEFAULT") });
    expect(planFormat("auto", server(), info([["e", "String", "EPHEMERAL"]])).format).toBe("JSONEachRow");
    expect(planFormat("auto", server({ timezone: "Europe/Berlin" }), info([["t", "DateTime"]])).format).toBe(
      "JSONEachRow",
    );
    expect(
      planFormat("auto", server({ timezone: "Europe/Berlin" }), info([["t", "DateTime('UTC')"]])).format,
    ).toBe("RowBinary");
    expect(planFormat("auto", server(), info([["t", "DateTime('Asia/Tokyo')"]])).format).toBe("JSONEachRow");
  });
});

describe("RowBinary on the modern engine (chdb): Map, DateTime64, LowCardinality, Bool", () => {
  const dir = mkdtempSync(join(tmpdir(), "weir-rb-chdb-"));
  const session = new Session(dir);
  afterAll(() => {
    session.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it("reads back as the same rows inserted as JSONEachRow", () => {
    const columns: RowBinaryColumn[] = [
      { name: "k", type: "UInt32" },
      { name: "m", type: "Map(String, String)" },
      { name: "mn", type: "Map(LowCardinality(String), Array(Int64))" },
      { name: "t6", type: "DateTime64(6)" },
      { name: "t3", type: "DateTime64(3, 'UTC')" },
      { name: "lc", type: "LowCardinality(String)" },
      { name: "lcn", type: "LowCardinality(Nullable(String))" },
      { name: "b", type: "Bool" },
      { name: "u", type: "UUID" },
    ];
    const ddl = columns.map((c) => `${c.name} ${c.type}`).join(", ");
    session.query(`CREATE TABLE j (${ddl}) ENGINE = MergeTree ORDER BY k`);
    session.query(`CREATE TABLE r (${ddl}) ENGINE = MergeTree ORDER BY k`);
    const rows: Record<string, unknown>[] = [
      {
        k: 1,
        m: { "http.method": "GET", ü: "€" },
        mn: { a: [1, "-9223372036854775808"] },
        t6: "2018-12-13 14:51:00.123456",
        t3: "2024-11-30 20:53:20.5",
        lc: "frontend",
        lcn: null,
        b: true,
        u: "00112233-4455-6677-8899-aabbccddeeff",
      },
      { k: 2, t6: "2024-11-30 20:53:20", t3: 1733000000, lc: "x", lcn: "y", b: false },
      { k: 3 },
    ];
    session.query(`INSERT INTO j FORMAT JSONEachRow\n${rows.map((r) => JSON.stringify(r)).join("\n")}`);
    const file = join(dir, "rows.bin");
    writeFileSync(file, Buffer.concat(encode(columns, rows)));
    session.query(`INSERT INTO r SELECT * FROM file('${file}', RowBinary, '${ddl.replace(/'/g, "\\'")}')`);
    const dump = (t: string) => session.query(`SELECT * FROM ${t} ORDER BY k`, "TSV");
    expect(dump("j").trim().split("\n").length).toBe(3);
    expect(dump("r")).toBe(dump("j"));
  });
});
