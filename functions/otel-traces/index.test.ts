/** The handler as a plain function: official fixture, edge cases and generated payloads. */
import type { OtlpExportTraceServiceRequest, OtlpKeyValue, OtlpSpan } from "@weir/core";
import { generateTraces } from "@weir/generator";
import { readFixture } from "@weir/testing";
import { installSandboxGlobals, md5Hex, recordingLog } from "@weir/testing/handlers";
import { beforeEach, describe, expect, it } from "vitest";
import { roundMs } from "../shared/otlp.ts";
import { handler, type LegacyTraceRow, type TraceRow } from "./index.ts";

const setEnv = installSandboxGlobals();
beforeEach(() => setEnv({}));

function run(data: unknown, log = recordingLog()): TraceRow[] {
  return handler(data, log) as TraceRow[];
}

/** A request with one resource ("svc") holding the given spans. */
function request(spans: OtlpSpan[], resource: OtlpKeyValue[] = [str("service.name", "svc")]) {
  return { resourceSpans: [{ resource: { attributes: resource }, scopeSpans: [{ spans }] }] };
}
const str = (key: string, stringValue: string): OtlpKeyValue => ({ key, value: { stringValue } });

const base: OtlpSpan = {
  traceId: "5b8efff798038103d269b633813fc60c",
  spanId: "eee19b7ec3c1b174",
  name: "op",
  startTimeUnixNano: "1544712660000000000",
  endTimeUnixNano: "1544712660005000000",
};

describe("otel-traces handler", () => {
  it("flattens the official OTLP example (upper-case ids, numeric nanos) into the article's row", () => {
    const log = recordingLog();
    const rows = run(JSON.parse(readFixture("otlp/trace.json")), log);
    expect(rows).toEqual([
      {
        timestamp: "2018-12-13 14:51:00.000000",
        trace_id: "5b8efff798038103d269b633813fc60c",
        span_id: "eee19b7ec3c1b174",
        parent_span_id: "eee19b7ec3c1b173",
        service_name: "my.service",
        span_name: "I'm a server span",
        duration_ms: 1000,
        status_code: "UNSET",
        attributes: { "my.span.attr": "some value" },
        fingerprint: md5Hex("5b8efff798038103d269b633813fc60c" + "eee19b7ec3c1b174"),
      },
    ]);
    // One summary line per message, not one per span.
    expect(log.entries).toEqual([
      {
        level: "info",
        message: "otel-traces: 1 spans -> 1 rows",
        fields: { spans: 1, rows: 1, dropped_short: 0 },
      },
    ]);
  });

  it("gives the same row, fingerprint included, whatever the case of the ids", () => {
    const lower = run(request([{ ...base, parentSpanId: "aaaabbbbccccdddd" }]));
    const upper = run(
      request([
        {
          ...base,
          traceId: base.traceId?.toUpperCase(),
          spanId: base.spanId?.toUpperCase(),
          parentSpanId: "AAAABBBBccccDDDD",
        },
      ]),
    );
    expect(upper).toEqual(lower);
    expect(lower[0]?.fingerprint).toBe(md5Hex(`${base.traceId}${base.spanId}`));
    expect(lower[0]?.parent_span_id).toBe("aaaabbbbccccdddd");
  });

  it("keeps every nanosecond digit of string times and truncates to microseconds", () => {
    const [row] = run(
      request([
        { ...base, startTimeUnixNano: "1700000000123456999", endTimeUnixNano: "1700000000124456999" },
      ]),
    );
    expect(row?.timestamp).toBe("2023-11-14 22:13:20.123456");
    expect(row?.duration_ms).toBe(1);
    // The same instant as a JSON number was rounded by JSON.parse to ...123457024 before the handler ran.
    const [fromNumber] = run(
      JSON.parse(
        '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"ab","spanId":"cd",' +
          '"startTimeUnixNano":1700000000123456999,"endTimeUnixNano":1700000000125456999}]}]}]}',
      ),
    );
    expect(fromNumber?.timestamp).toBe("2023-11-14 22:13:20.123457");
  });

  it("flattens every attribute value type to a string, 64-bit ints without loss", () => {
    const logs = JSON.parse(readFixture("otlp/logs.json"));
    const fixtureAttrs: OtlpKeyValue[] = logs.resourceLogs[0].scopeLogs[0].logRecords[0].attributes;
    const attributes: OtlpKeyValue[] = [
      ...fixtureAttrs,
      { key: "big.int", value: { intValue: "9223372036854775807" } },
      { key: "num.int", value: { intValue: JSON.parse("12345678901234567890") as number } },
      { key: "neg.int", value: { intValue: "-42" } },
      { key: "bytes", value: { bytesValue: "AQIDBA==" } },
      { key: "bool.false", value: { boolValue: false } },
      { key: "nan", value: { doubleValue: "NaN" } },
      { key: "empty", value: {} },
      { key: "no.value" },
      {
        key: "nested",
        value: {
          arrayValue: {
            values: [
              { intValue: "9007199254740993" },
              { doubleValue: 1.5 },
              { doubleValue: "Infinity" },
              { bytesValue: "AQ==" },
              { kvlistValue: { values: [{ key: 'k"q', value: { arrayValue: {} } }] } },
              {},
              { boolValue: true },
            ],
          },
        },
      },
    ];
    const [row] = run(request([{ ...base, attributes }]));
    expect(row?.attributes).toEqual({
      "string.attribute": "some string",
      "boolean.attribute": "true",
      "int.attribute": "10",
      "double.attribute": "637.704",
      "array.attribute": '["many","values"]',
      "map.attribute": '{"some.map.key":"some value"}',
      "big.int": "9223372036854775807",
      "num.int": "12345678901234567168", // the number JSON.parse made of it, in full, not "1.2345678901234567e+19"
      "neg.int": "-42",
      bytes: "AQIDBA==",
      "bool.false": "false",
      nan: "NaN",
      empty: "",
      "no.value": "",
      nested: '[9007199254740993,1.5,"Infinity","AQ==",{"k\\"q":[]},null,true]',
    });
    // Array and kvlist values are valid JSON.
    expect(() => JSON.parse(row?.attributes.nested ?? "")).not.toThrow();
  });

  it("defaults missing optional fields like the article", () => {
    const [row] = run({
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                {
                  traceId: base.traceId,
                  spanId: base.spanId,
                  startTimeUnixNano: "1000000000",
                  endTimeUnixNano: "3000000000",
                },
              ],
            },
          ],
        },
      ],
    });
    expect(row).toMatchObject({
      timestamp: "1970-01-01 00:00:01.000000",
      parent_span_id: "",
      service_name: "unknown",
      span_name: "",
      duration_ms: 2000,
      status_code: "UNSET",
      attributes: {},
    });
  });

  it("returns no rows for empty batches", () => {
    for (const empty of [
      {},
      { resourceSpans: [] },
      { resourceSpans: [{}] },
      request([]),
      { resourceSpans: [{ scopeSpans: [{}] }] },
    ]) {
      const log = recordingLog();
      expect(run(empty, log)).toEqual([]);
      expect(log.entries.map((e) => e.level)).toEqual(["info"]);
    }
  });

  it("drops spans under 1 ms, keeps exactly 1 ms, rounds durations to 2 decimals", () => {
    const at = (endOffset: bigint, spanId: string): OtlpSpan => ({
      ...base,
      spanId,
      endTimeUnixNano: String(1544712660000000000n + endOffset),
    });
    const rows = run(
      request([at(999_999n, "0001"), at(1_000_000n, "0002"), at(1_234_567n, "0003"), at(0n, "0004")]),
    );
    expect(rows.map((r) => [r.span_id, r.duration_ms])).toEqual([
      ["0002", 1],
      ["0003", 1.23],
    ]);
    expect(roundMs(1_235_000n)).toBe(1.24);
    expect(roundMs(-1_235_000n)).toBe(-1.24);
  });

  it("drops spans that end before they start, with one warning per message", () => {
    const log = recordingLog();
    const back = { ...base, endTimeUnixNano: "1544712659000000000" };
    const rows = run(request([back, { ...back, spanId: "ff00ff00ff00ff00" }, base]), log);
    expect(rows.map((r) => r.span_id)).toEqual([base.spanId]);
    expect(log.entries.filter((e) => e.level === "warn")).toEqual([
      {
        level: "warn",
        message: "otel-traces: dropped 2 spans that end before they start",
        fields: { count: 2, first_span_id: base.spanId },
      },
    ]);
  });

  it("drops spans without ids or times, and warns", () => {
    const log = recordingLog();
    const { startTimeUnixNano: _s, ...noStart } = base;
    const rows = run(
      request([{ ...base, traceId: "" }, noStart, { ...base, endTimeUnixNano: "garbage" }]),
      log,
    );
    expect(rows).toEqual([]);
    expect(log.entries.find((e) => e.level === "warn")?.fields).toMatchObject({ count: 3 });
  });

  it("maps numeric and named status codes to UNSET / OK / ERROR", () => {
    const codes = [
      undefined,
      0,
      1,
      2,
      "STATUS_CODE_ERROR",
      "STATUS_CODE_OK",
      "ERROR",
      "status_code_unset",
      "2",
      7,
    ];
    const rows = run(
      request(
        codes.map((code, i) => ({ ...base, spanId: `00${i}`, status: code === undefined ? {} : { code } })),
      ),
    );
    expect(rows.map((r) => r.status_code)).toEqual([
      "UNSET",
      "UNSET",
      "OK",
      "ERROR",
      "ERROR",
      "OK",
      "ERROR",
      "UNSET",
      "ERROR",
      "7",
    ]);
  });

  it("rejects a message that is not an OTLP object, so it reaches the DLQ", () => {
    expect(() => run(null)).toThrow(/ExportTraceServiceRequest.*null/);
    expect(() => run([1])).toThrow(/an array/);
    expect(() => run("text")).toThrow(/string/);
  });

  it("writes the legacy table's shape when WEIR_TABLE_FLAVOR=legacy, and refuses unknown flavors", () => {
    const data = request([
      {
        ...base,
        startTimeUnixNano: "1544712660123456000",
        endTimeUnixNano: "1544712660200000000",
        attributes: [str("a", "1"), str("b", "2")],
      },
    ]);
    const modern = run(data)[0];
    setEnv({ WEIR_TABLE_FLAVOR: "legacy" });
    const legacy = (handler(data, recordingLog()) as LegacyTraceRow[])[0];
    const { timestamp: _t, attributes: _a, ...same } = modern!;
    expect(legacy).toEqual({
      ...same,
      timestamp: "2018-12-13 14:51:00",
      timestamp_us: 123456,
      attributes_keys: ["a", "b"],
      attributes_values: ["1", "2"],
    });
    setEnv({ WEIR_TABLE_FLAVOR: "Legacy" });
    expect(() => run(data)).toThrow(/WEIR_TABLE_FLAVOR/);
  });

  it("builds the legacy key/value lists with an object's key rules", () => {
    // The legacy lists are built without an object; they must still be Object.keys / Object.values
    // of the modern map: a repeated key keeps its first place and last value, integer-like keys
    // come first in numeric order, `__proto__` is not a key.
    const cases: OtlpKeyValue[][] = [
      [str("a", "1"), str("b", "2"), str("a", "3"), str("constructor", "c")],
      [str("z", "1"), str("10", "x"), str("2", "y"), str("-1", "n"), str("01", "o"), str("z", "2")],
      [str("p", "1"), str("__proto__", "x"), str("q", "2")],
      // Past 64 attributes the lists come from the object route (no quadratic repeated-key search).
      [...Array.from({ length: 100 }, (_, i) => str(`k${i}`, `${i}`)), str("k5", "again")],
    ];
    for (const attributes of cases) {
      const data = request([{ ...base, attributes }]);
      const modern = run(data)[0]!;
      setEnv({ WEIR_TABLE_FLAVOR: "legacy" });
      const legacy = (handler(data, recordingLog()) as LegacyTraceRow[])[0]!;
      setEnv({});
      expect(legacy.attributes_keys).toEqual(Object.keys(modern.attributes));
      expect(legacy.attributes_values).toEqual(Object.values(modern.attributes));
    }
    expect(run(request([{ ...base, attributes: cases[0] }]))[0]?.attributes).toEqual({
      a: "3",
      b: "2",
      constructor: "c",
    });
  });

  it("lower-cases hex ids only, and keeps other ids as sent", () => {
    const ids = ["ABCDEF0123", "AbCd=", "not-hex", "abc"].map((id, i) => ({
      ...base,
      spanId: id,
      name: `${i}`,
    }));
    expect(run(request(ids)).map((r) => r.span_id)).toEqual(["abcdef0123", "AbCd=", "not-hex", "abc"]);
  });

  it("turns generated collector-style and official-style payloads into the same rows", () => {
    const opts = { seed: 21, spansPerMessage: 300, timeUnixNano: 1_700_000_000_000_000_000n };
    const collector = generateTraces(opts);
    const official = generateTraces({ ...opts, idCase: "upper", int64: "number" });
    const a = run(JSON.parse(JSON.stringify(collector.request)) as OtlpExportTraceServiceRequest);
    const b = run(JSON.parse(JSON.stringify(official.request)) as OtlpExportTraceServiceRequest);
    expect(a).toHaveLength(collector.expectedRows);
    expect(b).toHaveLength(collector.expectedRows);
    expect(b.map((r) => r.fingerprint)).toEqual(a.map((r) => r.fingerprint));
    expect(new Set(a.map((r) => r.fingerprint)).size).toBe(a.length);
    for (const row of a) {
      expect(row.timestamp).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/);
      expect(row.trace_id).toMatch(/^[0-9a-f]{32}$/);
      expect(row.duration_ms).toBeGreaterThanOrEqual(1);
      expect(["UNSET", "OK", "ERROR"]).toContain(row.status_code);
      expect(row.service_name).not.toBe("unknown");
      for (const v of Object.values(row.attributes)) expect(typeof v).toBe("string");
    }
    expect(a.some((r) => r.status_code === "ERROR")).toBe(true);
    // Only the precision lost by JSON numbers may differ: 64-bit ints above 2^53 in attributes.
    const seq = (rows: TraceRow[]) => rows.map((r) => r.attributes["app.sequence"]);
    expect(seq(a)).not.toEqual(seq(b));
  });
});
