/**
 * Produces generated traces to Kafka the way the Collector's kafka exporter does with
 * `encoding: otlp_json`: each message value is one ExportTraceServiceRequest as JSON, no key by default.
 */
import {
  compressionType,
  createKafka,
  type KafkaCompression,
  KafkaLogLevel,
  type Message,
  Partitioners,
} from "@weir/connectors";
import { messageSeed } from "./rng.ts";
import { generateTraces, type TraceGeneratorOptions } from "./traces.ts";

/** Header carrying the produce time (ms since epoch, decimal) so consumers can measure end-to-end latency. */
export const PRODUCED_AT_HEADER = "weir.produced_at";

export interface ProduceOptions extends Omit<TraceGeneratorOptions, "seed" | "timeUnixNano"> {
  brokers: string[];
  topic: string;
  /** Messages to send. */
  messages: number;
  /** Messages per second; 0 or absent = as fast as the broker takes them. */
  ratePerSec?: number;
  /** Run seed; message i uses a seed derived from (seed, i). Default 1. */
  seed?: number;
  /** "none" like the Collector's default, or the first trace id of the message (keeps a trace on one partition). */
  key?: "none" | "traceId";
  /** Create the topic with this many partitions if it does not exist (otherwise the broker's auto-create applies). */
  partitions?: number;
  /** Batch codec: none (default), gzip, snappy (the Collector's example config), lz4 or zstd. */
  compression?: KafkaCompression;
  clientId?: string;
  /** Called after each send with running stats (progress output in the CLI). */
  onProgress?: (stats: ProduceStats) => void;
}

export interface ProduceStats {
  messages: number;
  spans: number;
  /** Rows the otel-traces handler should write: spans lasting >= 1 ms. */
  expectedRows: number;
  /** Total bytes of message values. */
  bytes: number;
  elapsedMs: number;
  /** Produce time per message (ms since epoch), also sent in the `weir.produced_at` header. */
  producedAt: number[];
}

/** Send `messages` ExportTraceServiceRequests to `topic`, paced at `ratePerSec`, and say what was sent. */
export async function produceTraces(options: ProduceOptions): Promise<ProduceStats> {
  const { brokers, topic, messages, ratePerSec = 0, seed = 1, key = "none", onProgress } = options;
  if (!Number.isInteger(messages) || messages < 0)
    throw new RangeError(`messages must be >= 0, got ${messages}`);
  const kafka = createKafka({
    clientId: options.clientId ?? "weir-generator",
    brokers,
    logLevel: KafkaLogLevel.WARN,
  });
  if (options.partitions) {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const existing = await admin.listTopics();
      if (!existing.includes(topic)) {
        await admin.createTopics({
          topics: [{ topic, numPartitions: options.partitions }],
          waitForLeaders: true,
        });
      }
    } finally {
      await admin.disconnect();
    }
  }
  // Explicit partitioner: the murmur2 default (Java-compatible), and no kafkajs v2 warning on every run.
  const producer = kafka.producer({
    allowAutoTopicCreation: true,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  const stats: ProduceStats = {
    messages: 0,
    spans: 0,
    expectedRows: 0,
    bytes: 0,
    elapsedMs: 0,
    producedAt: [],
  };
  const started = Date.now();
  const compression = compressionType(options.compression);
  // Unpaced runs send in batches for throughput; paced runs send whatever is due, at most every 10 ms.
  const maxBatch = ratePerSec > 0 ? Math.max(1, Math.ceil(ratePerSec / 100)) : 100;
  try {
    while (stats.messages < messages) {
      if (ratePerSec > 0) {
        const dueAt = started + (stats.messages / ratePerSec) * 1000;
        const wait = dueAt - Date.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      }
      const batch: Message[] = [];
      const now = Date.now();
      const due = ratePerSec > 0 ? Math.floor(((now - started) / 1000) * ratePerSec) + 1 : messages;
      const count = Math.min(maxBatch, messages - stats.messages, Math.max(1, due - stats.messages));
      for (let i = 0; i < count; i++) {
        const index = stats.messages + i;
        const generated = generateTraces({
          ...options,
          seed: messageSeed(seed, index),
          timeUnixNano: BigInt(now) * 1_000_000n,
        });
        const value = Buffer.from(JSON.stringify(generated.request));
        batch.push({
          key: key === "traceId" ? (generated.traceIds[0] ?? null) : null,
          value,
          headers: { [PRODUCED_AT_HEADER]: String(now) },
        });
        stats.spans += generated.spans;
        stats.expectedRows += generated.expectedRows;
        stats.bytes += value.length;
        stats.producedAt.push(now);
      }
      await producer.send({ topic, messages: batch, compression, acks: -1 });
      stats.messages += batch.length;
      stats.elapsedMs = Date.now() - started;
      onProgress?.(stats);
    }
  } finally {
    await producer.disconnect();
  }
  stats.elapsedMs = Date.now() - started;
  return stats;
}
