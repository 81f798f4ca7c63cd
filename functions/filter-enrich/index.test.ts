/** filter-enrich as a plain function (generated and hand-written payloads), then its rows in ClickHouse. */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient } from "@clickhouse/client";
import type { OtlpKeyValue, OtlpSpan } from "@weir/core";
import { generateTraces } from "@weir/generator";
import { clickhouseUrl, readFixture, uniqueName } from "@weir/testing";
import { installSandboxGlobals, recordingLog } from "@weir/testing/handlers";
import { Session } from "chdb";
import { beforeEach, describe, expect, it } from "vitest";
import { type EnrichedRow, handler, isHealthCheck, type LegacyEnrichedRow, redact } from "./index.ts";

const setEnv = installSandboxGlobals();
beforeEach(() => setEnv({ DEPLOY_ENV: "staging" }));
const migrations = resolve(fileURLToPath(import.meta.url), "../../../migrations/clickhouse");
const str = (key: string, stringValue: string): OtlpKeyValue => ({ key, value: { stringValue } });
const span = (name: string, attributes: OtlpKeyValue[], spanId = "00000000000000a1"): OtlpSpan => ({
  traceId: "000000000000000000000000000000b2",
  spanId,
  name,
  startTimeUnixNano: "1700000000000000000",
  endTimeUnixNano: "1700000000002500000",
  attributes,
});
const message = (spans: OtlpSpan[]) => ({
  resourceSpans: [{ resource: { attributes: [str("service.name", "api")] }, scopeSpans: [{ spans }] }],
});
const run = (data: unknown, log = recordingLog()) => handler(data, log) as EnrichedRow[];

describe("filter-enrich handler", () => {
  it("drops health checks by path attribute or span name, keeps real traffic", () => {
    const spans = [
      span("GET /healthz", []),
      span("probe", [str("url.path", "/ready")]),
      span("probe", [str("http.target", "/health?verbose=1")]),
      span("probe", [str("url.full", "http://10.0.0.1:8080/livez")]),
      span("GET /api/health-report", [str("url.path", "/api/health-report")], "00000000000000c3"),
      span("GET /api/orders", [str("http.route", "/api/orders")], "00000000000000c4"),
    ];
    expect(spans.map(isHealthCheck)).toEqual([true, true, true, true, false, false]);
    const log = recordingLog();
    expect(run(message(spans), log).map((r) => r.span_id)).toEqual(["00000000000000c3", "00000000000000c4"]);
    expect(log.entries.find((e) => e.level === "info")?.fields).toMatchObject({
      spans: 6,
      rows: 2,
      health_checks_dropped: 4,
    });
  });

  it("redacts PII by key and by value pattern, and lists the redacted keys", () => {
    const [row] = run(
      message([
        span("POST /api/pay", [
          str("user.email", "alice@example.com"),
          str("enduser.id", "u-123"),
          str("http.request.header.authorization", "Bearer abc.def"),
          str("app.note", "mail bob@example.org, card 4111 1111 1111 1111, order 1234567890123456"),
          str("app.auth_header", "Basic dXNlcjpwYXNz"),
          { key: "app.sequence", value: { intValue: "4111111111111111" } },
          { key: "app.tags", value: { arrayValue: { values: [{ stringValue: "carol@example.net" }] } } },
          str("http.route", "/api/pay"),
          str("app.customer_name", "Carol"),
        ]),
      ]),
    );
    expect(row?.attributes).toEqual({
      "user.email": "[REDACTED]",
      "enduser.id": "[REDACTED]",
      "http.request.header.authorization": "[REDACTED]",
      "app.note": "mail [REDACTED:email], card [REDACTED:card], order 1234567890123456",
      "app.auth_header": "Basic [REDACTED]",
      "app.sequence": "4111111111111111", // an int, not text: never pattern-redacted
      "app.tags": '["[REDACTED:email]"]',
      "http.route": "/api/pay",
      "app.customer_name": "Carol",
    });
    expect(row?.redacted_keys).toEqual([
      "user.email",
      "enduser.id",
      "http.request.header.authorization",
      "app.note",
      "app.auth_header",
      "app.tags",
    ]);
    expect(redact("x", "4111-1111-1111-1112")).toBe("4111-1111-1111-1112"); // fails Luhn
  });

  it("takes deploy_env and extra redaction keys from env, warning once when DEPLOY_ENV is missing", () => {
    setEnv({ DEPLOY_ENV: "prod-eu", REDACT_KEYS: "app.customer_name, app.address" });
    const data = message([
      span("GET /a", [str("app.customer_name", "Carol"), str("app.address", "1 Main St")]),
    ]);
    const [row] = run(data);
    expect(row).toMatchObject({
      deploy_env: "prod-eu",
      attributes: { "app.customer_name": "[REDACTED]", "app.address": "[REDACTED]" },
    });
    setEnv({});
    const first = recordingLog();
    const second = recordingLog();
    expect(run(data, first)[0]?.deploy_env).toBe("unknown");
    run(data, second);
    expect(first.entries.filter((e) => e.level === "warn")).toHaveLength(1);
    expect(second.entries.filter((e) => e.level === "warn")).toHaveLength(0);
  });

  it("keeps the article's row fields for the official fixture", () => {
    expect(run(JSON.parse(readFixture("otlp/trace.json")))).toEqual([
      {
        timestamp: "2018-12-13 14:51:00.000000",
        trace_id: "5b8efff798038103d269b633813fc60c",
        span_id: "eee19b7ec3c1b174",
        parent_span_id: "eee19b7ec3c1b173",
        service_name: "my.service",
        span_name: "I'm a server span",
        duration_ms: 1000,
        status_code: "UNSET",
        attributes: { "my.span.attr": "some value" },
        redacted_keys: [],
        deploy_env: "staging",
      },
    ]);
  });

  it("on generated traffic: no health checks or emails survive, every other span does", () => {
    const g = generateTraces({
      seed: 17,
      spansPerMessage: 1000,
      healthCheckRate: 0.1,
      piiRate: 0.5,
      timeUnixNano: 1_700_000_000_000_000_000n,
    });
    const rows = run(JSON.parse(JSON.stringify(g.request)));
    const spans = (g.request.resourceSpans ?? []).flatMap((rs) =>
      (rs.scopeSpans ?? []).flatMap((ss) => ss.spans ?? []),
    );
    const health = spans.filter(isHealthCheck).length;
    expect(health).toBeGreaterThan(0);
    expect(rows).toHaveLength(spans.length - health);
    const text = JSON.stringify(rows);
    expect(text).not.toMatch(/@example\.com/);
    expect(text).not.toMatch(/4111 1111 1111 1111/);
    expect(text).not.toMatch(/"\/healthz?"/);
    expect(rows.some((r) => r.redacted_keys.includes("user.email"))).toBe(true);
  });
});

describe("filter-enrich rows in ClickHouse", () => {
  const data = () =>
    message([
      span("GET /a", [str("user.email", "a@b.co"), str("http.route", "/a")]),
      span("GET /healthz", []),
    ]);

  it("inserts into otel_spans_enriched on chdb", () => {
    const dir = mkdtempSync(join(tmpdir(), "weir-fn-enrich-"));
    const session = new Session(dir);
    try {
      session.query(readFileSync(join(migrations, "003_otel_spans_enriched.sql"), "utf8"));
      const rows = run(data());
      session.query(
        `INSERT INTO otel_spans_enriched FORMAT JSONEachRow\n${rows.map((r) => JSON.stringify(r)).join("\n")}`,
      );
      const back = session.query(
        "SELECT deploy_env, attributes['user.email'] AS email, redacted_keys, toString(timestamp) AS ts FROM otel_spans_enriched",
        "JSONEachRow",
      );
      expect(JSON.parse(back)).toEqual({
        deploy_env: "staging",
        email: "[REDACTED]",
        redacted_keys: ["user.email"],
        ts: "2023-11-14 22:13:20.000000",
      });
    } finally {
      session.cleanup();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("inserts the legacy shape into clickhouse-server 18.16", async () => {
    const client = createClient({ url: clickhouseUrl() });
    const table = uniqueName("otel_spans_enriched_legacy");
    try {
      const ddl = readFileSync(join(migrations, "legacy/003_otel_spans_enriched.sql"), "utf8");
      await client.command({ query: ddl.replace(/otel_spans_enriched/g, table) });
      setEnv({ DEPLOY_ENV: "staging", WEIR_TABLE_FLAVOR: "legacy" });
      const rows = handler(data(), recordingLog()) as LegacyEnrichedRow[];
      await client.insert({ table, values: rows, format: "JSONEachRow" });
      const result = await client.query({
        query: `SELECT deploy_env, attributes_values[indexOf(attributes_keys, 'user.email')] AS email, redacted_keys FROM ${table}`,
        format: "JSONEachRow",
      });
      expect(await result.json()).toEqual([
        { deploy_env: "staging", email: "[REDACTED]", redacted_keys: ["user.email"] },
      ]);
    } finally {
      await client.command({ query: `DROP TABLE IF EXISTS ${table}` });
      await client.close();
    }
  });
});
