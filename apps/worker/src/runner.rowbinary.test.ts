/**
 * The runner with a ClickHouse sink that inserts RowBinary (format auto on a table whose columns the
 * encoder knows): rows are encoded in the sandbox for the column list the sink planned at connect, a
 * row that does not fit the table fails its message alone (stage handler, HANDLER_OUTPUT) and the
 * table holds what JSONEachRow would have given it.
 */
import { DLQ_HEADER } from "@weir/core";
import { waitFor } from "@weir/testing";
import { afterAll, describe, expect, it } from "vitest";
import { PipelineRunner } from "./runner.ts";
import {
  ch,
  clickhouseSink,
  createTable,
  createTopic,
  desiredPipeline,
  kafka,
  produce,
  testDeps,
} from "./test-support.ts";

const runners: PipelineRunner[] = [];
const admin = kafka.admin();
afterAll(async () => {
  await Promise.allSettled(runners.map((r) => r.stop(2000)));
  await admin.disconnect();
  await ch.close();
});

async function committed(groupId: string, topic: string): Promise<number> {
  await admin.connect();
  const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
  return offsets[0]!.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
}

async function dump(table: string): Promise<string> {
  return (await ch.query({ query: `SELECT * FROM ${table} ORDER BY id, v`, format: "TabSeparated" })).text();
}

const MESSAGES = [
  { id: 1, v: "ok" },
  { id: "not-a-number", v: "refused by the encoder" },
  { id: 2, v: "ünï €" },
  { id: 3, drop: true },
  { id: "18446744073709551615" },
];

async function run(format: "auto" | "JSONEachRow", messages: object[]) {
  const topic = await createTopic(1);
  const table = await createTable();
  await produce(topic, messages);
  const desired = await desiredPipeline({ topic, sink: clickhouseSink(table, { format }) });
  const deps = testDeps();
  const runner = new PipelineRunner(desired, deps);
  runners.push(runner);
  runner.start();
  await waitFor(async () => (await committed(`weir-${desired.id}`, topic)) === messages.length, {
    what: `${messages.length} committed`,
  });
  await runner.stop();
  return { table, desired, runner, deps };
}

describe("pipeline runner, RowBinary inserts", () => {
  it("lands the rows JSONEachRow lands; a row that does not fit goes to the DLQ from the handler stage", async () => {
    const rb = await run("auto", MESSAGES);
    const json = await run("JSONEachRow", MESSAGES);
    expect(await dump(rb.table)).toBe(await dump(json.table));
    expect(await dump(rb.table)).toBe("1\tok\n2\tünï €\n18446744073709551615\t\n");

    const consumer = kafka.consumer({ groupId: `${rb.desired.id}-dlq-reader` });
    const records: Array<{ offset?: string; stage?: string; error: { code: string; message: string } }> = [];
    await consumer.connect();
    await consumer.subscribe({ topic: rb.desired.spec.dead_letter.topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const h = (k: string) => message.headers?.[k]?.toString();
        records.push({
          offset: h(DLQ_HEADER.sourceOffset),
          stage: h(DLQ_HEADER.stage),
          error: JSON.parse(h(DLQ_HEADER.error) ?? "{}"),
        });
      },
    });
    await waitFor(() => records.length >= 1, { what: "the DLQ record" });
    await consumer.disconnect();
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ offset: "1", stage: "handler", error: { code: "HANDLER_OUTPUT" } });
    expect(records[0]!.error.message).toMatch(/^row 0 does not fit the table: column id \(UInt64\)/);
    expect(rb.runner.report().counters).toMatchObject({
      messages_in: 5,
      rows_out: 3,
      dropped: 1,
      failed: 1,
      dlq: 1,
    });
    expect(
      rb.deps.shipped.some(
        (l) => /clickhouse sink connected/.test(l.message) && l.fields?.format === "RowBinary",
      ),
    ).toBe(true);
  });
});
