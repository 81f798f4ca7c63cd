/**
 * The fast trace decoder against the protobufjs decoder + map-traces.ts (the oracle): same
 * JSON.stringify text (so same values and key order) whenever the fast one decodes, an error
 * whenever the oracle throws, and decodeTracesRaw identical to the oracle in both results and error
 * messages.
 */
import { generateTraces } from "@weir/generator";
import { describe, expect, test } from "vitest";
import { decodeTracesProtobufjs, decodeTracesRaw } from "./decode.ts";
import { decodeTracesFast, FastUnsupported } from "./fast-traces.ts";
import { allValuesLogs, zeroSpans } from "./fixtures.test-data.ts";
import { encodeTraces, readFixture } from "./test-helpers.ts";

type Outcome = { ok: true; text: string } | { ok: false; message: string };

function run(fn: (b: Uint8Array) => unknown, b: Uint8Array): Outcome {
  try {
    return { ok: true, text: JSON.stringify(fn(b)) };
  } catch (err) {
    return { ok: false, message: (err as Error).message };
  }
}

let unsupported = 0;

/** Asserts the fast decoder agrees with the oracle on `b`; returns the oracle's outcome. */
function same(b: Uint8Array): Outcome {
  const oracle = run(decodeTracesProtobufjs, b);
  let fast: Outcome;
  try {
    fast = { ok: true, text: JSON.stringify(decodeTracesFast(b)) };
  } catch (err) {
    if (err instanceof FastUnsupported) {
      unsupported++;
      fast = oracle;
    } else {
      fast = { ok: false, message: (err as Error).message };
    }
  }
  if (fast.ok || oracle.ok) expect(fast).toEqual(oracle);
  // What callers get: exactly the oracle, results and error messages alike.
  expect(run(decodeTracesRaw, b)).toEqual(oracle);
  return oracle;
}

function decodesSame(b: Uint8Array): string {
  const o = same(b);
  if (!o.ok) throw new Error(`oracle threw: ${o.message}`);
  return o.text;
}

// ---- a minimal protobuf writer for hand-built messages ----

type Bytes = number[];

function varint(n: number | bigint): Bytes {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: Bytes = [];
  while (v >= 0x80n) {
    out.push(Number((v & 0x7fn) | 0x80n));
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}
const tag = (field: number, wire: number): Bytes => varint(field * 8 + wire);
const vf = (field: number, n: number | bigint): Bytes => [...tag(field, 0), ...varint(n)];
const ld = (field: number, ...body: Bytes[]): Bytes => {
  const b = body.flat();
  return [...tag(field, 2), ...varint(b.length), ...b];
};
const str = (field: number, s: string): Bytes => ld(field, [...new TextEncoder().encode(s)]);
const raw = (field: number, bytes: number[]): Bytes => ld(field, bytes);
const f32 = (field: number, n: number): Bytes => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, true);
  return [...tag(field, 5), ...b];
};
const f64 = (field: number, n: bigint): Bytes => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, n), true);
  return [...tag(field, 1), ...b];
};
const dbl = (field: number, n: number): Bytes => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, n, true);
  return [...tag(field, 1), ...b];
};
const u8 = (...parts: Bytes[]): Uint8Array => Uint8Array.from(parts.flat());

/** Request > ResourceSpans > ScopeSpans > Span with the given span body. */
const inSpan = (...span: Bytes[]): Uint8Array => u8(ld(1, ld(2, ld(2, ...span))));
/** A span attribute with the given AnyValue body. */
const attr = (key: string, ...value: Bytes[]): Bytes => ld(9, str(1, key), ld(2, ...value));
const TID = Array.from({ length: 16 }, (_, i) => i + 1);
const SID = Array.from({ length: 8 }, (_, i) => 0xa0 + i);

/** Unknown fields of every skippable wire type. */
const unknowns = (field: number): Bytes => [
  ...vf(field, 300),
  ...vf(field, -1),
  ...f64(field, 7n),
  ...raw(field, [1, 2, 3]),
  ...f32(field, 9),
];

describe("fixtures and existing decode inputs", () => {
  test("trace.json, zeroSpans, every AnyValue case as span attributes", () => {
    decodesSame(encodeTraces(readFixture("trace.json")));
    decodesSame(encodeTraces(zeroSpans));
    const rec = allValuesLogs.resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!;
    const attributes = rec.attributes ?? [];
    const traces = {
      resourceSpans: [
        {
          resource: { attributes: rec.attributes, droppedAttributesCount: 3 },
          scopeSpans: [
            {
              scope: { name: "s", version: "1", attributes: rec.attributes, droppedAttributesCount: 1 },
              spans: [
                {
                  traceId: "0102030405060708090a0b0c0d0e0f10",
                  spanId: "a1a2a3a4a5a6a7a8",
                  name: "n",
                  attributes: [...attributes, { key: "body", value: rec.body }],
                  events: [{ timeUnixNano: "18446744073709551615", attributes: rec.attributes }],
                  links: [{ traceId: "0102030405060708090a0b0c0d0e0f10", attributes: rec.attributes }],
                },
              ],
            },
          ],
        },
      ],
    };
    const text = decodesSame(encodeTraces(traces));
    expect(text).toContain('"intValue":"-9223372036854775808"');
    expect(text).toContain('"doubleValue":"NaN"');
  });

  test("a Node Buffer (what Kafka hands over), also at a non-zero byteOffset", () => {
    const bytes = encodeTraces(readFixture("trace.json"));
    const text = decodesSame(bytes);
    expect(JSON.stringify(decodeTracesFast(Buffer.from(bytes)))).toBe(text);
    const padded = Buffer.alloc(bytes.length + 10);
    padded.set(bytes, 7);
    const view = padded.subarray(7, 7 + bytes.length);
    expect(JSON.stringify(decodeTracesFast(view))).toBe(text);
    expect(JSON.stringify(decodeTracesRaw(view))).toBe(text);
  });

  test("empty request and empty parts", () => {
    expect(decodesSame(new Uint8Array(0))).toBe("{}");
    expect(decodesSame(u8(ld(1)))).toBe('{"resourceSpans":[{"resource":{}}]}');
    expect(decodesSame(u8(ld(1, ld(1), ld(2))))).toBe(
      '{"resourceSpans":[{"resource":{},"scopeSpans":[{"scope":{}}]}]}',
    );
    expect(decodesSame(inSpan())).toBe(
      '{"resourceSpans":[{"resource":{},"scopeSpans":[{"scope":{},"spans":[{"status":{}}]}]}]}',
    );
  });
});

describe("generated messages", () => {
  test("thousands of generator messages, both styles", () => {
    let spans = 0;
    for (let i = 0; i < 2000; i++) {
      const style = i % 2 === 0 ? {} : ({ idCase: "upper", int64: "number" } as const);
      const g = generateTraces({
        seed: 1000 + i,
        spansPerMessage: 1 + (i % 50),
        spansPerTrace: 1 + (i % 9),
        timeUnixNano: 1_750_000_000_000_000_000n + BigInt(i) * 1_000_000_007n,
        errorRate: 0.3,
        negativeDurationRate: 0.1,
        piiRate: 0.5,
        ...style,
      });
      decodesSame(encodeTraces(g.request));
      spans += g.spans;
    }
    expect(spans).toBeGreaterThan(40_000);
  });
});

describe("hand-built edge cases", () => {
  test("zero ids, empty ids, all scalar fields, last one wins, empty resets", () => {
    decodesSame(
      inSpan(raw(1, new Array(16).fill(0)), raw(2, new Array(8).fill(0)), raw(4, new Array(8).fill(0))),
    );
    decodesSame(inSpan(raw(1, []), raw(2, []), raw(4, [])));
    const full = decodesSame(
      inSpan(
        raw(1, TID),
        raw(2, SID),
        str(3, "k=v"),
        raw(4, SID),
        f32(16, 0xffffffff),
        str(5, "name"),
        vf(6, 2),
        f64(7, 1_750_000_000_123_456_789n),
        f64(8, 0xffff_ffff_ffff_ffffn),
        attr("a", str(1, "b")),
        vf(10, 0xffffffff),
        ld(11, f64(1, 5n), str(2, "ev"), ld(3, str(1, "x"), ld(2, vf(2, 1))), vf(4, 7)),
        vf(12, 3),
        ld(13, raw(1, TID), raw(2, SID), str(3, "t=s"), ld(4, str(1, "y")), vf(5, 1), f32(6, 257)),
        vf(14, 4),
        ld(15, str(2, "boom"), vf(3, 2)),
      ),
    );
    expect(full).toContain('"flags":4294967295');
    expect(full).toContain('"endTimeUnixNano":"18446744073709551615"');
    // Last one wins; an empty value resets (protobufjs deletes the field).
    decodesSame(
      inSpan(str(5, "a"), str(5, "b"), raw(1, TID), raw(1, []), vf(6, 3), vf(6, 0), f64(7, 9n), f64(7, 0n)),
    );
    decodesSame(inSpan(raw(2, SID), str(5, "n"), raw(2, new Array(8).fill(1)), f32(16, 1), f32(16, 0)));
    // Negative kind / status code, 10-byte varints not at the end of the message.
    decodesSame(inSpan(vf(6, -5), ld(15, vf(3, -1), str(2, "m")), str(5, "n")));
  });

  test("fixed64 timestamps: every magnitude, exact decimal (the seconds cache included)", () => {
    const values = [1n, 2n ** 32n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, 10n ** 18n - 1n, 10n ** 18n];
    values.push(
      2n ** 63n - 1n,
      2n ** 63n,
      10n ** 19n,
      2n ** 64n - 1n,
      1_764_000_000_999_999_999n,
      1_764_000_001_000_000_000n,
    );
    let seed = 7n;
    for (let i = 0; i < 3000; i++) {
      seed = (seed * 6364136223846793005n + 1442695040888963407n) & (2n ** 64n - 1n);
      values.push(i % 3 === 0 ? seed : 1_764_000_000_000_000_000n + (seed % 100_000_000_000n));
    }
    const spans = values.map((v) =>
      ld(2, ld(2, f64(7, v), f64(8, v + 1n > 2n ** 64n - 1n ? v : v + 1n), ld(11, f64(1, v)))),
    );
    const got = JSON.parse(decodesSame(u8(ld(1, ...spans))));
    const list = got.resourceSpans[0].scopeSpans as { spans: { startTimeUnixNano: string }[] }[];
    expect(list.map((s) => s.spans[0]!.startTimeUnixNano)).toEqual(values.map(String));
  });

  test("repeated fields not contiguous, a status twice merges", () => {
    const t = decodesSame(
      inSpan(
        attr("a", vf(2, 1)),
        str(5, "n"),
        ld(11, str(2, "e1")),
        attr("b", vf(3, 5)),
        ld(13, raw(2, SID)),
        ld(11, str(2, "e2")),
        ld(15, str(2, "first")),
        ld(13, vf(5, 2)),
        ld(15, vf(3, 1)),
      ),
    );
    expect(t).toContain('"status":{"message":"first","code":1}');
    decodesSame(
      u8(ld(1, ld(2, ld(2, str(5, "a"))), str(3, "u1"), ld(2, ld(2, str(5, "b"))), str(3, "u2")), ld(1)),
    );
  });

  test("unknown fields of every wire type, known fields with a wrong wire type", () => {
    decodesSame(
      u8(
        unknowns(9),
        ld(
          1,
          unknowns(99),
          ld(1, unknowns(77), ld(1, str(1, "k"), unknowns(5), ld(2, unknowns(50), str(1, "v")))),
          ld(
            2,
            unknowns(4),
            ld(1, unknowns(9), str(1, "sc")),
            ld(2, unknowns(17), str(5, "n"), unknowns(2000)),
          ),
        ),
        unknowns(1234567),
      ),
    );
    // Wrong wire types for known fields are skipped as unknown (protobufjs does so).
    decodesSame(
      inSpan(vf(1, 5), f32(5, 1), raw(6, [1]), vf(7, 1), raw(16, [1, 2, 3, 4]), vf(15, 1), f64(9, 1n)),
    );
    decodesSame(
      inSpan(attr("x", vf(1, 1), raw(2, [1]), raw(3, [1]), f32(4, 1), vf(5, 1), vf(7, 1), raw(8, [1]))),
    );
  });

  test("strings: non-ASCII, long, BOM, every length around the 8-byte chunks", () => {
    const cases = [
      "héllo ☃",
      "𝄞 surrogate pair",
      "\uFEFFbom",
      "日本語のテキスト".repeat(20),
      "a".repeat(200),
      `${"b".repeat(70)}é`,
      "\u0000nul\u007f",
      "\u07ff\u0800\uffff\u{10000}\u{10ffff}",
    ];
    for (let n = 0; n < 20; n++) cases.push("x".repeat(n), `${"y".repeat(n)}ü`, `ü${"z".repeat(n)}`);
    for (const s of cases) {
      const t = decodesSame(inSpan(str(5, s), attr(s, str(1, s)), str(3, s)));
      expect(JSON.parse(t).resourceSpans[0].scopeSpans[0].spans[0].name).toBe(s || undefined);
    }
  });

  test("invalid UTF-8 is an error, as protobufjs' stringVerify makes it", () => {
    const bad = [
      [0x80],
      [0xc0, 0x80], // overlong
      [0xc1, 0xbf],
      [0xe0, 0x80, 0x80],
      [0xe0, 0x9f, 0xbf],
      [0xed, 0xa0, 0x80], // surrogate
      [0xf0, 0x80, 0x80, 0x80],
      [0xf4, 0x90, 0x80, 0x80], // > U+10FFFF
      [0xf5, 0x80, 0x80, 0x80],
      [0xff],
      [0x61, 0xc3], // truncated
      [0xe2, 0x98],
      [0xf0, 0x9d, 0x84],
      [0xc3, 0x41],
    ];
    for (const b of bad) {
      for (const pad of [0, 3, 9, 70]) {
        const bytes = [...new Array(pad).fill(0x61), ...b, ...new Array(pad % 5).fill(0x62)];
        for (const where of [
          inSpan(raw(5, bytes)),
          inSpan(attr("k", raw(1, bytes))),
          inSpan(attr("k", raw(2, []), raw(1, bytes))),
        ]) {
          const o = same(where);
          expect(o.ok).toBe(false);
        }
      }
    }
  });

  test("AnyValue: every case, oneof last wins, nested arrays and kvlists, merges", () => {
    const t = decodesSame(
      inSpan(
        attr("s", str(1, "x")),
        attr("t", vf(2, 1)),
        attr("t2", vf(2, 256)), // any set bit is true
        attr("f", vf(2, 0)),
        attr("i", vf(3, -1)),
        attr("imin", vf(3, -(2n ** 63n))),
        attr("imax", vf(3, 2n ** 63n - 1n)),
        attr("i53", vf(3, 2n ** 53n + 1n)),
        attr("i32", vf(3, 2n ** 32n)),
        attr("d", dbl(4, 1.5)),
        attr("dn", dbl(4, Number.NaN)),
        attr("di", dbl(4, Number.POSITIVE_INFINITY)),
        attr("dni", dbl(4, Number.NEGATIVE_INFINITY)),
        attr("d0", dbl(4, -0)),
        attr("dmin", dbl(4, 5e-324)),
        attr("b", raw(7, [0, 1, 2, 3, 4])),
        attr("b0", raw(7, [])),
        attr("si", vf(8, 0)),
        attr("si2", vf(8, -7)),
        attr("none"),
        ld(9, str(1, "no-value")),
        ld(9, ld(2, str(1, "no-key")), vf(3, 4)),
        attr(
          "arr",
          ld(5, ld(1, str(1, "a")), ld(1, ld(5, ld(1, vf(3, 3)), ld(1))), ld(1, ld(6, ld(1, str(1, "k"))))),
        ),
        attr("arr0", ld(5)),
        attr("kv0", ld(6)),
        attr("kv", ld(6, ld(1, str(1, "k"), ld(2, dbl(4, 2))), ld(1, str(1, "k2"), ld(2, ld(6, ld(1)))))),
        // oneof: the last case set wins; a repeated array/kvlist merges (values appended)
        attr("o1", str(1, "x"), vf(3, 5)),
        attr("o2", vf(3, 5), str(1, "x")),
        attr("o3", ld(5, ld(1, str(1, "a"))), ld(5, ld(1, str(1, "b")))),
        attr("o4", ld(5, ld(1, str(1, "a"))), str(1, "x"), ld(5, ld(1, str(1, "b")))),
        attr("o5", ld(6, ld(1, str(1, "a"))), ld(6, ld(1, str(1, "b")))),
        attr("o6", raw(7, [1]), ld(6, ld(1, str(1, "a"))), raw(7, [2, 3])),
      ),
    );
    expect(t).toContain('{"key":"imin","value":{"intValue":"-9223372036854775808"}}');
    expect(t).toContain('{"key":"i53","value":{"intValue":"9007199254740993"}}');
    // Nesting deeper than protobufjs' recursion limit (100) is an error for both.
    let deep: Bytes = str(1, "leaf");
    for (let i = 0; i < 60; i++) deep = ld(5, ld(1, deep));
    expect(same(inSpan(attr("deep", deep))).ok).toBe(false);
    let ok: Bytes = str(1, "leaf");
    for (let i = 0; i < 40; i++) ok = ld(5, ld(1, ok));
    decodesSame(inSpan(attr("ok", ok)));
  });

  test("resource and scope: every field; repeated submessages merge (via protobufjs)", () => {
    decodesSame(
      u8(
        ld(
          1,
          ld(
            1,
            ld(1, str(1, "service.name"), ld(2, str(1, "svc"))),
            vf(2, 3),
            ld(3, str(1, "https://x"), str(2, "service"), str(3, "a"), str(3, ""), str(4, "d"), str(3, "b")),
            ld(3),
          ),
          ld(
            2,
            ld(1, str(1, "lib"), str(2, "1.0"), ld(3, str(1, "k"), ld(2, vf(2, 1))), vf(4, 2)),
            str(3, "su"),
          ),
          str(3, "ru"),
        ),
      ),
    );
    // protobuf merges a repeated singular message; the fast reader leaves this to protobufjs.
    const before = unsupported;
    decodesSame(u8(ld(1, ld(1, ld(1, str(1, "a"))), ld(1, vf(2, 1), ld(1, str(1, "b"))))));
    decodesSame(u8(ld(1, ld(2, ld(1, str(1, "s")), ld(1, str(2, "v"))))));
    decodesSame(inSpan(ld(9, str(1, "k"), ld(2, str(1, "a")), ld(2, vf(3, 1)))));
    decodesSame(
      inSpan(ld(9, str(1, "k"), ld(2, ld(5, ld(1, str(1, "a")))), ld(2, ld(5, ld(1, str(1, "b")))))),
    );
    expect(unsupported - before).toBe(4);
  });

  test("groups: skipped by protobufjs, left to it by the fast reader", () => {
    // field 5, start group ... end group
    const group = [...tag(5, 3), ...vf(1, 1), ...tag(5, 4)];
    decodesSame(u8(group));
    decodesSame(inSpan(str(5, "n"), group));
    same(inSpan([...tag(5, 3), ...vf(1, 1), ...tag(6, 4)])); // mismatched end
    same(inSpan(tag(5, 4)));
  });

  test("malformed input: truncations, bad wire types, field 0, bad varints, bad id lengths", () => {
    const good = encodeTraces(readFixture("trace.json"));
    for (let n = 1; n < good.length; n++) same(good.subarray(0, n));
    const g = generateTraces({ seed: 5, spansPerMessage: 10, timeUnixNano: 1_750_000_000_000_000_000n });
    const gen = encodeTraces(g.request);
    for (let n = 1; n < gen.length; n += 7) same(gen.subarray(0, n));

    expect(same(u8(tag(1, 6))).ok).toBe(false); // wire type 6
    expect(same(u8(tag(1, 7))).ok).toBe(false);
    expect(same(u8(vf(0, 1))).ok).toBe(false); // field number 0
    expect(same(inSpan(vf(0, 1))).ok).toBe(false);
    expect(same(u8([0x0a, 0x05, 1, 2])).ok).toBe(false); // length beyond the end
    expect(same(u8([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f])).ok).toBe(false); // invalid length encoding
    same(u8([0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01])); // 11-byte unknown varint
    expect(
      same(
        inSpan(
          vf(6, 1).slice(0, 1),
          [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01],
          str(5, "n"),
        ),
      ).ok,
    ).toBe(false);
    expect(same(u8([0x80, 0x80, 0x80, 0x80, 0x80, 0x01])).ok).toBe(false); // invalid tag encoding
    // Long varints near the end of a message: protobufjs refuses 5+ bytes within the last 5.
    same(inSpan(vf(6, -1)));
    same(inSpan(vf(10, 0xffffffff)));
    same(inSpan(attr("i", vf(3, -1))));
    same(inSpan(attr("i", vf(3, 2n ** 40n))));
    same(inSpan(attr("b", vf(2, 2n ** 40n))));
    same(u8(vf(7, 2n ** 35n)));
    same(u8(vf(7, 2n ** 35n), vf(8, 1)));
    // Ids of the wrong length: map-common's error.
    for (const [f, n] of [
      [1, 2],
      [1, 17],
      [2, 16],
      [4, 7],
    ] as const) {
      const o = same(inSpan(raw(f, new Array(n).fill(1))));
      expect(o.ok).toBe(false);
    }
    expect(same(inSpan(ld(13, raw(1, [1]))))).toEqual({
      ok: false,
      message: "OTLP protobuf ExportTraceServiceRequest: link traceId has 1 bytes, want 16",
    });
    expect(same(inSpan(raw(1, [1, 2])))).toEqual({
      ok: false,
      message: "OTLP protobuf ExportTraceServiceRequest: span traceId has 2 bytes, want 16",
    });
  });

  test("fuzz: mutated real messages and random bytes", () => {
    let seed = 4242;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return (seed >>> 8) % n;
    };
    const bases = [
      encodeTraces(readFixture("trace.json")),
      encodeTraces(zeroSpans),
      encodeTraces(
        generateTraces({ seed: 9, spansPerMessage: 6, timeUnixNano: 1_750_000_000_000_000_000n }).request,
      ),
    ];
    let ok = 0;
    for (let i = 0; i < 6000; i++) {
      const base = bases[i % bases.length]!;
      const b = Uint8Array.from(base);
      const edits = 1 + rand(3);
      for (let e = 0; e < edits; e++) {
        const r = rand(4);
        const at = rand(b.length);
        if (r === 0) b[at] = rand(256);
        else if (r === 1) b[at] = b[at]! ^ (1 << rand(8));
        else if (r === 2) b[at] = b[at]! + 1;
        else b[at] = b[at]! - 1;
      }
      if (same(b).ok) ok++;
    }
    for (let i = 0; i < 1000; i++) same(Uint8Array.from({ length: 1 + rand(200) }, () => rand(256)));
    expect(ok).toBeGreaterThan(500);
  });
});
