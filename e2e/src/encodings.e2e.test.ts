/**
 * One handler serves both encodings: the same traces and logs, exported by the real Collector as
 * otlp_json and as otlp_proto (two Kafka exporters on one pipeline), decode to the same object, and
 * functions/otel-traces and functions/otel-logs turn them into byte-identical rows.
 */
import { createKafka } from "@weir/connectors";
import { handler as logsHandler } from "@weir/fn-otel-logs";
import { handler as tracesHandler } from "@weir/fn-otel-traces";
import { generateTraces } from "@weir/generator";
import { decodeLogs, decodeTraces } from "@weir/otlp";
import { encodeLogs, encodeTraces } from "@weir/otlp/testing";
import { kafkaBrokers, otlpGrpcClient, startCollector, uniqueName, waitFor } from "@weir/testing";
import { installSandboxGlobals, recordingLog } from "@weir/testing/handlers";
import { describe, expect, it } from "vitest";

const setEnv = installSandboxGlobals();

/** Every message value of a topic (zstd batches decoded by Weir's Kafka module). */
async function readTopic(topic: string, count: number): Promise<Buffer[]> {
  const kafka = createKafka({ clientId: "weir-e2e-encodings", brokers: kafkaBrokers() });
  const consumer = kafka.consumer({ groupId: uniqueName("e2e-enc") });
  const values: Buffer[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        if (message.value) values.push(message.value);
      },
    });
    await waitFor(async () => values.length >= count, { what: `${count} messages on ${topic}` });
  } finally {
    await consumer.disconnect();
  }
  return values;
}

const LOGS = {
  resourceLogs: [
    {
      resource: { attributes: [{ key: "service.name", value: { stringValue: "checkout" } }] },
      scopeLogs: [
        {
          scope: { name: "payments", version: "1.2.0" },
          logRecords: [
            {
              timeUnixNano: "1700000000123456789",
              observedTimeUnixNano: "1700000000223456789",
              severityNumber: 17,
              severityText: "ERROR",
              body: { kvlistValue: { values: [{ key: "event", value: { stringValue: "declined" } }] } },
              attributes: [
                { key: "amount", value: { doubleValue: 12.5 } },
                { key: "retry", value: { boolValue: true } },
                { key: "id", value: { intValue: "-9007199254740993" } },
                { key: "raw", value: { bytesValue: "AQID" } },
                { key: "tags", value: { arrayValue: { values: [{ stringValue: "a" }, { intValue: "2" }] } } },
              ],
              traceId: "5b8efff798038103d269b633813fc60c",
              spanId: "eee19b7ec3c1b174",
              flags: 1,
            },
            { observedTimeUnixNano: "1700000000000000001", body: { stringValue: "no time" } },
          ],
        },
      ],
    },
  ],
};

describe("the Collector's otlp_json and otlp_proto of the same data", () => {
  it("decode to the same object and give byte-identical rows", async () => {
    const t = { json: uniqueName("enc_traces_json"), proto: uniqueName("enc_traces_proto") };
    const l = { json: uniqueName("enc_logs_json"), proto: uniqueName("enc_logs_proto") };
    const kafka = (traces: string, logs: string, encoding: string) => ({
      brokers: kafkaBrokers(),
      producer: { compression: "zstd" },
      traces: { topic: traces, encoding },
      logs: { topic: logs, encoding },
    });
    const collector = await startCollector({
      name: "e2e-encodings",
      config: (endpoints) => ({
        receivers: { otlp: { protocols: { grpc: { endpoint: endpoints.grpc } } } },
        // One request per Kafka message: no batch processor, so both exporters see the same requests.
        exporters: {
          "kafka/json": kafka(t.json, l.json, "otlp_json"),
          "kafka/proto": kafka(t.proto, l.proto, "otlp_proto"),
        },
        service: {
          telemetry: { metrics: { level: "none" } },
          pipelines: {
            traces: { receivers: ["otlp"], exporters: ["kafka/json", "kafka/proto"] },
            logs: { receivers: ["otlp"], exporters: ["kafka/json", "kafka/proto"] },
          },
        },
      }),
    });
    const requests = Array.from(
      { length: 3 },
      (_, k) => generateTraces({ seed: 70_000 + k, spansPerMessage: 30, idCase: "upper" }).request,
    );
    const otlp = otlpGrpcClient(collector.grpcEndpoint);
    try {
      for (const r of requests) await otlp.export("traces", encodeTraces(JSON.parse(JSON.stringify(r))));
      await otlp.export("logs", encodeLogs(LOGS));
    } finally {
      otlp.close();
      expect(await collector.stop()).toBe(0);
    }

    const [tracesJson, tracesProto, logsJson, logsProto] = await Promise.all([
      readTopic(t.json, requests.length),
      readTopic(t.proto, requests.length),
      readTopic(l.json, 1),
      readTopic(l.proto, 1),
    ]);
    const sortKey = (o: unknown) => JSON.stringify(o);
    const fromJson = tracesJson.map((v) => JSON.parse(v.toString("utf8")));
    const fromProto = tracesProto.map((v) => decodeTraces(v));
    // Same requests, perhaps in another order across the exporters' partitions.
    expect(fromProto.map(sortKey).sort()).toEqual(fromJson.map(sortKey).sort());
    expect(decodeLogs(logsProto[0]!)).toEqual(JSON.parse(logsJson[0]!.toString("utf8")));

    for (const flavor of ["modern", "legacy"]) {
      setEnv({ WEIR_TABLE_FLAVOR: flavor });
      const rows = (msgs: unknown[], h: (d: never, log: never) => unknown) =>
        msgs
          .map((m) => JSON.stringify(h(m as never, recordingLog() as never)))
          .sort()
          .join("\n");
      const tracesRows = rows(fromJson, tracesHandler);
      expect(tracesRows.length).toBeGreaterThan(1000);
      expect(rows(fromProto, tracesHandler)).toBe(tracesRows);
      expect(rows([decodeLogs(logsProto[0]!)], logsHandler)).toBe(
        rows([JSON.parse(logsJson[0]!.toString("utf8"))], logsHandler),
      );
    }
  });
});
