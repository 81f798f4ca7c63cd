/**
 * The handler in the sandbox Weir runs in production (@weir/sdk/testing bundles src/index.ts with
 * src/otlp.ts as `weir handler upload` does and loads it into an isolated-vm isolate with the
 * pipeline's limits), on samples.ndjson and on a span written here. Run with `npm test`
 * (node --no-node-snapshot --test).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { OtlpExportTraceServiceRequest } from "@weir/sdk";
import { readSamples, runHandler } from "@weir/sdk/testing";

const entry = new URL("./index.ts", import.meta.url);
const samples = readSamples(new URL("../samples.ndjson", import.meta.url));
const env = { WEIR_TABLE_FLAVOR: "modern", DEPLOY_ENV: "production", REDACT_KEYS: "app.customer_name" };

test("health checks are dropped, PII redacted, deploy_env added", async () => {
  const results = await runHandler(entry, samples, { raw: true, env });
  for (const r of results) assert.equal(r.ok, true, r.error?.message);
  const rows = results.flatMap((r) => r.rows);
  // GET /healthz is gone; the 0.4 ms span stays (durations are otel-traces' business).
  assert.deepEqual(
    rows.map((r) => r.span_name),
    ["POST /api/checkout", "charge card", "cache get", "GET /products"],
  );
  assert.deepEqual(
    rows.map((r) => r.redacted_keys),
    [["user.email"], [], [], ["http.request.header.authorization"]],
  );
  assert.deepEqual(rows[0]?.attributes, {
    "http.request.method": "POST",
    "url.path": "/api/checkout",
    "http.response.status_code": "200",
    "user.email": "[REDACTED]",
  });
  assert.ok(rows.every((r) => r.deploy_env === "production"));
  assert.deepEqual(results[1]?.logs[0]?.fields, {
    spans: 2,
    rows: 1,
    health_checks_dropped: 1,
    values_redacted: 1,
  });
});

test("REDACT_KEYS and value patterns: a listed key and an email inside free text", async () => {
  const request: OtlpExportTraceServiceRequest = {
    resourceSpans: [
      {
        resource: { attributes: [{ key: "service.name", value: { stringValue: "crm" } }] },
        scopeSpans: [
          {
            spans: [
              {
                traceId: "0af7651916cd43dd8448eb211c80319c",
                spanId: "00f067aa0ba902b7",
                name: "update customer",
                startTimeUnixNano: "1700000000000000000",
                endTimeUnixNano: "1700000000005000000",
                attributes: [
                  { key: "app.customer_name", value: { stringValue: "Ada Lovelace" } },
                  { key: "app.note", value: { stringValue: "mail ada@example.com back" } },
                ],
              },
            ],
          },
        ],
      },
    ],
  };
  const [r] = await runHandler(entry, [request], { env });
  assert.deepEqual(r?.rows[0]?.attributes, {
    "app.customer_name": "[REDACTED]",
    "app.note": "mail [REDACTED:email] back",
  });
  assert.deepEqual(r?.rows[0]?.redacted_keys, ["app.customer_name", "app.note"]);
});

test("without DEPLOY_ENV, deploy_env is 'unknown' and the handler warns", async () => {
  const [r] = await runHandler(entry, samples.slice(0, 1), { raw: true });
  assert.equal(r?.rows[0]?.deploy_env, "unknown");
  assert.ok(r?.logs.some((l) => l.level === "warn" && l.message.includes("DEPLOY_ENV is not set")));
});
