/**
 * The handler in the sandbox Weir runs in production (@weir/sdk/testing bundles src/index.ts with
 * src/otlp.ts as `weir handler upload` does and loads it into an isolated-vm isolate with the
 * pipeline's limits), on samples.ndjson. Run with `npm test` (node --no-node-snapshot --test).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { readSamples, runHandler } from "@weir/sdk/testing";

const entry = new URL("./index.ts", import.meta.url);
const samples = readSamples(new URL("../samples.ndjson", import.meta.url));
const md5 = (text: string) => createHash("md5").update(text).digest("hex");

test("every span of at least 1 ms becomes a row", async () => {
  const results = await runHandler(entry, samples, { raw: true, env: { WEIR_TABLE_FLAVOR: "modern" } });
  for (const r of results) assert.equal(r.ok, true, r.error?.message);
  const rows = results.flatMap((r) => r.rows);
  assert.deepEqual(
    rows.map((r) => [r.span_name, r.duration_ms, r.status_code]),
    [
      ["POST /api/checkout", 125.5, "OK"],
      ["charge card", 80.25, "ERROR"],
      ["GET /healthz", 2, "UNSET"],
      ["GET /products", 15, "UNSET"],
    ],
  );
  assert.deepEqual(rows[1], {
    timestamp: "2023-11-14 22:13:20.010000",
    trace_id: "5b8efff798038103d269b633813fc60c",
    span_id: "eee19b7ec3c1b175",
    parent_span_id: "eee19b7ec3c1b174",
    service_name: "checkout",
    span_name: "charge card",
    duration_ms: 80.25,
    status_code: "ERROR",
    attributes: { "payment.provider": "acme", "payment.amount": "42.5", retry: "false" },
    fingerprint: md5("5b8efff798038103d269b633813fc60c" + "eee19b7ec3c1b175"),
  });
});

test("a span shorter than 1 ms is dropped and counted in the log line", async () => {
  const [first] = await runHandler(entry, samples.slice(0, 1), { raw: true });
  assert.deepEqual(
    first?.logs.map((l) => [l.level, l.message, l.fields]),
    [["info", "otel-traces: 3 spans -> 2 rows", { spans: 3, rows: 2, dropped_short: 1 }]],
  );
});

test("WEIR_TABLE_FLAVOR=legacy writes the ClickHouse 18.16 shape", async () => {
  const [first] = await runHandler(entry, samples.slice(0, 1), {
    raw: true,
    env: { WEIR_TABLE_FLAVOR: "legacy" },
  });
  assert.deepEqual(first?.rows[0], {
    trace_id: "5b8efff798038103d269b633813fc60c",
    span_id: "eee19b7ec3c1b174",
    parent_span_id: "",
    service_name: "checkout",
    span_name: "POST /api/checkout",
    duration_ms: 125.5,
    status_code: "OK",
    fingerprint: md5("5b8efff798038103d269b633813fc60c" + "eee19b7ec3c1b174"),
    timestamp: "2023-11-14 22:13:20",
    timestamp_us: 0,
    attributes_keys: ["http.request.method", "url.path", "http.response.status_code", "user.email"],
    attributes_values: ["POST", "/api/checkout", "200", "ada@example.com"],
  });
});

test("a message that is not a trace request fails, with the stack in src/index.ts", async () => {
  const [r] = await runHandler(entry, [[1, 2]]);
  assert.equal(r?.ok, false);
  assert.equal(r?.error?.code, "HANDLER_ERROR");
  assert.match(r?.error?.message ?? "", /expected an OTLP ExportTraceServiceRequest object/);
  assert.match(r?.error?.stack ?? "", /index\.ts:\d+:\d+/);
});
