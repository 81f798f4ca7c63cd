import { describe, expect, it } from "vitest";
import {
  CLICKHOUSE_ERROR_CLASSES,
  classifySinkFailure,
  parseClickHouseCode,
  parseRetryAfter,
  sinkError,
} from "./classify.ts";

describe("classifySinkFailure", () => {
  // The table the issue asks for, checked row by row: [code, status, retryable].
  const cases: Array<[number | undefined, number | undefined, boolean]> = [
    [60, 404, false], // UNKNOWN_TABLE
    [16, 500, false], // NO_SUCH_COLUMN_IN_TABLE
    [26, 400, false], // parse errors
    [27, 500, false],
    [117, 500, false], // unknown JSONEachRow field on 18.16
    [53, 500, false], // TYPE_MISMATCH
    [159, 500, true], // TIMEOUT_EXCEEDED
    [209, 500, true],
    [210, 500, true],
    [202, 500, true], // TOO_MANY_SIMULTANEOUS_QUERIES
    [241, 500, true], // MEMORY_LIMIT_EXCEEDED
    [252, 500, true], // TOO_MANY_PARTS
    [242, 500, true], // TABLE_IS_READ_ONLY
    [319, 500, true],
    [999, 500, true],
    [425, 500, true],
    [undefined, 500, true], // 5xx without a code
    [undefined, 503, true],
    [undefined, 429, true],
    [undefined, 408, true],
    [undefined, 400, false],
    [undefined, 404, false],
    [undefined, 422, false],
    [undefined, undefined, true], // network error: no response
    [12345, 500, true], // unknown code: falls back to the status
    [12345, 400, false],
  ];
  it.each(cases)("code %s status %s -> retryable %s", (code, status, retryable) => {
    expect(classifySinkFailure({ code, status }).retryable).toBe(retryable);
  });

  it("names every code in the table", () => {
    for (const [code, c] of Object.entries(CLICKHOUSE_ERROR_CLASSES)) {
      expect(c.name, code).toMatch(/^[A-Z_]+$/);
    }
  });
});

describe("parseClickHouseCode", () => {
  it("reads the 18.x body and the newer body and header", () => {
    expect(
      parseClickHouseCode("Code: 60, e.displayText() = DB::Exception: Table default.nope doesn't exist."),
    ).toBe(60);
    expect(parseClickHouseCode("Code: 117. DB::Exception: Unknown field found. (INCORRECT_DATA)")).toBe(117);
    expect(parseClickHouseCode("whatever", "241")).toBe(241);
    expect(parseClickHouseCode("<html>502 Bad Gateway</html>")).toBeUndefined();
  });
});

describe("parseRetryAfter", () => {
  it("reads seconds and HTTP dates", () => {
    expect(parseRetryAfter("3")).toBe(3000);
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(parseRetryAfter("Thu, 01 Jan 2026 00:00:05 GMT", now)).toBe(5000);
    expect(parseRetryAfter("soon")).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});

describe("sinkError", () => {
  it("sets code, retryable and backoffMs only for retryable errors", () => {
    const r = sinkError("insert failed", { status: 429, backoffMs: 2000 });
    expect(r).toMatchObject({ code: "SINK_RETRYABLE", retryable: true, backoffMs: 2000 });
    const p = sinkError("insert failed", { status: 400, backoffMs: 2000 });
    expect(p).toMatchObject({ code: "SINK_PERMANENT", retryable: false, backoffMs: undefined });
    expect(p.message).toContain("HTTP 400");
  });
});
