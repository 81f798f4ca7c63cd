/**
 * The runner on the embedded engine (chdb, ClickHouse 26.x): rows land, and a batch the previous
 * owner may have written before dying (marked `weir:pending:<last>` in the committed offset's
 * metadata) is rebuilt with the same offset range, so its dedup token matches and the engine drops
 * the replay at insert time: no duplicate even before a merge.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSink, dedupToken } from "@weir/connectors";
import { waitFor } from "@weir/testing";
import { Session } from "chdb";
import { afterAll, describe, expect, it } from "vitest";
import { pendingMetadata } from "./pipeline/batch.ts";
import { PipelineRunner } from "./runner.ts";
import { createTopic, desiredPipeline, kafka, produce, testDeps } from "./test-support.ts";

// libchdb binds one data folder per process: the test and the sinks share it.
const path = mkdtempSync(join(tmpdir(), "weir-worker-chdb-"));
const session = new Session(path);
const runners: PipelineRunner[] = [];

function count(table: string, final = false): number {
  return Number(session.query(`SELECT count() FROM ${table}${final ? " FINAL" : ""}`, "TSV").trim());
}

afterAll(async () => {
  await Promise.allSettled(runners.map((r) => r.stop(2000)));
  session.cleanup();
});

describe("runner with the embedded ClickHouse engine", () => {
  it("lands rows in a table with the seed article's modern types", async () => {
    const topic = await createTopic(1);
    const table = `rows_${Date.now()}`;
    session.query(
      `CREATE TABLE ${table} (ts DateTime64(6), id UInt64, attrs Map(String, String)) ENGINE = MergeTree ORDER BY id`,
    );
    await produce(
      topic,
      Array.from({ length: 500 }, (_, i) => ({ id: i })),
    );
    const desired = await desiredPipeline({
      topic,
      sink: { type: "embedded-clickhouse", config: { path, table, max_batch_wait_ms: 100 } },
      handler: `export const handler = (d) => ({ ts: "2024-01-02 03:04:05.123456", id: d.id, attrs: { k: String(d.id) } })`,
    });
    const runner = new PipelineRunner(desired, testDeps());
    runners.push(runner);
    runner.start();
    await waitFor(() => count(table) === 500, { what: "500 rows in chdb" });
    await runner.stop();
    expect(session.query(`SELECT toString(ts), attrs['k'] FROM ${table} WHERE id = 7`, "TSV").trim()).toBe(
      "2024-01-02 03:04:05.123456\t7",
    );
  });

  it("rebuilds the pending batch of a dead owner with the same dedup token", async () => {
    const topic = await createTopic(1);
    const table = `dedup_${Date.now()}`;
    session.query(
      `CREATE TABLE ${table} (id UInt64) ENGINE = MergeTree ORDER BY id SETTINGS non_replicated_deduplication_window = 1000`,
    );
    await produce(
      topic,
      Array.from({ length: 10 }, (_, i) => ({ id: i })),
    );
    const desired = await desiredPipeline({
      topic,
      sink: { type: "embedded-clickhouse", config: { path, table, max_batch_wait_ms: 100 } },
      handler: "export const handler = (d) => ({ id: d.id })",
    });

    // The dead owner: announced offsets 0..5, inserted their rows, died before committing 6.
    const sink = createSink(desired.spec.sink, { pipelineId: desired.id });
    await sink.connect();
    expect(sink.capabilities.dedupToken).toBe(true);
    const id = { pipelineId: desired.id, topic, partition: 0, firstOffset: "0", lastOffset: "5" };
    const rows = Array.from({ length: 6 }, (_, i) => JSON.stringify({ id: i }));
    await sink.write({ ...id, chunks: [rows.join("\n")], rowCount: 6, bytes: 0, dedupToken: dedupToken(id) });
    await sink.close();
    const consumer = kafka.consumer({ groupId: `weir-${desired.id}` });
    await consumer.connect();
    const admin = kafka.admin();
    await admin.connect();
    await admin.setOffsets({
      groupId: `weir-${desired.id}`,
      topic,
      partitions: [{ partition: 0, offset: "0" }],
    });
    await consumer.disconnect();
    // setOffsets carries no metadata: commit the pending mark the way the runner does.
    const marker = kafka.consumer({ groupId: `weir-${desired.id}` });
    await marker.connect();
    await marker.subscribe({ topic, fromBeginning: true });
    await marker.run({ autoCommit: false, eachBatch: async () => new Promise(() => undefined) });
    await waitFor(
      async () => {
        try {
          await marker.commitOffsets([{ topic, partition: 0, offset: "0", metadata: pendingMetadata("5") }]);
          return true;
        } catch {
          return false;
        }
      },
      { what: "the pending mark" },
    );
    await marker.disconnect();
    const offsets = await admin.fetchOffsets({ groupId: `weir-${desired.id}`, topics: [topic] });
    expect(offsets[0]?.partitions[0]).toMatchObject({ offset: "0", metadata: "weir:pending:5" });
    await admin.disconnect();

    const runner = new PipelineRunner(desired, testDeps());
    runners.push(runner);
    runner.start();
    await waitFor(() => runner.report().counters.rows_out === 10, { what: "10 rows written" });
    await runner.stop();
    // 6 rows from the dead owner + 10 replayed; the replay of 0..5 carried the same token and was dropped.
    expect(count(table)).toBe(10);
    expect(
      session.query(`SELECT groupArray(id) FROM (SELECT id FROM ${table} ORDER BY id)`, "TSV").trim(),
    ).toBe("[0,1,2,3,4,5,6,7,8,9]");
  });
});
