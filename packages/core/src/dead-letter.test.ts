import { describe, expect, it } from "vitest";
import { parsePipelineSpec } from "./spec.ts";

const base = {
  name: "p",
  source: { type: "kafka", config: { bootstrap_servers: "127.0.0.1:9092", topic: "in" } },
  sink: { type: "webhook", config: { url: "http://127.0.0.1:1/x" } },
};

describe("dead_letter.compression", () => {
  it.each(["none", "gzip", "snappy", "lz4", "zstd"])("accepts %s", (compression) => {
    const r = parsePipelineSpec({ ...base, dead_letter: { type: "kafka", topic: "in.dlq", compression } });
    expect(r.ok && r.spec.dead_letter).toEqual({ type: "kafka", topic: "in.dlq", compression });
  });

  it("is absent (none) by default, so stored specs read back unchanged", () => {
    const r = parsePipelineSpec(base);
    expect(r.ok && r.spec.dead_letter).toEqual({ type: "kafka", topic: "in.dlq" });
  });

  it("rejects an unknown codec with the field's path", () => {
    const r = parsePipelineSpec({
      ...base,
      dead_letter: { type: "kafka", topic: "in.dlq", compression: "brotli" },
    });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues.map((i) => i.path)).toContain("/dead_letter/compression");
  });
});
