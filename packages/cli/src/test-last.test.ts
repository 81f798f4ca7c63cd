/** `weir test <pipeline> --last <n>`: the newest messages of the real source topic through the handler. */
import { type ApiProcess, kafkaBrokers, startApi, uniqueName } from "@weir/testing";
import { Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Cli, cliFor, specFor } from "./test-helpers.ts";

let api: ApiProcess;
let cli: Cli;
const kafka = new Kafka({ clientId: "weir-cli-test", brokers: kafkaBrokers(), logLevel: logLevel.NOTHING });
const topic = uniqueName("cli_last");

beforeAll(async () => {
  api = await startApi();
  cli = cliFor(api);
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: [1, 2, 3].map((n) => ({ value: JSON.stringify({ n }) })) });
  await producer.disconnect();
  const spec = specFor("cli-last", {
    source: { type: "kafka", config: { bootstrap_servers: kafkaBrokers().join(","), topic } },
  });
  cli.file("p.json", JSON.stringify(spec));
  expect((await cli(["pipelines", "create", "-f", "p.json"])).code).toBe(0);
  cli.file("h.ts", "export function handler(d: { n: number }) { return { n: d.n, sq: d.n * d.n }; }\n");
  expect((await cli(["handler", "upload", "cli-last", "h.ts"])).code).toBe(0);
});
afterAll(async () => {
  await api?.kill();
});

it("runs the newest messages of the source topic and says where each came from", async () => {
  const r = await cli(["test", "cli-last", "--last", "2"]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^#0 \(partition 0 offset 1\) ok {2}1 row/m);
  expect(r.stdout).toContain('row {"n":3,"sq":9}');
  expect(r.stdout).toMatch(/2 events with version 1: 2 ok, 0 failed, 2 rows/);

  const both = await cli(["test", "cli-last", "p.json", "--last", "2"]);
  expect(both.code).toBe(2);
  expect(both.stderr).toContain("give a <sample> file or --last <n>");
  const many = await cli(["test", "cli-last", "--last", "101"]);
  expect(many.stderr).toContain("--last: at most 100 messages");
});
