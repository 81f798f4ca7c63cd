import type { OtlpAnyValue, OtlpExportTraceServiceRequest, OtlpSpan } from "@weir/core";
import { describe, expect, it } from "vitest";
import { generateTraceRequest, generateTraces } from "./index.ts";

const T0 = 1_700_000_000_000_000_000n;

function allSpans(req: OtlpExportTraceServiceRequest): Array<OtlpSpan & { service: string }> {
  return (req.resourceSpans ?? []).flatMap((rs) => {
    const service = rs.resource?.attributes?.find((a) => a.key === "service.name")?.value?.stringValue ?? "";
    return (rs.scopeSpans ?? []).flatMap((ss) => (ss.spans ?? []).map((s) => ({ ...s, service })));
  });
}

function valueKinds(v: OtlpAnyValue | undefined, into: Set<string>): void {
  if (!v) return;
  for (const k of Object.keys(v)) into.add(k);
  for (const x of v.arrayValue?.values ?? []) valueKinds(x, into);
  for (const kv of v.kvlistValue?.values ?? []) valueKinds(kv.value, into);
}

describe("generateTraces", () => {
  it("is deterministic for a seed and differs across seeds", () => {
    const a = generateTraceRequest({ seed: 42, spansPerMessage: 50, timeUnixNano: T0 });
    const b = generateTraceRequest({ seed: 42, spansPerMessage: 50, timeUnixNano: T0 });
    const c = generateTraceRequest({ seed: 43, spansPerMessage: 50, timeUnixNano: T0 });
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(JSON.stringify(a)).not.toBe(JSON.stringify(c));
  });

  it("emits exactly spansPerMessage spans as valid parent/child trees across services", () => {
    const g = generateTraces({ seed: 3, spansPerMessage: 200, spansPerTrace: 10, timeUnixNano: T0 });
    const spans = allSpans(g.request);
    expect(spans).toHaveLength(200);
    expect(g.spans).toBe(200);
    expect(g.traces).toBe(new Set(spans.map((s) => s.traceId)).size);
    expect(new Set(spans.map((s) => s.service)).size).toBeGreaterThan(2);

    const byId = new Map(spans.map((s) => [s.spanId, s]));
    expect(byId.size).toBe(200); // span ids are unique
    let crossService = 0;
    for (const s of spans) {
      expect(s.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(s.spanId).toMatch(/^[0-9a-f]{16}$/);
      expect(typeof s.startTimeUnixNano).toBe("string");
      if (s.parentSpanId === undefined) continue; // a root
      const parent = byId.get(s.parentSpanId);
      expect(parent, `parent of ${s.spanId}`).toBeDefined();
      expect(parent?.traceId).toBe(s.traceId);
      expect(BigInt(s.startTimeUnixNano as string)).toBeGreaterThanOrEqual(
        BigInt(parent?.startTimeUnixNano as string),
      );
      if (parent?.service !== s.service) crossService++;
    }
    expect(crossService).toBeGreaterThan(0);
    // Every trace has exactly one root.
    const roots = spans.filter((s) => s.parentSpanId === undefined);
    expect(roots).toHaveLength(g.traces);
  });

  it("uses every attribute value type, error statuses, sub-ms spans, health checks and PII", () => {
    const g = generateTraces({ seed: 11, spansPerMessage: 2000, timeUnixNano: T0 });
    const spans = allSpans(g.request);
    const kinds = new Set<string>();
    for (const s of spans) for (const a of s.attributes ?? []) valueKinds(a.value, kinds);
    for (const k of [
      "stringValue",
      "boolValue",
      "intValue",
      "doubleValue",
      "arrayValue",
      "kvlistValue",
      "bytesValue",
    ]) {
      expect(kinds, k).toContain(k);
    }
    const errors = spans.filter((s) => s.status?.code === 2).length / spans.length;
    expect(errors).toBeGreaterThan(0.02);
    expect(errors).toBeLessThan(0.1);
    const ms = (s: OtlpSpan) => BigInt(s.endTimeUnixNano as string) - BigInt(s.startTimeUnixNano as string);
    const short = spans.filter((s) => ms(s) < 1_000_000n).length;
    expect(short).toBeGreaterThan(0);
    expect(g.expectedRows).toBe(spans.length - short);
    const attr = (s: OtlpSpan, k: string) => s.attributes?.find((a) => a.key === k)?.value?.stringValue;
    expect(spans.some((s) => /^\/(health|healthz|ready)$/.test(attr(s, "url.path") ?? ""))).toBe(true);
    expect(spans.some((s) => attr(s, "user.email")?.includes("@"))).toBe(true);
    // An int above 2^53 survives only as a string.
    const seq = spans[0]?.attributes?.find((a) => a.key === "app.sequence")?.value?.intValue;
    expect(typeof seq).toBe("string");
    expect(BigInt(seq as string)).toBeGreaterThan(BigInt(Number.MAX_SAFE_INTEGER));
  });

  it("writes the official examples' style on request: upper-case ids and numeric 64-bit ints", () => {
    const lower = generateTraces({ seed: 5, spansPerMessage: 30, timeUnixNano: T0 });
    const upper = generateTraces({
      seed: 5,
      spansPerMessage: 30,
      timeUnixNano: T0,
      idCase: "upper",
      int64: "number",
    });
    const [l, u] = [allSpans(lower.request), allSpans(upper.request)];
    expect(u.map((s) => s.spanId)).toEqual(l.map((s) => s.spanId?.toUpperCase()));
    expect(u[0]?.traceId).toMatch(/^[0-9A-F]{32}$/);
    expect(typeof u[0]?.startTimeUnixNano).toBe("number");
    expect(u[0]?.startTimeUnixNano).toBe(Number(l[0]?.startTimeUnixNano));
    expect(upper.expectedRows).toBe(lower.expectedRows);
  });

  it("makes negative durations only when asked", () => {
    const neg = (n: number) =>
      allSpans(
        generateTraceRequest({ seed: 9, spansPerMessage: 300, negativeDurationRate: n, timeUnixNano: T0 }),
      ).filter((s) => BigInt(s.endTimeUnixNano as string) < BigInt(s.startTimeUnixNano as string)).length;
    expect(neg(0)).toBe(0);
    expect(neg(0.1)).toBeGreaterThan(0);
  });

  it("handles an empty message and rejects nonsense sizes", () => {
    expect(generateTraceRequest({ spansPerMessage: 0, timeUnixNano: T0 })).toEqual({ resourceSpans: [] });
    expect(() => generateTraceRequest({ spansPerMessage: -1 })).toThrow(RangeError);
    expect(() => generateTraceRequest({ spansPerTrace: 0 })).toThrow(RangeError);
  });
});
