import { describe, expect, it } from "vitest";
import { computeFloor } from "./compute.ts";
import { benchMessage } from "./data.ts";
import { transformToNdjson } from "./handler.ts";
import { percentile, summarize, sustainedRate } from "./stats.ts";

const spec = { seed: 7, spansPerMessage: 20, baseTimeUnixNano: "1767225600000000000" };

describe("bench pieces", () => {
  it("rebuilds byte-identical messages from (spec, index)", () => {
    const a = benchMessage(spec, 3);
    expect(benchMessage(spec, 3)).toEqual(a);
    expect(benchMessage(spec, 4).value).not.toBe(a.value);
    expect(a.spans).toBe(20);
  });

  it("the plain transform writes the rows the generator expects, as legacy-table NDJSON", () => {
    const m = benchMessage(spec, 0);
    const out = transformToNdjson(m.value);
    expect(out.rows).toBe(m.expectedRows);
    const row = JSON.parse(out.text.split("\n")[0]!) as Record<string, unknown>;
    expect(Object.keys(row)).toContain("attributes_keys");
    expect(row.timestamp).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  });

  it("computes the compute floor over a tiny N", () => {
    const r = computeFloor(spec, 5, 2);
    expect(r.messages).toBe(5);
    expect(r.rows).toBeGreaterThan(0);
    expect(r.cpuSeconds).toBeGreaterThan(0);
    expect(r.parseCpuSeconds).toBeGreaterThan(0);
    expect(r.stringifyCpuSeconds).toBeGreaterThan(0);
  });

  it("percentiles are nearest-rank over every message", () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(xs, 50)).toBe(50);
    expect(percentile(xs, 99)).toBe(99);
    expect(summarize(xs.reverse())).toMatchObject({ messages: 100, p50: 50, p95: 95, p99: 99, max: 100 });
  });

  it("the sustained rate ignores the start-up before the 10% mark", () => {
    // 10 s of join with nothing written, then 1000 rows/s.
    const log: [number, number][] = [];
    for (let s = 0; s <= 10; s++) log.push([10_000 + s * 1000, s * 1000]);
    expect(sustainedRate(log)).toBe(1000);
  });
});
