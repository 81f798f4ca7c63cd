/**
 * Peek and test-on-source against the real broker: the newest messages of the source topic, bounded
 * in count and bytes, read without committing (the pipeline's group has no offsets afterwards, and
 * the throwaway group is gone), then run through the sandbox as the worker would.
 */
import { kafkaBrokers, uniqueName } from "@weir/testing";
import { Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, type Harness, seedSpec, startApi } from "./test-helpers.ts";

let h: Harness;
const kafka = new Kafka({
  clientId: "weir-api-peek-test",
  brokers: kafkaBrokers(),
  logLevel: logLevel.NOTHING,
});
const admin = kafka.admin();
const topic = uniqueName("peek_src");
const group = uniqueName("peek_group");
const HANDLER = `export function handler(d: { id: number }, log: any) {
  if (d.id === 27) throw new Error("no 27");
  log.info("seen", { id: d.id });
  return { id: d.id, double: d.id * 2 };
}`;

beforeAll(async () => {
  h = await startApi();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
  const producer = kafka.producer();
  await producer.connect();
  // 30 messages over two partitions, in time order, one of them not UTF-8.
  for (let i = 0; i < 30; i++) {
    const value = i === 29 ? Buffer.from([0xff, 0xfe, 0x00]) : JSON.stringify({ id: i });
    await producer.send({
      topic,
      messages: [{ partition: i % 2, key: `k${i}`, value, timestamp: String(1e12 + i) }],
    });
  }
  await producer.disconnect();
});
afterAll(async () => {
  await h.close();
  await admin.deleteTopics({ topics: [topic] }).catch(() => {});
  await admin.disconnect();
});

const spec = () =>
  seedSpec(uniqueName("peek").replaceAll("_", "-"), {
    source: {
      type: "kafka",
      config: { bootstrap_servers: kafkaBrokers().join(","), topic, group_id: group },
    },
  });

describe("peek", () => {
  it("returns the newest messages across partitions, oldest first, text or base64, and commits nothing", async () => {
    const p = await h.admin.createPipeline(spec());
    const r = await h.admin.peek(p.id, { limit: 5 });
    expect(r.topic).toBe(topic);
    expect(r.truncated).toBe(false);
    expect(r.items.map((m) => m.key)).toEqual(["k25", "k26", "k27", "k28", "k29"]);
    expect(r.items[0]).toMatchObject({ partition: 1, value: '{"id":25}', value_base64: null, size: 9 });
    expect(r.items[4]).toMatchObject({
      value: null,
      value_base64: Buffer.from([0xff, 0xfe, 0x00]).toString("base64"),
    });

    // The byte bound keeps the newest that fit.
    const small = await h.admin.peek(p.id, { limit: 5, maxBytes: 20 });
    expect(small.truncated).toBe(true);
    expect(small.items.map((m) => m.key)).toEqual(["k28", "k29"]);

    // Nothing committed for the pipeline's group, and no throwaway group left behind.
    const offsets = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    expect(offsets[0]!.partitions.every((x) => x.offset === "-1")).toBe(true);
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId);
    expect(groups.filter((g) => g.startsWith("weir-api-dlq-"))).toEqual([]);
  });

  it("refuses bad bounds with the field named, and needs the test:run right", async () => {
    const p = await h.admin.createPipeline(spec());
    await expect(h.admin.peek(p.id, { limit: 101 })).rejects.toMatchObject({
      code: "VALIDATION",
      message: expect.stringContaining("limit"),
      details: expect.objectContaining({ status: 400 }),
    });
    await expect(h.admin.peek(p.id, { maxBytes: 0 })).rejects.toMatchObject({ code: "VALIDATION" });
    const viewer = await h
      .client(ADMIN)
      .createToken({ name: "v", kind: "project", role: "viewer", project: "default" });
    await expect(h.client(viewer.token).peek(p.id)).rejects.toMatchObject({
      details: expect.objectContaining({ status: 403 }),
    });
  });
});

describe("test run on the source", () => {
  it("runs the newest messages through the handler with their partition and offset", async () => {
    const p = await h.admin.createPipeline(spec());
    await h.admin.uploadHandler(p.id, HANDLER);
    const r = await h.admin.testRunOnSource(p.id, 4);
    expect(r.results.map((x) => [x.source?.partition, x.ok])).toEqual([
      [0, true],
      [1, false],
      [0, true],
      [1, false],
    ]);
    expect(r.results[0]).toMatchObject({ rows: [{ id: 26, double: 52 }], source: { offset: "13" } });
    expect(r.results[1]!.error).toMatchObject({ message: expect.stringContaining("no 27") });
    expect(r.results[2]!.logs[0]).toMatchObject({ message: "seen", fields: { id: 28 } });
    expect(r.results[3]!.error?.code).toBeTruthy(); // the non-JSON message fails to decode

    await expect(h.admin.testRun(p.id, [])).rejects.toMatchObject({ code: "VALIDATION" });
    const both = await fetch(`${h.url}/v1/pipelines/${p.id}/test`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
      body: JSON.stringify({ events: [{}], source_last: 2 }),
    });
    expect(both.status).toBe(400);
    expect(await both.json()).toMatchObject({
      error: { code: "VALIDATION", message: expect.stringContaining("either events or source_last") },
    });
  });
});
