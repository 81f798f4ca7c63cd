import { parsePipelineSpec } from "@weir/core";
import { describe, expect, it } from "vitest";
import { createSink, SINK_TYPES } from "./registry.ts";
import { batchLimits, dedupToken } from "./types.ts";

function spec(sink: unknown) {
  const r = parsePipelineSpec({
    name: "p",
    source: { type: "kafka", config: { bootstrap_servers: "127.0.0.1:9092", topic: "t" } },
    sink,
  });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.spec;
}

describe("createSink", () => {
  it("builds every registered type from a parsed spec", async () => {
    const sinks = [
      spec({ type: "clickhouse", config: { url: "http://127.0.0.1:8123", table: "t" } }),
      spec({ type: "webhook", config: { url: "http://127.0.0.1:1/x" } }),
      spec({ type: "embedded-clickhouse", config: { path: "/tmp/never-opened", table: "t" } }),
    ].map((s) => createSink(s.sink, { pipelineId: "p" }));
    expect(sinks.map((s) => s.type)).toEqual(SINK_TYPES);
    for (const s of sinks) await s.close(); // closing a never-connected sink is fine
  });

  it("refuses an unknown type", () => {
    expect(() => createSink({ type: "kafka" } as never, { pipelineId: "p" })).toThrow(
      expect.objectContaining({ code: "VALIDATION" }),
    );
  });
});

describe("batchLimits and dedupToken", () => {
  it("reads the bounds with their defaults", () => {
    const s = spec({ type: "webhook", config: { url: "http://x", max_batch_rows: 500 } });
    expect(batchLimits(s.sink)).toEqual({ maxRows: 500, maxBytes: 16 * 1024 * 1024, maxWaitMs: 1000 });
  });

  it("builds the token from pipeline, topic, partition and offset range", () => {
    expect(
      dedupToken({ pipelineId: "p1", topic: "otel", partition: 4, firstOffset: "10", lastOffset: "19" }),
    ).toBe("p1-otel-4-10-19");
  });
});
