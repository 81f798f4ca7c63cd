/**
 * Every codec a producer can use, end to end through the worker: Kafka's own Java console producer
 * writes records compressed with snappy (xerial-framed, as every Java client does), lz4, zstd and
 * gzip; the pipeline runner lands exactly those rows in the real ClickHouse server, and the one
 * record the handler throws on goes to a DLQ written with the same codec (`dead_letter.compression`),
 * which reads back intact.
 */

import { javaProduce } from "@weir/connectors/testing";
import { DLQ_HEADER } from "@weir/core";
import { kafkaBrokers, waitFor } from "@weir/testing";
import { afterAll, describe, expect, it } from "vitest";
import { PipelineRunner } from "./runner.ts";
import {
  ch,
  clickhouseSink,
  createTable,
  createTopic,
  desiredPipeline,
  kafka,
  testDeps,
} from "./test-support.ts";

const runners: PipelineRunner[] = [];

afterAll(async () => {
  await Promise.allSettled(runners.map((r) => r.stop(2000)));
  await ch.close();
});

async function rows(table: string): Promise<{ id: number; v: string }[]> {
  const result = await ch.query({ query: `SELECT id, v FROM ${table} ORDER BY id`, format: "JSONEachRow" });
  return (await result.json<{ id: string; v: string }>()).map((r) => ({ id: Number(r.id), v: r.v }));
}

/** The DLQ records' original values (by source offset) and the codec the runner's producer used. */
async function dlqValues(topic: string, groupId: string, expected: number): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const consumer = kafka.consumer({ groupId });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const offset = message.headers?.[DLQ_HEADER.sourceOffset]?.toString() ?? "?";
        found.set(offset, message.value?.toString() ?? "");
      },
    });
    await waitFor(() => found.size >= expected, { what: `${expected} DLQ records` });
  } finally {
    await consumer.disconnect();
  }
  return found;
}

describe("pipelines over compressed topics", () => {
  it.each(["snappy", "lz4", "zstd", "gzip"] as const)(
    "%s: rows from the Java producer land exactly, the DLQ round-trips with the same codec",
    async (codec) => {
      const topic = await createTopic(1);
      const table = await createTable();
      // 500 rows, one 80 KiB value (past LZ4's 64 KiB block and snappy's 32 KiB chunk), one throw.
      const expected = Array.from({ length: 500 }, (_, i) => ({ id: i + 1, v: `${codec}-${i + 1}` }));
      expected[250] = { id: 251, v: "x".repeat(80 * 1024) };
      const boom = JSON.stringify({ id: 9999, boom: true });
      const values = expected.map((r) => JSON.stringify(r));
      values.splice(100, 0, boom);
      await javaProduce({ brokers: kafkaBrokers(), topic, codec, values });

      const desired = await desiredPipeline({ topic, sink: clickhouseSink(table) });
      desired.spec.dead_letter.compression = codec;
      const runner = new PipelineRunner(desired, testDeps());
      runners.push(runner);
      runner.start();
      await waitFor(
        async () =>
          runner.report().counters.messages_in === values.length && runner.report().counters.dlq === 1,
        {
          what: "every message handled",
          timeoutMs: 60_000,
        },
      );
      await waitFor(async () => (await rows(table)).length >= expected.length, {
        what: `${expected.length} rows`,
      });
      await runner.stop();

      expect(await rows(table)).toEqual(expected);
      expect(runner.report().counters).toMatchObject({ messages_in: 501, rows_out: 500, failed: 1, dlq: 1 });
      const dlq = await dlqValues(desired.spec.dead_letter.topic, `${desired.id}-dlq-reader`, 1);
      expect([...dlq.entries()]).toEqual([["100", boom]]);
    },
    120_000,
  );
});
