/**
 * Scenarios 2 and 3 on a broker and a server of our own (never the shared ones): the Kafka broker
 * stopped and restarted mid-stream, and ClickHouse down for 30 s or more. No loss, the worker
 * recovers by itself (same process), and during the ClickHouse outage it pauses, keeps its memory
 * bounded and catches up afterwards.
 */
import { type ClickHouseClient, createClient } from "@clickhouse/client";
import { uniqueName, waitFor } from "@weir/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import { report } from "./support/figures.ts";
import { scale, sleep } from "./support/scale.ts";
import { PrivateServices } from "./support/services.ts";
import { createTracesTable, rowCount, waitLanded } from "./support/sink.ts";
import { createTopic, produceAll, traceStream } from "./support/stream.ts";
import { committedTotal, dlqCount, RssSampler, rssMb, Weir } from "./support/weir.ts";

let svc: PrivateServices;
let weir: Weir;
let ch: ClickHouseClient;

beforeAll(async () => {
  svc = await PrivateServices.start();
  weir = await Weir.start();
  ch = createClient({ url: svc.clickhouseUrl, request_timeout: 10_000 });
}, 300_000);

afterAll(async () => {
  await weir?.stop();
  await ch?.close();
  await svc?.stop();
}, 120_000);

it("survives a broker stop and restart mid-stream without loss, in the same worker process", async () => {
  const messages = scale(900, 3000);
  const stream = traceStream(messages, 202);
  const brokers = svc.kafkaBrokers;
  const topic = uniqueName("faults_broker");
  await createTopic(brokers, topic, 4);
  const table = await createTracesTable(ch);
  const p = await weir.tracesPipeline({ brokers, topic, clickhouseUrl: svc.clickhouseUrl, table });
  const w = weir.worker();
  const progress = { sent: 0, failedSends: 0 };
  const producing = produceAll(brokers, topic, stream.messages, { partitions: 4, perSecond: 30, progress });
  await waitFor(async () => (await rowCount(ch, table)) > 0, { what: "first rows", timeoutMs: 60_000 });
  await sleep(scale(3000, 8000));

  await svc.services("down", "kafka");
  await sleep(scale(5000, 30_000));
  await svc.services("start", "kafka");
  const backAt = Date.now();
  const atBack = await rowCount(ch, table);
  await waitFor(async () => (await rowCount(ch, table)) > atBack, {
    what: "rows after the broker came back",
    timeoutMs: 120_000,
    intervalMs: 100,
  });
  const recoveryMs = Date.now() - backAt;

  await producing;
  const final = await waitLanded(ch, table, stream.expected, 180_000);
  await waitFor(
    async () => (await committedTotal(brokers, `weir-${p.id}`, topic)) >= stream.messages.length,
    {
      what: "every offset committed",
      timeoutMs: 60_000,
    },
  );
  const dlq = await dlqCount(weir.client, p.id);
  report("broker restart", {
    sent: progress.sent,
    expected: stream.expected.size,
    landed: final.landed,
    dup_after_dedup: final.final - final.distinct,
    raw_dups: final.raw - final.distinct,
    dlq,
    recovery_ms: recoveryMs,
    producer_retries: progress.failedSends,
  });
  expect(final.missing).toBe(0);
  expect(final.extra).toBe(0);
  expect(final.final).toBe(stream.expected.size);
  expect(dlq).toBe(0);
  // Recovered by itself: the same worker process did it.
  expect(w.proc.exitCode).toBeNull();
  expect(w.proc.signalCode).toBeNull();
  await weir.client.deletePipeline(p.id);
});

it("pauses, stays bounded and catches up after ClickHouse is down for 30 s or more", async () => {
  const outageMs = scale(32_000, 90_000);
  const before = traceStream(scale(200, 400), 303);
  const during = traceStream(scale(2000, 6000), 304);
  const expected = new Set([...before.expected, ...during.expected]);
  expect(expected.size).toBe(before.expected.size + during.expected.size);
  const brokers = svc.kafkaBrokers;
  const topic = uniqueName("faults_chdown");
  await createTopic(brokers, topic, 4);
  const table = await createTracesTable(ch);
  const p = await weir.tracesPipeline({
    brokers,
    topic,
    clickhouseUrl: svc.clickhouseUrl,
    table,
    // Enough attempts to outlast the outage: 2 s apart at most.
    retry: { max_attempts: 100, initial_backoff_ms: 200, max_backoff_ms: 2000 },
  });
  const w = weir.workers[0]!;
  const sent = (await produceAll(brokers, topic, before.messages, { partitions: 4 })).sent;
  await waitLanded(ch, table, before.expected, 60_000);
  const rssBefore = rssMb(w.proc.pid!);
  const inBefore = (await weir.client.getPipelineStatus(p.id)).counters.messages_in;

  await svc.services("down", "clickhouse");
  const rss = new RssSampler(w.proc.pid!);
  const outageStarted = Date.now();
  // A burst far larger than a batch arrives while the sink is down.
  const burst = await produceAll(brokers, topic, during.messages, { partitions: 4 });
  let sawFailing = false;
  while (Date.now() - outageStarted < outageMs) {
    const s = await weir.client.getPipelineStatus(p.id);
    if (s.state === "failing") sawFailing = true;
    await sleep(1000);
  }
  const status = await weir.client.getPipelineStatus(p.id);
  const consumedDuringOutage = status.counters.messages_in - inBefore;
  await svc.services("start", "clickhouse");
  const backAt = Date.now();
  const final = await waitLanded(ch, table, expected, 180_000);
  const recoveryMs = Date.now() - backAt;
  const peak = rss.stop();
  await waitFor(async () => (await committedTotal(brokers, `weir-${p.id}`, topic)) >= sent + burst.sent, {
    what: "every offset committed",
    timeoutMs: 60_000,
  });
  const after = await weir.client.getPipelineStatus(p.id);
  const dlq = await dlqCount(weir.client, p.id);
  report(`clickhouse down ${Math.round(outageMs / 1000)}s`, {
    sent: sent + burst.sent,
    expected: expected.size,
    landed: final.landed,
    dup_after_dedup: final.final - final.distinct,
    raw_dups: final.raw - final.distinct,
    dlq,
    recovery_ms: recoveryMs,
    outage_ms: outageMs,
    rss_before_mb: rssBefore,
    peak_rss_mb: peak,
    consumed_during_outage: consumedDuringOutage,
    burst: burst.sent,
    retries: after.counters.retries,
  });
  expect(final.missing).toBe(0);
  expect(final.extra).toBe(0);
  expect(final.final).toBe(expected.size);
  expect(dlq).toBe(0);
  expect(sawFailing).toBe(true);
  expect(after.counters.retries).toBeGreaterThan(0);
  // Paused: at most about one fetch per partition was taken in while the sink was down.
  expect(consumedDuringOutage).toBeLessThan(burst.sent / 2);
  expect(peak - rssBefore).toBeLessThan(300);
  expect(w.proc.exitCode).toBeNull();
});
