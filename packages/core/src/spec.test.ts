import { describe, expect, it } from "vitest";
import { REDACTED, redact } from "./secret.ts";
import { brokerList, parsePipelineSpec } from "./spec.ts";

/** The seed article's pipeline, minus space_id, exactly as written there. */
const SEED = {
  name: "otel-traces-to-clickhouse",
  source: {
    type: "kafka",
    config: {
      bootstrap_servers: "kafka:9092",
      topic: "otel-traces-raw",
      group_id: "glassflow-otel-processor",
      auto_offset_reset: "earliest",
    },
  },
  sink: {
    type: "webhook",
    config: {
      url: "http://clickhouse:8123/",
      method: "POST",
      headers: { "X-ClickHouse-Database": "default", "X-ClickHouse-Format": "JSONEachRow" },
    },
  },
};

describe("parsePipelineSpec", () => {
  it("accepts the seed article's pipeline as written and fills in defaults", () => {
    const r = parsePipelineSpec(SEED);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.spec.source.config.format).toBe("json");
    expect(r.spec.sink.type).toBe("webhook");
    expect(r.spec.sink.config).toMatchObject({
      method: "POST",
      format: "json",
      timeout_ms: 10_000,
      max_batch_rows: 10_000,
    });
    expect(r.spec.limits).toEqual({
      memory_mb: 128,
      timeout_ms: 1000,
      max_output_bytes: 8 * 1024 * 1024,
      log_lines_per_second: 100,
      max_log_line_bytes: 8192,
    });
    expect(r.spec.retry).toEqual({ max_attempts: 8, initial_backoff_ms: 200, max_backoff_ms: 30_000 });
    expect(r.spec.dead_letter).toEqual({ type: "kafka", topic: "otel-traces-raw.dlq" });
    expect(brokerList(r.spec.source.config)).toEqual(["kafka:9092"]);
  });

  it("names the field and the reason for each problem", () => {
    const r = parsePipelineSpec({
      ...SEED,
      space_id: "x",
      source: { type: "kafka", config: { topic: "t" } },
      sink: { type: "s3", config: {} },
      limits: { memory_mb: "lots" },
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const paths = r.issues.map((i) => i.path);
    expect(paths).toContain("/space_id");
    expect(paths).toContain("/source/config/bootstrap_servers");
    expect(paths).toContain("/sink/type");
    expect(paths).toContain("/limits/memory_mb");
    expect(r.issues.find((i) => i.path === "/sink/type")?.message).toMatch(/unknown connector type "s3"/);
  });

  it("rejects non-objects and typos in connector config", () => {
    expect(parsePipelineSpec("nope")).toEqual({
      ok: false,
      issues: [{ path: "", message: "must be a JSON object" }],
    });
    const r = parsePipelineSpec({
      ...SEED,
      sink: { type: "clickhouse", config: { url: "http://x:8123", tabel: "t" } },
    });
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.issues.map((i) => i.path)).toEqual(
        expect.arrayContaining(["/sink/config/table", "/sink/config/tabel"]),
      );
  });
});

describe("redact", () => {
  it("hides secret-marked values and secret keys at any depth", () => {
    const out = redact({
      sink: {
        config: {
          password: "p",
          headers: { Authorization: "Bearer t", "X-Other": { secret: "s" }, Accept: "a" },
        },
      },
      source: { config: { sasl: { username: "u", password: { secret: "sp" } } } },
    });
    expect(out).toEqual({
      sink: {
        config: {
          password: REDACTED,
          headers: { Authorization: REDACTED, "X-Other": REDACTED, Accept: "a" },
        },
      },
      source: { config: { sasl: { username: "u", password: REDACTED } } },
    });
  });
});
