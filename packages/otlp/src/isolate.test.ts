import { generateTraceRequest } from "@weir/generator";
import ivm from "isolated-vm";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { allValuesLogs, zeroSpans } from "./fixtures.test-data.ts";
import { decodeLogs, decodeTraces, otlpDecoderSource } from "./index.ts";
import { encodeLogs, encodeTraces, readFixture } from "./test-helpers.ts";

let isolate: ivm.Isolate;
let context: ivm.Context;

beforeAll(async () => {
  isolate = new ivm.Isolate({ memoryLimit: 64 });
  context = await isolate.createContext();
  await (await isolate.compileScript(otlpDecoderSource(), { filename: "weir-otlp.js" })).run(context);
});
afterAll(() => isolate.dispose());

/** Decodes inside the isolate; the result comes back as JSON text (only for comparing here). */
function inIsolate(fn: "decodeTraces" | "decodeLogs", bytes: Uint8Array): unknown {
  const text = context.evalClosureSync(`return JSON.stringify(__weirOtlp.${fn}($0))`, [bytes], {
    arguments: { copy: true },
    timeout: 5000,
  });
  return JSON.parse(text as string);
}

const NAN_SAFE = (v: unknown) => JSON.parse(JSON.stringify(v));

describe("the isolate bundle", () => {
  test("is self-contained: no Node globals needed, no Buffer", () => {
    const src = otlpDecoderSource();
    expect(src).not.toMatch(/\bimport\s*[({"']|\bexport\s/);
    expect(context.evalSync("typeof require + typeof Buffer + typeof process")).toBe(
      "undefinedundefinedundefined",
    );
  });

  test("gives the host's output for the fixtures, every AnyValue case, zero values and generated traces", () => {
    const cases: ["decodeTraces" | "decodeLogs", Uint8Array][] = [
      ["decodeTraces", encodeTraces(readFixture("trace.json"))],
      ["decodeLogs", encodeLogs(readFixture("logs.json"))],
      ["decodeLogs", encodeLogs(allValuesLogs)],
      ["decodeTraces", encodeTraces(zeroSpans)],
      [
        "decodeTraces",
        encodeTraces(generateTraceRequest({ seed: 9, spansPerMessage: 100, timeUnixNano: 1n << 62n })),
      ],
    ];
    for (const [fn, bytes] of cases) {
      const host = fn === "decodeTraces" ? decodeTraces(bytes) : decodeLogs(bytes);
      // Text equality: same values and same key order.
      expect(JSON.stringify(inIsolate(fn, bytes))).toBe(JSON.stringify(NAN_SAFE(host)));
    }
  });

  test("throws an Error naming what failed, for truncated, random and JSON input", () => {
    const good = encodeTraces(readFixture("trace.json"));
    const json = new TextEncoder().encode(JSON.stringify(readFixture("trace.json")));
    const random = Uint8Array.from({ length: 64 }, (_, i) => (i * 151 + 7) & 255);
    for (const bad of [good.subarray(0, good.length - 3), json, random]) {
      let hostMessage = "";
      try {
        decodeTraces(bad);
      } catch (err) {
        hostMessage = (err as Error).message;
      }
      expect(hostMessage).toMatch(/^OTLP protobuf ExportTraceServiceRequest: /);
      expect(() => inIsolate("decodeTraces", bad)).toThrow(hostMessage);
    }
  });
});

test("micro-measure (printed, not asserted): decode µs per span vs JSON.parse of otlp_json", () => {
  const req = generateTraceRequest({
    seed: 11,
    spansPerMessage: 100,
    timeUnixNano: 1_750_000_000_000_000_000n,
  });
  const bytes = encodeTraces(req);
  const json = JSON.stringify(decodeTraces(bytes));
  const spans = 100;
  const n = 300;
  const perSpan = (ms: number) => ((ms * 1000) / n / spans).toFixed(2);

  const hostTime = (fn: () => unknown) => {
    for (let i = 0; i < 50; i++) fn();
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fn();
    return performance.now() - t0;
  };
  const hostPb = hostTime(() => decodeTraces(bytes));
  const hostJson = hostTime(() => JSON.parse(json));

  // Inside the isolate: the bytes and the JSON text are copied in once, the loops run in there.
  context.global.setSync("__bytes", new ivm.ExternalCopy(bytes).copyInto());
  context.global.setSync("__json", json);
  const isoTime = (expr: string) =>
    context.evalSync(
      `(() => { for (let i = 0; i < 50; i++) ${expr}; const t0 = Date.now(); for (let i = 0; i < ${n}; i++) ${expr}; return Date.now() - t0; })()`,
      { timeout: 60_000 },
    ) as number;
  const isoPb = isoTime("__weirOtlp.decodeTraces(__bytes)");
  const isoJson = isoTime("JSON.parse(__json)");

  console.log(
    [
      `OTLP ${spans}-span message: ${bytes.length} B protobuf, ${json.length} B otlp_json`,
      `host    : protobuf decode ${perSpan(hostPb)} µs/span, JSON.parse ${perSpan(hostJson)} µs/span`,
      `isolate : protobuf decode ${perSpan(isoPb)} µs/span, JSON.parse ${perSpan(isoJson)} µs/span`,
    ].join("\n"),
  );
  expect(isoPb).toBeGreaterThanOrEqual(0);
});
