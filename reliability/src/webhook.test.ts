/**
 * Scenario 4: a webhook sink answering 500s, 429 with Retry-After and timeouts, then recovering. No
 * loss; after the receiver drops replays by idempotency key, no id appears twice.
 */
import { kafkaBrokers, uniqueName, waitFor } from "@weir/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import { report } from "./support/figures.ts";
import { FlakyReceiver, type Mode } from "./support/receiver.ts";
import { scale, sleep } from "./support/scale.ts";
import { createTopic, produceAll } from "./support/stream.ts";
import { committedTotal, dlqCount, Weir } from "./support/weir.ts";

let weir: Weir;
let receiver: FlakyReceiver;

beforeAll(async () => {
  weir = await Weir.start();
  receiver = await new FlakyReceiver(2500).start();
});

afterAll(async () => {
  await weir?.stop();
  await receiver?.stop();
});

const HANDLER = `
export function handler(d: { id: number }) {
  return { id: d.id };
}
`;

it("delivers everything exactly once per idempotency key through 500s, 429s and timeouts", async () => {
  const total = scale(3000, 12_000);
  const phaseMs = scale(4000, 15_000);
  const brokers = kafkaBrokers();
  const topic = uniqueName("faults_webhook");
  await createTopic(brokers, topic, 3);
  const p = await weir.client.createPipeline({
    name: uniqueName("faults-webhook").replaceAll("_", "-"),
    source: { type: "kafka", config: { bootstrap_servers: brokers.join(","), topic } },
    sink: {
      type: "webhook",
      config: {
        url: receiver.url,
        format: "ndjson",
        timeout_ms: 1000,
        max_batch_rows: 200,
        max_batch_wait_ms: 200,
      },
    },
    retry: { max_attempts: 60, initial_backoff_ms: 100, max_backoff_ms: 1000 },
  });
  await weir.client.uploadHandler(p.id, HANDLER);
  const w = weir.worker();
  const values = Array.from({ length: total }, (_, i) => JSON.stringify({ id: i + 1 }));
  const producing = produceAll(brokers, topic, values, {
    partitions: 3,
    perSecond: total / ((phaseMs * 5) / 1000),
  });
  await waitFor(() => receiver.byKey.size > 0, { what: "first delivery", timeoutMs: 60_000 });
  for (const mode of ["500", "429", "slow", "500"] as Mode[]) {
    receiver.mode = mode;
    await sleep(phaseMs);
  }
  receiver.mode = "ok";
  const recoveredFrom = Date.now();
  const keysAtRecovery = receiver.byKey.size;
  await waitFor(() => receiver.byKey.size > keysAtRecovery, {
    what: "delivery after recovery",
    timeoutMs: 60_000,
  });
  const recoveryMs = Date.now() - recoveredFrom;
  const sent = (await producing).sent;
  await waitFor(async () => (await committedTotal(brokers, `weir-${p.id}`, topic)) === total, {
    what: "every offset committed",
    timeoutMs: 120_000,
  });
  const ids = receiver.ids();
  let missing = 0;
  for (let i = 1; i <= total; i++) if (!ids.has(i)) missing++;
  const dupAfterDedup = [...ids.values()].filter((n) => n > 1).length;
  const dlq = await dlqCount(weir.client, p.id);
  const status = await weir.client.getPipelineStatus(p.id);
  report("webhook 500/429/timeout", {
    sent,
    expected: total,
    landed: ids.size,
    dup_after_dedup: dupAfterDedup,
    raw_dups: receiver.rawRows - ids.size,
    dlq,
    recovery_ms: recoveryMs,
    answers_500: receiver.answers["500"] ?? 0,
    answers_429: receiver.answers["429"] ?? 0,
    answers_late: receiver.answers.slow ?? 0,
    retries: status.counters.retries,
  });
  expect(missing).toBe(0);
  expect(ids.size).toBe(total);
  expect(dupAfterDedup).toBe(0);
  expect(dlq).toBe(0);
  expect(receiver.answers["500"]).toBeGreaterThan(0);
  expect(receiver.answers["429"]).toBeGreaterThan(0);
  expect(receiver.answers.slow).toBeGreaterThan(0);
  expect(w.proc.exitCode).toBeNull();
});
