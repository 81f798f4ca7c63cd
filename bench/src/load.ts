/**
 * Loading the benchmark topic, and producing at a fixed rate for the latency run. Messages carry the
 * generator's `weir.produced_at` header and an explicit record timestamp (CreateTime) taken right
 * before the send, which is what the per-message latency is measured from.
 */
// Importing Weir's Kafka module registers snappy, lz4 and zstd with kafkajs (the producer here).
import { compressionType, type KafkaCompression } from "@weir/connectors";
import { PRODUCED_AT_HEADER } from "@weir/generator";
import { type Kafka, type Message, Partitioners, type Producer } from "kafkajs";
import { type BenchValue, benchValue, type DataSpec, type InputFormat, valueBytes } from "./data.ts";

export async function createTopic(kafka: Kafka, topic: string, partitions: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

export async function deleteTopic(kafka: Kafka, topic: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: [topic] });
  } catch {
    // best effort
  } finally {
    await admin.disconnect();
  }
}

async function producer(kafka: Kafka): Promise<Producer> {
  const p = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await p.connect();
  return p;
}

function record(value: BenchValue, partition: number, now: number): Message {
  const v = typeof value === "string" ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  return { value: v, partition, timestamp: String(now), headers: { [PRODUCED_AT_HEADER]: String(now) } };
}

export interface LoadStats {
  messages: number;
  spans: number;
  expectedRows: number;
  bytes: number;
  seconds: number;
}

/**
 * Generate and send `messages` messages round-robin over the partitions, as fast as the broker takes
 * them, 32 per send (8 per partition with 4 partitions: one record batch each, compressed with
 * `compression` by the producer, as the Collector's exporter does with its `compression` setting),
 * each value encoded as `format` says (otlp_json: the JSON string; otlp_proto: protobuf bytes).
 * `bytes` counts the values as produced (uncompressed).
 */
export async function loadTopic(
  kafka: Kafka,
  topic: string,
  partitions: number,
  spec: DataSpec,
  messages: number,
  onProgress?: (sent: number) => void,
  compression: KafkaCompression = "none",
  format: InputFormat = "otlp_json",
): Promise<LoadStats> {
  const codec = compressionType(compression);
  const p = await producer(kafka);
  const stats: LoadStats = { messages: 0, spans: 0, expectedRows: 0, bytes: 0, seconds: 0 };
  const t0 = performance.now();
  const inFlight = new Set<Promise<unknown>>();
  try {
    for (let i = 0; i < messages; ) {
      const batch: Message[] = [];
      const now = Date.now();
      for (let k = 0; k < 32 && i < messages; k++, i++) {
        const m = benchValue(spec, i, format);
        batch.push(record(m.value, i % partitions, now));
        stats.spans += m.spans;
        stats.expectedRows += m.expectedRows;
        stats.bytes += valueBytes(m.value);
      }
      const send = p.send({ topic, messages: batch, acks: -1, compression: codec }).then(() => {
        stats.messages += batch.length;
        onProgress?.(stats.messages);
      });
      inFlight.add(send);
      void send.finally(() => inFlight.delete(send));
      if (inFlight.size >= 4) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  } finally {
    await p.disconnect();
  }
  stats.seconds = (performance.now() - t0) / 1000;
  return stats;
}

/**
 * Produce pre-generated values at `perSecond` messages/s for `seconds`, sending whatever is due every
 * 10 ms, each record stamped when it is sent, each send's record batch compressed with `compression`.
 * Returns the number of messages sent.
 */
export async function producePaced(
  kafka: Kafka,
  topic: string,
  partitions: number,
  pool: Buffer[],
  perSecond: number,
  seconds: number,
  compression: KafkaCompression = "none",
): Promise<{ messages: number; startedAt: number; seconds: number }> {
  const codec = compressionType(compression);
  const p = await producer(kafka);
  const startedAt = Date.now();
  const total = Math.round(perSecond * seconds);
  let sent = 0;
  try {
    while (sent < total) {
      const due = Math.min(total, Math.floor(((Date.now() - startedAt) / 1000) * perSecond) + 1);
      // At most 8 messages (~650 KB) a send: after a stall the backlog would otherwise go out as one
      // request whose per-partition batch exceeds the broker's message.max.bytes (MESSAGE_TOO_LARGE).
      while (due > sent) {
        const now = Date.now();
        const batch: Message[] = [];
        for (const end = Math.min(due, sent + 8); sent < end; sent++)
          batch.push(record(pool[sent % pool.length]!, sent % partitions, now));
        await p.send({ topic, messages: batch, acks: 1, compression: codec });
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    await p.disconnect();
  }
  return { messages: sent, startedAt, seconds: (Date.now() - startedAt) / 1000 };
}
