/**
 * The handler in the sandbox Weir runs in production (@weir/sdk/testing bundles src/index.ts with
 * src/otlp.ts as `weir handler upload` does and loads it into an isolated-vm isolate with the
 * pipeline's limits), on samples.ndjson. Run with `npm test` (node --no-node-snapshot --test).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { readSamples, runHandler } from "@weir/sdk/testing";

const entry = new URL("./index.ts", import.meta.url);
const samples = readSamples(new URL("../samples.ndjson", import.meta.url));

test("every log record becomes a row", async () => {
  const results = await runHandler(entry, samples, { raw: true, env: { WEIR_TABLE_FLAVOR: "modern" } });
  for (const r of results) assert.equal(r.ok, true, r.error?.message);
  const rows = results.flatMap((r) => r.rows);
  assert.deepEqual(
    rows.map((r) => [r.service_name, r.severity_text, r.body]),
    [
      ["checkout", "INFO", "order placed"],
      // No severityText: derived from severityNumber 17; a structured body is written as JSON.
      ["checkout", "ERROR", '{"error":"card declined","code":402}'],
      ["frontend", "warning", "slow response"],
    ],
  );
  assert.deepEqual(rows[0], {
    timestamp: "2023-11-14 22:13:20.123456",
    observed_timestamp: "2023-11-14 22:13:20.200000",
    severity_text: "INFO",
    severity_number: 9,
    body: "order placed",
    service_name: "checkout",
    scope_name: "checkout.orders",
    trace_id: "5b8efff798038103d269b633813fc60c",
    span_id: "eee19b7ec3c1b174",
    attributes: { "order.id": "A-1001", items: "3" },
  });
  // Upper-case hex ids are lower-cased; a record without a time takes its observed time.
  assert.equal(rows[1]?.trace_id, "5b8efff798038103d269b633813fc60c");
  assert.equal(rows[2]?.timestamp, "2023-11-14 22:14:21.000000");
});

test("WEIR_TABLE_FLAVOR=legacy writes the ClickHouse 18.16 shape", async () => {
  const [first] = await runHandler(entry, samples.slice(0, 1), {
    raw: true,
    env: { WEIR_TABLE_FLAVOR: "legacy" },
  });
  assert.equal(first?.rows[0]?.timestamp, "2023-11-14 22:13:20");
  assert.equal(first?.rows[0]?.timestamp_us, 123456);
  assert.deepEqual(first?.rows[0]?.attributes_keys, ["order.id", "items"]);
  assert.deepEqual(first?.rows[0]?.attributes_values, ["A-1001", "3"]);
});

test("a message that is not a logs request fails, with the stack in src/index.ts", async () => {
  const [r] = await runHandler(entry, ["not a request"]);
  assert.equal(r?.ok, false);
  assert.equal(r?.error?.code, "HANDLER_ERROR");
  assert.match(r?.error?.message ?? "", /expected an OTLP ExportLogsServiceRequest object/);
  assert.match(r?.error?.stack ?? "", /index\.ts:\d+:\d+/);
});
