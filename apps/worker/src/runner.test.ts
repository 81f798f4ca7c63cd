/**
 * The pipeline runner against the real broker, the real ClickHouse server, the embedded engine and a
 * real local HTTP endpoint: rows land, offsets trail writes, failures reach the DLQ with their stage,
 * a sink outage is retried without loss, and partitions are shared between two runners.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { DLQ_HEADER } from "@weir/core";
import { waitFor } from "@weir/testing";
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

async function committed(groupId: string, topic: string): Promise<number> {
  await admin.connect();
  const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
  return offsets[0]!.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
}

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

describe("pipeline runner", () => {
  it("lands every row in ClickHouse and commits offsets only up to written batches", async () => {
    const topic = await createTopic(2);
    const table = await createTable();
    await produce(
      topic,
      Array.from({ length: 2000 }, (_, i) => ({ id: i, v: `v${i}` })),
      2,
    );
    const desired = await desiredPipeline({ topic, sink: clickhouseSink(table) });
    const deps = testDeps();
    const runner = start(new PipelineRunner(desired, deps));
    await waitFor(async () => (await countRows(table)).rows >= 2000, { what: "2000 rows" });
    await waitFor(async () => (await committed(`weir-${desired.id}`, topic)) === 2000, {
      what: "commit of 2000",
    });
    expect(await countRows(table)).toEqual({ rows: 2000, distinct: 2000 });
    const report = runner.report();
    expect(report.state).toBe("running");
    expect(report.counters).toMatchObject({ messages_in: 2000, rows_out: 2000, failed: 0, dlq: 0 });
    await runner.stop();
    await waitFor(() => deps.shipped.some((l) => l.message === "hundred" && l.offset !== undefined), {
      what: "handler log",
    });
  });

  it("sends decode, handler and sink failures to the DLQ with their stage while good rows flow", async () => {
    const topic = await createTopic(1);
    const table = await createTable();
    await produce(topic, [
      { id: 1, v: "ok" },
      "{not json",
      { id: 2, boom: true },
      { id: "not-a-number", v: "rejected by ClickHouse" },
      { id: 3, drop: true },
      { id: 4, v: "ok" },
    ]);
    // JSONEachRow: the server refuses the bad value (with RowBinary the sandbox does, see runner.rowbinary.test.ts).
    const desired = await desiredPipeline({ topic, sink: clickhouseSink(table, { format: "JSONEachRow" }) });
    const runner = start(new PipelineRunner(desired, testDeps()));
    await waitFor(async () => (await committed(`weir-${desired.id}`, topic)) === 6, {
      what: "all six committed",
    });
    await runner.stop();
    expect(await countRows(table)).toEqual({ rows: 2, distinct: 2 });

    const stages = new Map<string, string>();
    const consumer = kafka.consumer({ groupId: `${desired.id}-dlq-reader` });
    await consumer.connect();
    await consumer.subscribe({ topic: desired.spec.dead_letter.topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const h = (k: string) => message.headers?.[k]?.toString();
        stages.set(h(DLQ_HEADER.sourceOffset) ?? "?", `${h(DLQ_HEADER.stage)}:${message.value?.toString()}`);
      },
    });
    await waitFor(() => stages.size >= 3, { what: "three DLQ records" });
    await consumer.disconnect();
    expect(stages.get("1")).toBe("decode:{not json");
    expect(stages.get("2")).toMatch(/^handler:/);
    expect(stages.get("3")).toMatch(/^sink:.*not-a-number/);
    expect(runner.report().counters).toMatchObject({
      messages_in: 6,
      rows_out: 2,
      dropped: 1,
      failed: 2,
      dlq: 3,
    });
  });

  it("retries through a sink outage, holding the commit, then delivers everything once", async () => {
    let failUntil = Date.now() + 2500;
    const received = new Map<string, number>();
    const keys = new Set<string>();
    const server: Server = createServer((req: IncomingMessage, res) => {
      let body = "";
      req.on("data", (c) => {
        body += c;
      });
      req.on("end", () => {
        if (Date.now() < failUntil) {
          res.writeHead(503).end("down");
          return;
        }
        const key = String(req.headers["idempotency-key"]);
        if (!keys.has(key)) {
          keys.add(key);
          for (const line of body.split("\n").filter(Boolean)) {
            const id = String((JSON.parse(line) as { id: number }).id);
            received.set(id, (received.get(id) ?? 0) + 1);
          }
        }
        res.writeHead(200).end("ok");
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ingest`;
    try {
      const topic = await createTopic(1);
      await produce(
        topic,
        Array.from({ length: 300 }, (_, i) => ({ id: i })),
      );
      const desired = await desiredPipeline({
        topic,
        sink: {
          type: "webhook",
          config: { url, format: "ndjson", max_batch_wait_ms: 100, max_batch_rows: 100 },
        },
        retry: { max_attempts: 30, initial_backoff_ms: 50, max_backoff_ms: 400 },
      });
      const runner = start(new PipelineRunner(desired, testDeps()));
      await waitFor(() => runner.report().counters.retries >= 2, { what: "retries" });
      expect(await committed(`weir-${desired.id}`, topic)).toBe(0);
      failUntil = 0;
      await waitFor(() => received.size === 300, { what: "300 ids at the webhook" });
      await waitFor(async () => (await committed(`weir-${desired.id}`, topic)) === 300, { what: "commit" });
      expect([...received.values()].every((n) => n === 1)).toBe(true);
      expect(runner.report().state).toBe("running");
      await runner.stop();
    } finally {
      server.close();
    }
  });

  it("runs the handler on the next batch while the previous insert is in flight, one insert per partition at a time", async () => {
    // A slow receiver: each insert takes 700 ms. Rows carry the time the handler made them.
    const requests: Array<{ start: number; end: number; ids: number[]; times: number[] }> = [];
    let open = 0;
    let maxOpen = 0;
    const server: Server = createServer((req: IncomingMessage, res) => {
      const start = Date.now();
      open++;
      maxOpen = Math.max(maxOpen, open);
      let body = "";
      req.on("data", (c) => {
        body += c;
      });
      req.on("end", () => {
        setTimeout(() => {
          const rows = body
            .split("\n")
            .filter(Boolean)
            .map((l) => JSON.parse(l) as { id: number; t: number });
          open--;
          requests.push({ start, end: Date.now(), ids: rows.map((r) => r.id), times: rows.map((r) => r.t) });
          res.writeHead(200).end("ok");
        }, 700);
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ingest`;
    try {
      const topic = await createTopic(1);
      await produce(
        topic,
        Array.from({ length: 400 }, (_, i) => ({ id: i })),
      );
      const desired = await desiredPipeline({
        topic,
        handler: "export function handler(d: { id: number }) { return { id: d.id, t: Date.now() }; }",
        sink: {
          type: "webhook",
          config: { url, format: "ndjson", max_batch_wait_ms: 5000, max_batch_rows: 100 },
        },
      });
      // Small sandbox calls, so that the handler's calls and the inserts can interleave.
      const runner = start(new PipelineRunner(desired, { ...testDeps(), sandboxChunk: 10 }));
      await waitFor(async () => (await committed(`weir-${desired.id}`, topic)) === 400, {
        what: "commit of 400",
        timeoutMs: 30_000,
      });
      const ids = requests.flatMap((r) => r.ids);
      expect(ids).toEqual(Array.from({ length: 400 }, (_, i) => i)); // every row once, in offset order
      expect(maxOpen).toBe(1); // one partition: never two inserts at once
      // Batch 2's rows were made while batch 1's insert was still in flight (before: after it).
      expect(Math.min(...requests[1]!.times)).toBeLessThan(requests[0]!.end);
      expect(Math.max(...requests[1]!.times)).toBeLessThan(requests[0]!.end);
      await runner.stop();
    } finally {
      server.close();
    }
  });

  it("shares partitions between two runners of the same pipeline with no loss or duplicate", async () => {
    const topic = await createTopic(4);
    const table = await createTable();
    const desired = await desiredPipeline({ topic, sink: clickhouseSink(table) });
    const a = start(new PipelineRunner(desired, testDeps()));
    const b = start(new PipelineRunner(desired, testDeps()));
    // Both members must hold partitions before data flows, or the first one takes it all.
    await admin.connect();
    await waitFor(
      async () => {
        const { groups } = await admin.describeGroups([`weir-${desired.id}`]);
        const g = groups[0];
        return (
          g?.state === "Stable" &&
          g.members.length === 2 &&
          g.members.every((m) => m.memberAssignment.length > 0)
        );
      },
      { what: "two members with partitions" },
    );
    await produce(
      topic,
      Array.from({ length: 4000 }, (_, i) => ({ id: i })),
      4,
    );
    await waitFor(async () => (await countRows(table)).distinct >= 4000, {
      what: "4000 rows",
      timeoutMs: 60_000,
    });
    await waitFor(async () => (await committed(`weir-${desired.id}`, topic)) === 4000, { what: "commit" });
    const inA = a.report().counters.messages_in;
    const inB = b.report().counters.messages_in;
    expect(inA).toBeGreaterThan(0);
    expect(inB).toBeGreaterThan(0);
    expect(inA + inB).toBe(4000);
    expect(await countRows(table)).toEqual({ rows: 4000, distinct: 4000 });
    await Promise.all([a.stop(), b.stop()]);
  });

  it("keeps its partitions through a sandbox call longer than the session timeout (no reprocessing)", async () => {
    const topic = await createTopic(1);
    const table = await createTable();
    await produce(
      topic,
      Array.from({ length: 30 }, (_, i) => ({ id: i })),
    );
    // 30 messages x 300 ms of busy work in one sandbox call: 9 s, past a 6 s session timeout.
    const desired = await desiredPipeline({
      topic,
      sink: clickhouseSink(table),
      handler:
        "export function handler(d) { const end = Date.now() + 300; while (Date.now() < end) {} return { id: d.id }; }",
    });
    const runner = start(new PipelineRunner(desired, { ...testDeps(), sessionTimeoutMs: 6000 }));
    await waitFor(async () => (await committed(`weir-${desired.id}`, topic)) === 30, {
      what: "30 committed",
      timeoutMs: 40_000,
    });
    expect(runner.report().counters.messages_in).toBe(30);
    expect(await countRows(table)).toEqual({ rows: 30, distinct: 30 });
    await runner.stop();
  });

  it("swaps the handler mid-stream (drain, commit, start) without losing or repeating a message", async () => {
    const topic = await createTopic(2);
    const table = await createTable();
    const v1 = await desiredPipeline({
      topic,
      sink: clickhouseSink(table),
      handler: "export const handler = (d) => ({ id: d.id, v: 'v1' })",
    });
    const v2 = {
      ...(await desiredPipeline({
        topic,
        sink: clickhouseSink(table),
        handler: "export const handler = (d) => ({ id: d.id, v: 'v2' })",
      })),
      id: v1.id,
    };
    const first = start(new PipelineRunner(v1, testDeps()));
    const producing = (async () => {
      for (let i = 0; i < 20; i++) {
        await produce(
          topic,
          Array.from({ length: 100 }, (_, j) => ({ id: i * 100 + j })),
          2,
        );
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    await waitFor(async () => (await countRows(table)).rows >= 300, { what: "some v1 rows" });
    await first.stop();
    const second = start(new PipelineRunner(v2, testDeps()));
    await producing;
    await waitFor(async () => (await countRows(table)).rows >= 2000, {
      what: "2000 rows",
      timeoutMs: 60_000,
    });
    await second.stop();
    expect(await countRows(table)).toEqual({ rows: 2000, distinct: 2000 });
    const versions = await (
      await ch.query({
        query: `SELECT v, count() AS n FROM ${table} GROUP BY v ORDER BY v`,
        format: "JSONEachRow",
      })
    ).json<{ v: string; n: string }>();
    expect(versions.map((r) => r.v)).toEqual(["v1", "v2"]);
  });
});
