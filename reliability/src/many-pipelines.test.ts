/**
 * Scenario 8: ten pipelines on one worker, one of them failing hard (handler throwing and looping,
 * its webhook answering 500 until the retries run out). The nine others keep their throughput
 * (compared with a baseline phase before the bad one starts) and their data.
 */
import { type ClickHouseClient, createClient } from "@clickhouse/client";
import type { PipelineView } from "@weir/core";
import { clickhouseUrl, kafkaBrokers, uniqueName, waitFor } from "@weir/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import { report } from "./support/figures.ts";
import { FlakyReceiver } from "./support/receiver.ts";
import { scale, sleep } from "./support/scale.ts";
import { createTracesTable, landed, waitLanded } from "./support/sink.ts";
import { createTopic, produceAll, type TraceStream, traceStream } from "./support/stream.ts";
import { committedTotal, dlqCount, Weir } from "./support/weir.ts";

let weir: Weir;
let ch: ClickHouseClient;
let receiver: FlakyReceiver;

beforeAll(async () => {
  weir = await Weir.start();
  ch = createClient({ url: clickhouseUrl() });
  receiver = await new FlakyReceiver(0).start();
  receiver.mode = "500";
});

afterAll(async () => {
  await weir?.stop();
  await ch?.close();
  await receiver?.stop();
});

const BAD_HANDLER = `
export function handler(d: { id: number }) {
  if (d.id % 3 === 0) throw new Error("bad record " + d.id);
  if (d.id % 3 === 1) for (;;) {}
  return { id: d.id };
}
`;

interface Healthy {
  p: PipelineView;
  /** Messages sent to its topic so far. */
  produced: number;
  topic: string;
  table: string;
}

/** Produce one stream per healthy pipeline at once; ms until every one has all its rows. */
async function phase(brokers: string[], healthy: Healthy[], streams: TraceStream[], all: Set<string>[]) {
  const started = Date.now();
  await Promise.all(
    healthy.map(async (h, i) => {
      h.produced += (await produceAll(brokers, h.topic, streams[i]!.messages, { partitions: 2 })).sent;
    }),
  );
  await Promise.all(
    healthy.map(async (h, i) => {
      const before = all[i]!.size;
      for (const k of streams[i]!.expected) all[i]!.add(k);
      if (all[i]!.size !== before + streams[i]!.expected.size) throw new Error("streams overlap");
      const l = await waitLanded(ch, h.table, all[i]!, 180_000);
      if (l.missing > 0) throw new Error(`pipeline ${i}: ${l.missing} rows missing`);
    }),
  );
  return Date.now() - started;
}

it("keeps nine pipelines' throughput and data while a tenth fails hard on the same worker", async () => {
  const perPipeline = scale(120, 400);
  const brokers = kafkaBrokers();
  const healthy: Healthy[] = [];
  for (let i = 0; i < 9; i++) {
    const topic = uniqueName(`faults_many${i}`);
    await createTopic(brokers, topic, 2);
    const table = await createTracesTable(ch);
    healthy.push({
      p: await weir.tracesPipeline({ brokers, topic, clickhouseUrl: clickhouseUrl(), table }),
      produced: 0,
      topic,
      table,
    });
  }
  const w = weir.worker();
  const all = healthy.map(() => new Set<string>());
  // Warm-up (isolates loaded, groups joined), then the baseline with nine pipelines.
  await phase(
    brokers,
    healthy,
    healthy.map((_, i) => traceStream(20, 800 + i)),
    all,
  );
  const baselineMs = await phase(
    brokers,
    healthy,
    healthy.map((_, i) => traceStream(perPipeline, 810 + i)),
    all,
  );

  const badTopic = uniqueName("faults_bad");
  await createTopic(brokers, badTopic, 2);
  const bad = await weir.client.createPipeline({
    name: uniqueName("faults-bad").replaceAll("_", "-"),
    source: { type: "kafka", config: { bootstrap_servers: brokers.join(","), topic: badTopic } },
    sink: {
      type: "webhook",
      config: { url: receiver.url, format: "ndjson", timeout_ms: 500, max_batch_wait_ms: 100 },
    },
    limits: { timeout_ms: 200 },
    retry: { max_attempts: 4, initial_backoff_ms: 100, max_backoff_ms: 400 },
  });
  await weir.client.uploadHandler(bad.id, BAD_HANDLER);
  const badValues = Array.from({ length: scale(300, 1000) }, (_, i) => JSON.stringify({ id: i }));
  await produceAll(brokers, badTopic, badValues, { partitions: 2 });
  // Failing in earnest: handler errors and timeouts counted, records already in its DLQ.
  await waitFor(
    async () => {
      const c = (await weir.client.getPipelineStatus(bad.id)).counters;
      return c.failed > 0 && c.dlq > 0;
    },
    // A chunk of looping records takes timeout_ms each before any counter moves: allow for a busy box.
    { what: "the bad pipeline failing", timeoutMs: 180_000 },
  );
  await sleep(1000);
  const underFireMs = await phase(
    brokers,
    healthy,
    healthy.map((_, i) => traceStream(perPipeline, 820 + i)),
    all,
  );
  const badStatus = await weir.client.getPipelineStatus(bad.id);
  const badDlq = await dlqCount(weir.client, bad.id);

  let expected = 0;
  let found = 0;
  let dupAfter = 0;
  let rawDups = 0;
  let dlq = 0;
  for (let i = 0; i < healthy.length; i++) {
    const h = healthy[i]!;
    const l = await landed(ch, h.table, all[i]!);
    expect(l.missing).toBe(0);
    expect(l.extra).toBe(0);
    expect(l.final).toBe(all[i]!.size);
    expected += all[i]!.size;
    found += l.landed;
    dupAfter += l.final - l.distinct;
    rawDups += l.raw - l.distinct;
    dlq += await dlqCount(weir.client, h.p.id);
    expect(await committedTotal(brokers, `weir-${h.p.id}`, h.topic)).toBe(h.produced);
  }
  const ratio = baselineMs / underFireMs;
  report("ten pipelines, one failing", {
    sent: healthy.reduce((n, h) => n + h.produced, 0) + badValues.length,
    expected,
    landed: found,
    dup_after_dedup: dupAfter,
    raw_dups: rawDups,
    dlq,
    recovery_ms: null,
    baseline_ms: baselineMs,
    with_bad_ms: underFireMs,
    throughput_ratio: Math.round(ratio * 100) / 100,
    bad_dlq: badDlq,
    bad_failed: badStatus.counters.failed,
  });
  expect(dupAfter).toBe(0);
  expect(dlq).toBe(0);
  expect(badDlq).toBeGreaterThan(0);
  // Nine pipelines keep 80% of their throughput next to a tenth that burns a core: the bad one runs
  // in worker cells (child processes) at a niceness, cordoned into its own cell once it kills one.
  expect(ratio).toBeGreaterThanOrEqual(0.8);
  expect(w.proc.exitCode).toBeNull();
});
