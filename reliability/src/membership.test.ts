/**
 * Scenario 6: two and three workers, members joining and leaving (SIGTERM drain) while the stream
 * flows. Kafka's group protocol moves the partitions; nothing is lost and, after FINAL, nothing is
 * duplicated.
 */
import { type ClickHouseClient, createClient } from "@clickhouse/client";
import { clickhouseUrl, kafkaBrokers, uniqueName, waitFor } from "@weir/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import { report } from "./support/figures.ts";
import { scale, sleep } from "./support/scale.ts";
import { createTracesTable, rowCount, waitLanded } from "./support/sink.ts";
import { createTopic, produceAll, traceStream } from "./support/stream.ts";
import { committedTotal, dlqCount, Weir } from "./support/weir.ts";

let weir: Weir;
let ch: ClickHouseClient;

beforeAll(async () => {
  weir = await Weir.start();
  ch = createClient({ url: clickhouseUrl() });
});

afterAll(async () => {
  await weir?.stop();
  await ch?.close();
});

it("loses and duplicates nothing while workers join and leave mid-stream", async () => {
  const messages = scale(900, 3000);
  const stepMs = scale(5000, 12_000);
  const stream = traceStream(messages, 606);
  const brokers = kafkaBrokers();
  const topic = uniqueName("faults_members");
  await createTopic(brokers, topic, 6);
  const table = await createTracesTable(ch);
  const p = await weir.tracesPipeline({ brokers, topic, clickhouseUrl: clickhouseUrl(), table });
  const producing = produceAll(brokers, topic, stream.messages, {
    partitions: 6,
    perSecond: messages / ((stepMs * 6) / 1000),
  });
  const w1 = weir.worker();
  await waitFor(async () => (await rowCount(ch, table)) > 0, { what: "first rows", timeoutMs: 60_000 });
  const w2 = weir.worker(); // two members
  await sleep(stepMs);
  const w3 = weir.worker(); // three members
  await sleep(stepMs);
  const leftCode1 = await w1.kill("SIGTERM"); // one leaves: two
  await sleep(stepMs);
  weir.worker(); // joins: three
  await sleep(stepMs);
  const leftCode2 = await w2.kill("SIGTERM"); // leaves: two
  const leftAt = Date.now();
  const atLeave = await rowCount(ch, table);
  await waitFor(async () => (await rowCount(ch, table)) > atLeave, {
    what: "rows after the last member left",
    timeoutMs: 60_000,
    intervalMs: 100,
  });
  const recoveryMs = Date.now() - leftAt;
  const sent = (await producing).sent;
  const final = await waitLanded(ch, table, stream.expected, 120_000);
  await waitFor(
    async () => (await committedTotal(brokers, `weir-${p.id}`, topic)) === stream.messages.length,
    {
      what: "every offset committed",
      timeoutMs: 60_000,
    },
  );
  const dlq = await dlqCount(weir.client, p.id);
  report("join/leave 1-3 workers", {
    sent,
    expected: stream.expected.size,
    landed: final.landed,
    dup_after_dedup: final.final - final.distinct,
    raw_dups: final.raw - final.distinct,
    dlq,
    recovery_ms: recoveryMs,
    members_changes: 5,
  });
  expect(final.missing).toBe(0);
  expect(final.extra).toBe(0);
  expect(final.final).toBe(stream.expected.size);
  expect(dlq).toBe(0);
  expect([leftCode1, leftCode2]).toEqual([0, 0]);
  expect(w3.proc.exitCode).toBeNull();
});
