/**
 * Scenario 5: hostile and malformed input mixed with good data. Every bad message lands in the DLQ
 * with the right stage and code (or, for a log flood, in the dropped-lines counter), good records
 * keep flowing, and the worker process never restarts.
 */
import { type ClickHouseClient, createClient } from "@clickhouse/client";
import { clickhouseUrl, kafkaBrokers, uniqueName, waitFor } from "@weir/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import { report } from "./support/figures.ts";
import { scale } from "./support/scale.ts";
import { createIdTable, idsLanded } from "./support/sink.ts";
import { createTopic, produceAll } from "./support/stream.ts";
import { committedTotal, Weir } from "./support/weir.ts";

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

/** One behaviour per `kind`; `ok` and `big` are the good records. */
const HOSTILE_HANDLER = `
export function handler(d: { id: number; kind: string }, log) {
  switch (d.kind) {
    case "ok":
    case "big":
      return { id: d.id, kind: d.kind };
    case "throw":
      throw new Error("hostile record " + d.id);
    case "loop":
      for (;;) {}
    case "await":
      return new Promise(() => {});
    case "alloc": {
      // Gradual, unbounded growth: many moderate allocations, never one huge one.
      const hoard: number[][] = [];
      for (;;) hoard.push(new Array(100_000).fill(d.id));
    }
    case "fill":
      return { id: d.id, n: new Array(50_000_000).fill(0).length };
    case "from":
      return { id: d.id, n: Array.from({ length: 50_000_000 }, () => 0).length };
    case "repeat":
      return { id: d.id, s: "x".repeat(2 ** 28) };
    case "pad":
      return { id: d.id, s: "".padStart(2 ** 28, "x") };
    case "bigint":
      return { id: d.id, v: BigInt(d.id) };
    case "cycle": {
      const o: Record<string, unknown> = { id: d.id };
      o.self = o;
      return o;
    }
    case "fn":
      return { id: d.id, f: () => d.id };
    case "flood":
      for (let i = 0; i < 3000; i++) log.info("flood line " + i, { id: d.id });
      return { id: d.id, kind: "flood" };
    default:
      return null;
  }
}
`;

/** What each bad input must become in the DLQ: [stage, code]. */
const EXPECTED: Record<string, [string, string]> = {
  throw: ["handler", "HANDLER_ERROR"],
  loop: ["handler", "HANDLER_TIMEOUT"],
  await: ["handler", "HANDLER_TIMEOUT"],
  alloc: ["handler", "HANDLER_MEMORY"],
  fill: ["handler", "HANDLER_ERROR"],
  from: ["handler", "HANDLER_ERROR"],
  repeat: ["handler", "HANDLER_ERROR"],
  pad: ["handler", "HANDLER_ERROR"],
  bigint: ["handler", "HANDLER_OUTPUT"],
  cycle: ["handler", "HANDLER_OUTPUT"],
  fn: ["handler", "HANDLER_OUTPUT"],
  "invalid-json": ["decode", "DECODE_ERROR"],
  empty: ["decode", "DECODE_ERROR"],
  null: ["decode", "DECODE_ERROR"],
};

it("routes hostile and malformed input to the DLQ and the log counters while good records flow", async () => {
  const good = scale(1500, 6000);
  const repeats = scale(2, 5);
  const brokers = kafkaBrokers();
  const topic = uniqueName("faults_hostile");
  await createTopic(brokers, topic, 2);
  const table = await createIdTable(ch);
  const p = await weir.client.createPipeline({
    name: uniqueName("faults-hostile").replaceAll("_", "-"),
    source: { type: "kafka", config: { bootstrap_servers: brokers.join(","), topic } },
    sink: { type: "clickhouse", config: { url: clickhouseUrl(), table, max_batch_wait_ms: 300 } },
    // A small heap and a roomy clock: unbounded allocation must hit the memory limit first, even on a busy CI box.
    limits: { memory_mb: 32, timeout_ms: 1500, log_lines_per_second: 50 },
  });
  await weir.client.uploadHandler(p.id, HOSTILE_HANDLER);

  // Good records with every bad kind spread among them, a few times over.
  const values: (string | null)[] = [];
  const expected = new Set<number>();
  const bad: string[] = [];
  const kinds = [...Object.keys(EXPECTED), "flood"];
  let id = 0;
  const every = Math.floor(good / (kinds.length * repeats));
  for (let i = 0; i < good; i++) {
    values.push(JSON.stringify({ id: ++id, kind: "ok" }));
    expected.add(id);
    if (i % every !== every - 1) continue;
    const kind = kinds[Math.floor(i / every) % kinds.length]!;
    if (kind === "invalid-json") values.push(`{"id": ${++id}, "kind": "ok"`);
    else if (kind === "empty") values.push("");
    else if (kind === "null") values.push(null);
    else values.push(JSON.stringify({ id: ++id, kind }));
    if (kind === "flood") expected.add(id);
    else bad.push(kind);
  }
  // A good message near the broker's 10 MiB message.max.bytes, and a failing one of the same size.
  const pad = "p".repeat(9 * 1024 * 1024);
  values.push(JSON.stringify({ id: ++id, kind: "big", pad }));
  expected.add(id);
  values.push(JSON.stringify({ id: ++id, kind: "throw", pad }));
  bad.push("throw");

  const w = weir.worker();
  const started = Date.now();
  const sent = (await produceAll(brokers, topic, values, { partitions: 2, chunk: 20 })).sent;
  await waitFor(async () => (await committedTotal(brokers, `weir-${p.id}`, topic)) === values.length, {
    what: "every message committed",
    timeoutMs: 240_000,
  });
  const elapsed = Date.now() - started;
  const final = await idsLanded(ch, table, expected);
  const dlq = (await weir.client.listDlq(p.id, { limit: 1000 })).items;
  const got = dlq.map((r) => {
    let kind = r.value === null || r.value === "" ? (r.value === null ? "null" : "empty") : "invalid-json";
    try {
      kind = (JSON.parse(r.value ?? "") as { kind: string }).kind;
    } catch {
      // not JSON: the decode cases
    }
    return { kind, stage: r.stage, code: r.error.code };
  });
  const wrong = got.filter((g) => {
    const want = EXPECTED[g.kind];
    return !want || want[0] !== g.stage || want[1] !== g.code;
  });
  const logs = await weir.client.getLogs(p.id, { limit: 1000 });
  const droppedLines = logs.items
    .map((l) => /^(\d+) log lines dropped/.exec(l.message)?.[1])
    .reduce((n, m) => n + Number(m ?? 0), 0);
  const status = await weir.client.getPipelineStatus(p.id);
  const byCode: Record<string, number> = {};
  for (const g of got) byCode[g.code] = (byCode[g.code] ?? 0) + 1;
  report("hostile input", {
    sent,
    expected: expected.size,
    landed: final.landed,
    dup_after_dedup: final.final - final.distinct,
    raw_dups: final.raw - final.distinct,
    dlq: dlq.length,
    recovery_ms: null,
    bad_sent: bad.length,
    dlq_wrong_stage_or_code: wrong.length,
    dropped_log_lines: droppedLines,
    elapsed_ms: elapsed,
    worker_restarts: w.proc.exitCode === null && w.proc.signalCode === null ? 0 : 1,
    ...Object.fromEntries(Object.entries(byCode).map(([k, v]) => [k.toLowerCase(), v])),
  });
  expect(final.missing).toBe(0);
  expect(final.extra).toBe(0);
  expect(dlq.length).toBe(bad.length);
  expect(wrong).toEqual([]);
  expect(got.map((g) => g.kind).sort()).toEqual([...bad].sort());
  expect(droppedLines).toBeGreaterThan(0);
  expect(status.counters.failed).toBe(bad.length);
  // The same process throughout: never exited, one worker id reporting.
  expect(w.proc.exitCode).toBeNull();
  expect(w.proc.signalCode).toBeNull();
  expect(new Set(status.workers.map((x) => x.worker_id)).size).toBe(1);
});
