import { isWeirError } from "@weir/core";
import { generateTraceRequest } from "@weir/generator";
import { describe, expect, test } from "vitest";
import { allValuesExpected, allValuesLogs, zeroSpans, zeroSpansExpected } from "./fixtures.test-data.ts";
import { decodeLogs, decodeTraces } from "./index.ts";
import { encodeLogs, encodeTraces, normalise, readFixture } from "./test-helpers.ts";

describe("official opentelemetry-proto examples", () => {
  test("trace.json: lower-case ids, string nanos, status {}", () => {
    const fixture = readFixture("trace.json");
    const got = decodeTraces(encodeTraces(fixture));
    expect(got).toEqual(normalise(fixture));
    const span = got.resourceSpans![0]!.scopeSpans![0]!.spans![0]!;
    expect(span.traceId).toBe("5b8efff798038103d269b633813fc60c");
    expect(span.parentSpanId).toBe("eee19b7ec3c1b173");
    expect(span.startTimeUnixNano).toBe("1544712660000000000");
    expect(span.status).toEqual({});
  });

  test("logs.json: every attribute type of the example", () => {
    const fixture = readFixture("logs.json");
    const got = decodeLogs(encodeLogs(fixture));
    expect(got).toEqual(normalise(fixture));
    const attrs = got.resourceLogs![0]!.scopeLogs![0]!.logRecords![0]!.attributes!;
    expect(attrs.find((a) => a.key === "int.attribute")!.value).toEqual({ intValue: "10" });
  });
});

test("every AnyValue case, 64-bit extremes and non-finite doubles", () => {
  // toStrictEqual: no stray undefined keys, so the object is what JSON.parse of otlp_json gives.
  expect(decodeLogs(encodeLogs(allValuesLogs))).toStrictEqual(allValuesExpected);
});

test("zero values are omitted as pdata omits them; status, resource and scope always present", () => {
  const got = decodeTraces(encodeTraces(zeroSpans));
  expect(got).toStrictEqual(zeroSpansExpected);
  // Same key order as pdata's marshaller, so the JSON text matches too.
  expect(Object.keys(got.resourceSpans![0]!.scopeSpans![0]!.spans![1]!)).toEqual(
    Object.keys(zeroSpansExpected.resourceSpans[0]!.scopeSpans[0]!.spans[1]!),
  );
});

test("a generated 100-span message in the Collector's style round-trips exactly", () => {
  const req = generateTraceRequest({
    seed: 3,
    spansPerMessage: 100,
    timeUnixNano: 1_750_000_000_123_456_789n,
  });
  const got = decodeTraces(encodeTraces(req));
  // Key order is not compared: the generator writes parentSpanId and status elsewhere than pdata.
  expect(got).toStrictEqual(normalise(req));
});

test("an empty message decodes to {}", () => {
  expect(decodeTraces(new Uint8Array(0))).toStrictEqual({});
  expect(decodeLogs(new Uint8Array(0))).toStrictEqual({});
});

describe("bad input throws DECODE_ERROR naming what failed", () => {
  const good = encodeTraces(readFixture("trace.json"));

  function error(fn: () => unknown): Error {
    try {
      fn();
    } catch (err) {
      expect(isWeirError(err)).toBe(true);
      expect((err as { code: string }).code).toBe("DECODE_ERROR");
      expect((err as { retryable: boolean }).retryable).toBe(false);
      return err as Error;
    }
    throw new Error("expected a throw");
  }

  test("every truncation of a real message", () => {
    let threw = 0;
    for (let n = 1; n < good.length; n++) {
      try {
        decodeTraces(good.subarray(0, n));
      } catch (err) {
        expect((err as Error).message).toMatch(/^OTLP protobuf ExportTraceServiceRequest: /);
        threw++;
      }
    }
    // A cut that falls exactly between top-level fields is a valid shorter message; others must throw.
    expect(threw).toBeGreaterThan(good.length - 5);
    expect(error(() => decodeTraces(good.subarray(0, good.length - 1))).message).toMatch(
      /index out of range/,
    );
  });

  test("a JSON message fed to the protobuf decoder", () => {
    const json = new TextEncoder().encode(JSON.stringify(readFixture("trace.json")));
    expect(error(() => decodeTraces(json)).message).toMatch(/^OTLP protobuf ExportTraceServiceRequest: .+/);
    expect(error(() => decodeLogs(new TextEncoder().encode('{"resourceLogs":[]}'))).message).toMatch(
      /^OTLP protobuf ExportLogsServiceRequest: .+/,
    );
  });

  test("random bytes never hang and either throw or decode", () => {
    let seed = 12345;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed >>> 16;
    };
    let threw = 0;
    for (let i = 0; i < 500; i++) {
      const b = Uint8Array.from({ length: 1 + (rand() % 300) }, () => rand() & 255);
      try {
        decodeTraces(b);
      } catch (err) {
        expect(isWeirError(err)).toBe(true);
        threw++;
      }
    }
    expect(threw).toBeGreaterThan(400);
  });

  test("ids of the wrong length, and non-bytes input", () => {
    const bad = encodeTraces({
      resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: "0102", name: "x" }] }] }],
    });
    expect(error(() => decodeTraces(bad)).message).toBe(
      "OTLP protobuf ExportTraceServiceRequest: span traceId has 2 bytes, want 16",
    );
    expect(error(() => decodeTraces("{}" as unknown as Uint8Array)).message).toMatch(/expected a Uint8Array/);
  });
});
