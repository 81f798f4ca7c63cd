/**
 * Scenario 1: SIGKILL of the worker at random points, at least five times while a stream flows. The
 * table must end with exactly the expected key set; a replayed batch may sit at rest twice until a
 * merge (18.16 has no insert dedup), never after FINAL.
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

it("loses nothing when the worker is SIGKILLed at random points mid-stream", async () => {
  const kills = scale(5, 12);
  const messages = scale(1200, 4000);
  const stream = traceStream(messages, 101);
  const brokers = kafkaBrokers();
  const topic = uniqueName("faults_kill");
  const partitions = 4;
  await createTopic(brokers, topic, partitions);
  const table = await createTracesTable(ch);
  const p = await weir.tracesPipeline({ brokers, topic, clickhouseUrl: clickhouseUrl(), table });

  // Paced so the stream outlasts the kills (each costs a restart and a session timeout).
  const producing = produceAll(brokers, topic, stream.messages, { partitions, perSecond: scale(30, 40) });
  let w = weir.worker();
  let done = 0;
  let recoveryMs = 0;
  const rng = () => Math.random();
  for (let k = 0; k < kills; k++) {
    const restartedAt = Date.now();
    const before = await rowCount(ch, table);
    // The new worker is delivering again: that is the recovery after the previous kill.
    await waitFor(async () => (await rowCount(ch, table)) > before, {
      what: `rows after restart ${k}`,
      timeoutMs: 60_000,
      intervalMs: 100,
    });
    if (k > 0) recoveryMs = Math.max(recoveryMs, Date.now() - restartedAt);
    // A random point: mid-batch, mid-insert, between insert and commit, or idle.
    await sleep(Math.floor(rng() * 2500));
    await w.kill("SIGKILL");
    done++;
    w = weir.worker();
  }
  const produced = await producing;
  const final = await waitLanded(ch, table, stream.expected, 120_000);
  await waitFor(
    async () => (await committedTotal(brokers, `weir-${p.id}`, topic)) === stream.messages.length,
    {
      what: "every offset committed",
      timeoutMs: 60_000,
    },
  );
  const dlq = await dlqCount(weir.client, p.id);
  report(`sigkill x${done}`, {
    sent: produced.sent,
    expected: stream.expected.size,
    landed: final.landed,
    dup_after_dedup: final.final - final.distinct,
    raw_dups: final.raw - final.distinct,
    dlq,
    recovery_ms: recoveryMs,
    kills: done,
  });
  expect(done).toBeGreaterThanOrEqual(5);
  expect(final.missing).toBe(0);
  expect(final.extra).toBe(0);
  expect(final.final).toBe(stream.expected.size);
  expect(dlq).toBe(0);
  expect(w.proc.exitCode).toBeNull();
});
