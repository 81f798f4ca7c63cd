import { describe, expect, it } from "vitest";
import { ByteWriter, parseChType, planRowBinary, RowBinaryError, rowEncoder } from "./rowbinary.ts";

function bytes(type: string, v: unknown): number[] {
  const w = new ByteWriter(8);
  rowEncoder([{ name: "c", type }])(w, v === undefined ? {} : { c: v });
  return [...w.buf.subarray(0, w.pos)];
}

function fails(type: string, v: unknown): string {
  const w = new ByteWriter(8);
  const enc = rowEncoder([{ name: "c", type }]);
  w.u8(9);
  try {
    enc(w, { c: v });
  } catch (err) {
    expect(err).toBeInstanceOf(RowBinaryError);
    expect(w.pos).toBe(1); // the writer is back where the row started
    return (err as Error).message;
  }
  throw new Error(`${type} accepted ${String(v)}`);
}

describe("RowBinary encoder", () => {
  it("writes little-endian fixed widths, varint-prefixed UTF-8, 64-bit from strings", () => {
    expect(bytes("UInt16", 258)).toEqual([2, 1]);
    expect(bytes("Int8", -1)).toEqual([255]);
    expect(bytes("Int64", "-2")).toEqual([254, 255, 255, 255, 255, 255, 255, 255]);
    expect(bytes("Int64", -2)).toEqual([254, 255, 255, 255, 255, 255, 255, 255]);
    expect(bytes("UInt64", "18446744073709551615")).toEqual(Array(8).fill(255));
    expect(bytes("String", "é")).toEqual([2, 0xc3, 0xa9]);
    expect(bytes("String", "a".repeat(200)).slice(0, 3)).toEqual([200, 1, 97]);
    expect(bytes("String", "é".repeat(100)).slice(0, 3)).toEqual([200, 1, 0xc3]);
    expect(bytes("FixedString(3)", "a")).toEqual([97, 0, 0]);
    expect(bytes("UInt8", true)).toEqual([1]);
    expect(bytes("Date", "1970-01-02")).toEqual([1, 0]);
    expect(bytes("DateTime", "1970-01-01 00:01:00")).toEqual([60, 0, 0, 0]);
    expect(bytes("DateTime64(3)", "1970-01-01 00:00:01.5")).toEqual([220, 5, 0, 0, 0, 0, 0, 0]);
    expect(bytes("Enum8('a' = 1, 'b' = -2)", "b")).toEqual([254]);
    expect(bytes("Nullable(UInt8)", null)).toEqual([1]);
    expect(bytes("Nullable(UInt8)", 5)).toEqual([0, 5]);
    expect(bytes("Array(UInt8)", [1, 2])).toEqual([2, 1, 2]);
    expect(bytes("Map(String, UInt8)", { a: 1 })).toEqual([1, 1, 97, 1]);
    expect(bytes("UUID", "00112233-4455-6677-8899-aabbccddeeff")).toEqual([
      0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x00, 0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x88,
    ]);
  });

  it("writes the type's zero for a missing key (NULL for Nullable, the first Enum value)", () => {
    expect(bytes("UInt32", undefined)).toEqual([0, 0, 0, 0]);
    expect(bytes("Nullable(String)", undefined)).toEqual([1]);
    expect(bytes("Enum8('x' = 5, 'y' = 3)", undefined)).toEqual([3]);
    expect(bytes("Array(String)", undefined)).toEqual([0]);
  });

  it("refuses values that do not fit, naming the column", () => {
    expect(fails("UInt8", 256)).toMatch(
      /column c \(UInt8\): cannot write number 256 \(out of range 0\.\.255\)/,
    );
    expect(fails("UInt32", -1)).toMatch(/out of range/);
    expect(fails("Int32", 1.5)).toMatch(/out of range/);
    expect(fails("UInt64", "-1")).toMatch(/out of range/);
    expect(fails("Int64", "12a")).toMatch(/cannot write string/);
    expect(fails("String", { a: 1 })).toMatch(/cannot write an object/);
    expect(fails("FixedString(2)", "abc")).toMatch(/longer than 2 bytes/);
    expect(fails("Enum8('a' = 1)", "z")).toMatch(/unknown element/);
    expect(fails("DateTime", "yesterday")).toMatch(/cannot write string/);
    expect(fails("DateTime", 1.5)).toMatch(/cannot write number/);
    expect(fails("Array(String)", "x")).toMatch(/cannot write string/);
    expect(fails("UUID", "nope")).toMatch(/cannot write string/);
  });

  it("refuses a key that is not a column", () => {
    const enc = rowEncoder([{ name: "a", type: "UInt8" }]);
    const w = new ByteWriter(8);
    expect(() => enc(w, { a: 1, b: 2 })).toThrow(/unknown field "b"/);
    expect(w.pos).toBe(0);
    enc(w, { a: 1, b: undefined }); // JSON.stringify drops undefined: not a field
    expect(w.pos).toBe(1);
  });

  it("knows which types it supports", () => {
    expect(parseChType("LowCardinality(Nullable(String))")).toEqual({
      kind: "Nullable",
      inner: { kind: "String" },
    });
    expect(planRowBinary([{ name: "a", type: "Decimal(10, 2)" }])).toEqual({
      ok: false,
      reason: "type Decimal is not supported by the RowBinary encoder",
    });
    expect(planRowBinary([{ name: "t", type: "DateTime" }], { serverTimezone: "Europe/Paris" }).ok).toBe(
      false,
    );
    expect(
      planRowBinary([{ name: "t", type: "DateTime64(3, 'UTC')" }], { serverTimezone: "Europe/Paris" }).ok,
    ).toBe(true);
  });
});
