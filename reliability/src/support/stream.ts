/**
 * The data a scenario sends and the exact key set it must find at the sink: OTLP trace messages from
 * @weir/generator, whose rows (spans lasting >= 1 ms) are keyed by the otel-traces handler's
 * fingerprint, md5(lower(trace_id) + lower(span_id)), computed here independently of the handler.
 */
import { createHash } from "node:crypto";
import { generateTraces, messageSeed } from "@weir/generator";
import { Kafka, logLevel, type Producer } from "kafkajs";
import { sleep } from "./scale.ts";

export interface TraceStream {
  /** Message values, in send order. */
  messages: string[];
  /** Fingerprints of every row the handler must write. */
  expected: Set<string>;
}

const NS_PER_MS = 1_000_000n;
const BASE_NS = 1_767_225_600_000_000_000n; // 2026-01-01T00:00:00Z: one day, one table partition

/**
 * `count` messages of `spansPerMessage` spans each, deterministic in `seed` (< 2^15). Streams of
 * different seeds share no message: messageSeed mixes `seed ^ index`, so the seed goes in the high
 * bits, out of reach of any index below 2^16.
 */
export function traceStream(count: number, seed: number, spansPerMessage = 20): TraceStream {
  if (seed >= 2 ** 15 || count > 2 ** 16) throw new RangeError("seed < 2^15 and count <= 2^16");
  const messages: string[] = [];
  const expected = new Set<string>();
  for (let i = 0; i < count; i++) {
    const g = generateTraces({
      seed: messageSeed(seed << 16, i),
      spansPerMessage,
      timeUnixNano: BASE_NS + BigInt(i) * 10n * NS_PER_MS,
    });
    let rows = 0;
    const keys: string[] = [];
    for (const rs of g.request.resourceSpans ?? [])
      for (const ss of rs.scopeSpans ?? [])
        for (const s of ss.spans ?? []) {
          const d = BigInt(s.endTimeUnixNano ?? 0) - BigInt(s.startTimeUnixNano ?? 0);
          if (d < NS_PER_MS) continue;
          rows++;
          const key = `${String(s.traceId).toLowerCase()}${String(s.spanId).toLowerCase()}`;
          keys.push(createHash("md5").update(key).digest("hex"));
        }
    if (rows !== g.expectedRows)
      throw new Error(`message ${i}: ${rows} rows, generator says ${g.expectedRows}`);
    // messageSeed is a 32-bit hash: over thousands of messages two may share a seed, hence spans. A
    // repeated key would hide a duplicate at the sink behind the test data's own: skip that message.
    if (keys.some((k) => expected.has(k))) continue;
    for (const k of keys) expected.add(k);
    messages.push(JSON.stringify(g.request));
  }
  return { messages, expected };
}

export interface ProduceProgress {
  /** Messages acknowledged so far. */
  sent: number;
  /** Sends that failed and were retried (broker down). */
  failedSends: number;
}

/**
 * Send `values` in chunks, round-robin over `partitions`, paced to about `perSecond`. A failed send
 * (broker down) is retried until it succeeds, so every value is acknowledged once the promise
 * resolves; a retry after an unacknowledged success may duplicate a message, which the key set
 * absorbs (same fingerprints).
 */
export async function produceAll(
  brokers: string[],
  topic: string,
  values: (string | Buffer | null)[],
  opts: { partitions: number; perSecond?: number; chunk?: number; progress?: ProduceProgress },
): Promise<ProduceProgress> {
  const progress = opts.progress ?? { sent: 0, failedSends: 0 };
  const chunk = opts.chunk ?? 50;
  const kafka = new Kafka({
    clientId: "weir-faults-producer",
    brokers,
    logLevel: logLevel.NOTHING,
    retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 2000 },
  });
  let producer: Producer | null = null;
  const started = Date.now();
  for (let i = 0; i < values.length; i += chunk) {
    const messages = values
      .slice(i, i + chunk)
      .map((value, j) => ({ value, partition: (i + j) % opts.partitions }));
    for (;;) {
      try {
        if (!producer) {
          producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
          await producer.connect();
        }
        await producer.send({ topic, messages, acks: -1 });
        break;
      } catch {
        progress.failedSends++;
        await producer?.disconnect().catch(() => undefined);
        producer = null;
        await sleep(500);
      }
    }
    progress.sent += messages.length;
    if (opts.perSecond) {
      const due = started + (progress.sent / opts.perSecond) * 1000;
      if (due > Date.now()) await sleep(due - Date.now());
    }
  }
  await producer?.disconnect().catch(() => undefined);
  return progress;
}

/** Create `topic` with `partitions` partitions on `brokers`. */
export async function createTopic(brokers: string[], topic: string, partitions: number): Promise<void> {
  const admin = new Kafka({ clientId: "weir-faults-admin", brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}
