/**
 * The otlp_proto formats: OTLP protobuf requests decoded inside the isolate by @weir/otlp's decoder
 * script, giving the handler the same object as the otlp_json encoding of the same data.
 */
import { generateTraces } from "@weir/generator";
import { encodeLogs, encodeTraces, normalise } from "@weir/otlp/testing";
import { afterEach, describe, expect, it } from "vitest";
import { rowsOf, sandboxFor } from "./test-helpers.ts";
import type { Sandbox } from "./types.ts";

const open: Sandbox[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.dispose();
});

// Echo the decoded request back as one row, so the test sees exactly what the handler received.
const ECHO = `export function handler(data: unknown) { return { data: JSON.stringify(data) }; }`;

function echoed(rows: unknown[]): unknown {
  return JSON.parse((rows[0] as { data: string }).data);
}

describe("otlp_proto messages", () => {
  it("hand the handler the otlp_json object of the same traces", async () => {
    const { request } = generateTraces({ seed: 7, spansPerMessage: 40 });
    const json = JSON.parse(JSON.stringify(request));
    const s = await sandboxFor(ECHO, { format: "otlp_proto_traces" });
    open.push(s);
    const [viaProto] = await s.runBatch([{ value: encodeTraces(json) }]);
    const [viaJson] = await s.runBatch([{ value: JSON.stringify(json), meta: { format: "json" } }]);
    const decoded = echoed(rowsOf(viaProto!));
    expect(decoded).toEqual(normalise(json));
    // The generator writes Collector-style JSON, so both encodings give the handler one object.
    expect(decoded).toEqual(echoed(rowsOf(viaJson!)));
  });

  it("decodes logs requests with signal logs", async () => {
    const logs = {
      resourceLogs: [
        {
          resource: { attributes: [{ key: "service.name", value: { stringValue: "checkout" } }] },
          scopeLogs: [
            {
              scope: { name: "app" },
              logRecords: [
                {
                  timeUnixNano: "1700000000000000123",
                  observedTimeUnixNano: "1700000000000000456",
                  severityNumber: 9,
                  severityText: "INFO",
                  body: { stringValue: "paid" },
                  attributes: [{ key: "amount", value: { intValue: "9007199254740993" } }],
                  traceId: "5b8efff798038103d269b633813fc60c",
                  spanId: "eee19b7ec3c1b174",
                },
              ],
            },
          ],
        },
      ],
    };
    const s = await sandboxFor(ECHO, { format: "otlp_proto_logs" });
    open.push(s);
    const [r] = await s.runBatch([{ value: encodeLogs(logs) }]);
    expect(echoed(rowsOf(r!))).toEqual(normalise(logs));
  });

  it("dead-letters malformed bytes as DECODE_ERROR and goes on with the next message", async () => {
    const { request } = generateTraces({ seed: 9, spansPerMessage: 5 });
    const good = encodeTraces(JSON.parse(JSON.stringify(request)));
    const s = await sandboxFor(
      `export function handler(d: { resourceSpans: unknown[] }) { return { n: d.resourceSpans.length }; }`,
      {
        format: "otlp_proto_traces",
      },
    );
    open.push(s);
    const results = await s.runBatch([
      { value: good.subarray(0, good.length - 7).slice() },
      { value: new TextEncoder().encode('{"resourceSpans":[]}') },
      { value: good },
    ]);
    expect(results[0]).toMatchObject({ ok: false, error: { code: "DECODE_ERROR" } });
    expect(results[1]).toMatchObject({ ok: false, error: { code: "DECODE_ERROR" } });
    expect(rowsOf(results[2]!)).toEqual([{ n: request.resourceSpans?.length }]);
  });

  it("keeps the decoder out of the handler's reach", async () => {
    const s = await sandboxFor(
      `export function handler() { return { otlp: typeof (globalThis as any).__weirOtlp }; }`,
      { format: "otlp_proto_traces" },
    );
    open.push(s);
    const [r] = await s.runBatch([{ value: encodeTraces({ resourceSpans: [] }) }]);
    expect(rowsOf(r!)).toEqual([{ otlp: "undefined" }]);
  });
});
