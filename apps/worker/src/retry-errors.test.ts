/**
 * Typed retry errors on the real worker loop (issue 18 item 3), real Kafka and ClickHouse: a
 * message whose handler throws RetryAfterError runs again after the delay while its partition is
 * paused, lands once it succeeds, or goes to the DLQ after retry.max_attempts with every attempt's
 * error; the partition's later messages run after it; NonRetryableError goes straight to the DLQ;
 * a stop during a wait ends at once and leaves the message uncommitted.
 */

import { parseDlqMessage } from "@weir/connectors";
import type { DlqAttemptError, DlqRecord } from "@weir/core";
import { uniqueName, waitFor } from "@weir/testing";
import { afterAll, describe, expect, it } from "vitest";
import { PipelineRunner } from "./runner.ts";
import {
  ch,
  clickhouseSink,
  countRows,
  createTable,
  createTopic,
  desiredPipeline,
  kafka,
  produce,
  testDeps,
} from "./test-support.ts";

const admin = kafka.admin();
const runners: PipelineRunner[] = [];

function start(runner: PipelineRunner): PipelineRunner {
  runners.push(runner);
  runner.start();
  return runner;
}

afterAll(async () => {
  await Promise.allSettled(runners.map((r) => r.stop(2000)));
  await admin.disconnect();
  await ch.close();
});

async function committed(groupId: string, topic: string): Promise<number> {
  await admin.connect();
  const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
  return Number(offsets[0]!.partitions[0]!.offset);
}

/** The rows by id: `v` is the isolate's Date.now() when the accepted run of that message started. */
async function rowsById(table: string): Promise<Map<number, number>> {
  const rows = await (
    await ch.query({ query: `SELECT id, v FROM ${table} ORDER BY id`, format: "JSONEachRow" })
  ).json<{ id: string; v: string }>();
  return new Map(rows.map((r) => [Number(r.id), Number(r.v)]));
}

/** Read `n` records of a dead-letter topic. */
async function deadLetters(topic: string, n: number): Promise<DlqRecord[]> {
  const records: DlqRecord[] = [];
  const consumer = kafka.consumer({ groupId: uniqueName("dlq-reader") });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message, partition }) => void records.push(parseDlqMessage(message, partition)),
  });
  await waitFor(() => records.length >= n, { what: `${n} DLQ records` });
  await consumer.disconnect();
  return records.sort((a, b) => Number(a.source.offset) - Number(b.source.offset));
}

/** Messages in a topic (0 when it was never created). */
async function messagesIn(topic: string): Promise<number> {
  await admin.connect();
  if (!(await admin.listTopics()).includes(topic)) return 0;
  return (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
}

const ids = (n: number) => Array.from({ length: n }, (_, id) => ({ id }));

describe("typed retry errors on the worker", () => {
  it("runs a RetryAfterError message again after the delay with its partition paused, then lands it", async () => {
    const topic = await createTopic(1);
    const table = await createTable();
    await produce(topic, ids(10));
    // One partition, so the id is the offset; the Map lives in the isolate (a recycle would reset it).
    const handler = `
      const attempts = new Map<number, number>();
      export function handler(d: { id: number }) {
        const n = (attempts.get(d.id) ?? 0) + 1;
        attempts.set(d.id, n);
        if (d.id === 3 && n <= 2) throw new RetryAfterError(200, "not yet " + n);
        return { id: d.id, v: String(Date.now()) };
      }`;
    const desired = await desiredPipeline({
      topic,
      sink: clickhouseSink(table),
      handler,
      retry: { max_attempts: 5, initial_backoff_ms: 50, max_backoff_ms: 5000 },
    });
    const deps = testDeps();
    const runner = start(new PipelineRunner(desired, deps));
    const paused = waitFor(() => runner.progress()[0]?.paused === true, { what: "paused", intervalMs: 20 });
    await waitFor(async () => (await committed(`weir-${desired.id}`, topic)) === 10, {
      what: "commit of 10",
    });
    await paused;
    expect(runner.progress()[0]?.paused).toBe(false);
    expect(await countRows(table)).toEqual({ rows: 10, distinct: 10 });
    const rows = await rowsById(table);
    expect(runner.report().counters).toMatchObject({
      messages_in: 10,
      rows_out: 10,
      retries: 2,
      failed: 0,
      dlq: 0,
    });
    expect((await deps.metrics.handlerRetries.get()).values[0]?.value).toBe(2);
    await runner.stop();
    expect(await messagesIn(desired.spec.dead_letter.topic)).toBe(0);
    // Two waits of 200 ms between the first run of message 3 and its accepted one; the messages
    // after it ran (again) only then, those before it never waited.
    expect(rows.get(4)! - rows.get(2)!).toBeGreaterThanOrEqual(390);
    for (const id of [4, 5, 6, 7, 8, 9]) expect(rows.get(id)!).toBeGreaterThanOrEqual(rows.get(3)!);
    const lines = deps.shipped.filter(
      (l) => l.source === "worker" && l.message.startsWith("handler asked to retry"),
    );
    expect(lines.map((l) => l.message)).toEqual([
      "handler asked to retry in 200 ms (attempt 2 of 5): not yet 1",
      "handler asked to retry in 200 ms (attempt 3 of 5): not yet 2",
    ]);
    expect(lines[0]?.fields).toMatchObject({ partition: 0, offset: "3", attempt: 2, retry_after_ms: 200 });
  });

  it("dead-letters after retry.max_attempts with every attempt's error; NonRetryableError at once; order kept", async () => {
    const topic = await createTopic(1);
    const table = await createTable();
    await produce(topic, ids(10));
    const handler = `
      export function handler(d: { id: number }) {
        if (d.id === 3) throw new RetryAfterError(150, "busy " + Date.now());
        if (d.id === 6) throw new NonRetryableError("no tenant for " + d.id);
        if (d.id === 8) throw new Error("plain " + d.id);
        return { id: d.id, v: String(Date.now()) };
      }`;
    const desired = await desiredPipeline({
      topic,
      sink: clickhouseSink(table),
      handler,
      retry: { max_attempts: 3, initial_backoff_ms: 50, max_backoff_ms: 5000 },
    });
    const deps = testDeps();
    const runner = start(new PipelineRunner(desired, deps));
    await waitFor(async () => (await committed(`weir-${desired.id}`, topic)) === 10, {
      what: "commit of 10",
    });
    expect(runner.report().counters).toMatchObject({
      messages_in: 10,
      rows_out: 7,
      retries: 2,
      failed: 3,
      dlq: 3,
    });
    await runner.stop();

    const [retried, nonRetryable, plain] = await deadLetters(desired.spec.dead_letter.topic, 3);
    expect(retried).toMatchObject({
      source: { offset: "3" },
      stage: "handler",
      attempts: 3,
      handler_version: "1",
      error: {
        code: "HANDLER_RETRY_AFTER",
        name: "RetryAfterError",
        retryable: true,
        details: { retry_after_ms: 150, location: { line: 3 } },
      },
    });
    const attempts = retried!.error.details?.attempt_errors as DlqAttemptError[];
    expect(attempts.map((a) => [a.attempt, a.code, a.name, a.retry_after_ms])).toEqual([
      [1, "HANDLER_RETRY_AFTER", "RetryAfterError", 150],
      [2, "HANDLER_RETRY_AFTER", "RetryAfterError", 150],
      [3, "HANDLER_RETRY_AFTER", "RetryAfterError", 150],
    ]);
    // Three distinct runs (the message carries the isolate's time), 150 ms apart at least.
    expect(new Set(attempts.map((a) => a.message)).size).toBe(3);
    expect(attempts[2]!.failed_at - attempts[0]!.failed_at).toBeGreaterThanOrEqual(300);
    expect(retried!.error.message).toBe(attempts[2]!.message);
    expect(nonRetryable).toMatchObject({
      source: { offset: "6" },
      attempts: 1,
      error: {
        code: "HANDLER_NON_RETRYABLE",
        name: "NonRetryableError",
        message: "no tenant for 6",
        retryable: false,
      },
    });
    expect(nonRetryable!.error.details).not.toHaveProperty("attempt_errors");
    expect(plain).toMatchObject({ source: { offset: "8" }, attempts: 1, error: { code: "HANDLER_ERROR" } });

    // Order per partition: 0-2 ran before the first attempt of 3, 4.. only after its last one.
    const rows = await rowsById(table);
    expect([...rows.keys()]).toEqual([0, 1, 2, 4, 5, 7, 9]);
    for (const id of [0, 1, 2]) expect(rows.get(id)!).toBeLessThanOrEqual(attempts[0]!.failed_at);
    for (const id of [4, 5, 7, 9]) expect(rows.get(id)!).toBeGreaterThanOrEqual(attempts[2]!.failed_at);
  });

  it("a stop during a retry wait ends promptly and leaves the message uncommitted for the next owner", async () => {
    const topic = await createTopic(1);
    const table = await createTable();
    await produce(topic, ids(5));
    const waiting = `
      export function handler(d: { id: number }) {
        if (d.id === 2) throw new RetryAfterError(30_000, "come back later");
        return { id: d.id, v: String(Date.now()) };
      }`;
    const retry = { max_attempts: 5, initial_backoff_ms: 50, max_backoff_ms: 60_000 };
    const first = await desiredPipeline({ topic, sink: clickhouseSink(table), handler: waiting, retry });
    const deps = testDeps();
    const runner = start(new PipelineRunner(first, deps));
    await waitFor(
      () => deps.shipped.some((l) => l.message.startsWith("handler asked to retry in 30000 ms")),
      {
        what: "the retry log line",
      },
    );
    // What came before the waiting message is delivered and committed during the wait.
    await waitFor(async () => (await committed(`weir-${first.id}`, topic)) === 2, { what: "commit of 2" });
    expect(runner.progress()[0]).toMatchObject({ paused: true });
    expect(await countRows(table)).toEqual({ rows: 2, distinct: 2 });

    const t0 = performance.now();
    await runner.stop();
    const stopMs = performance.now() - t0;
    expect(stopMs).toBeLessThan(3000);
    expect(await committed(`weir-${first.id}`, topic)).toBe(2);
    expect(runner.report().counters).toMatchObject({ messages_in: 2, retries: 1, failed: 0, dlq: 0 });

    // The next owner (same group) gets message 2 again and everything after it, once.
    const next = await desiredPipeline({ topic, sink: clickhouseSink(table), id: first.id, retry });
    start(new PipelineRunner(next, testDeps()));
    await waitFor(async () => (await committed(`weir-${first.id}`, topic)) === 5, { what: "commit of 5" });
    expect(await countRows(table)).toEqual({ rows: 5, distinct: 5 });
    expect(await messagesIn(first.spec.dead_letter.topic)).toBe(0);
    console.log(`stop during a 30 s retry wait: ${stopMs.toFixed(0)} ms`);
  });
});
