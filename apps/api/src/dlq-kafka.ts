/**
 * Reading, replaying and measuring a pipeline's dead-letter topic through Weir's Kafka module (so
 * records a DLQ producer compressed with snappy, lz4 or zstd decode too).
 *
 * Reads go from a start offset (the topic's low watermark or the pipeline's purge mark) up to the
 * high watermark taken when the read starts, through a throwaway consumer group that never commits
 * and is deleted afterwards, so the worker's group is never touched. Several pipelines may share a
 * dead-letter topic, so records are filtered on the `weir.pipeline_id` header.
 */
import { randomBytes } from "node:crypto";
import {
  type ConsumedMessage,
  classifyKafkaError,
  createKafka,
  dlqReplayMessage,
  type Kafka,
  kafkaClientConfig,
  parseDlqMessage,
} from "@weir/connectors";
import {
  DLQ_HEADER,
  type DlqRecord,
  type EgressPolicy,
  isWeirError,
  type KafkaSourceConfig,
  WeirError,
} from "@weir/core";

/**
 * A DLQ message as consumed (raw key, value and headers, repeated headers kept), with its
 * partition; parsed for display and rebuilt for replay by @weir/connectors' DLQ codec, the same
 * module the worker's DLQ writer encodes with.
 */
export interface RawDlqMessage extends ConsumedMessage {
  partition: number;
}

export interface ReadRange {
  partition: number;
  /** First offset to read (inclusive). */
  start: bigint;
  /** Stop before this offset. */
  end: bigint;
}

/**
 * A client for a pipeline's cluster: the source's brokers, SASL and TLS, as the worker connects;
 * with `egress`, every broker connection (bootstrap and advertised) passes the policy.
 */
export function kafkaFor(source: KafkaSourceConfig, egress?: EgressPolicy): Kafka {
  return createKafka({
    ...kafkaClientConfig(source, "weir-api", { connectionTimeoutMs: 3000, requestTimeoutMs: 10_000, egress }),
    retry: { retries: 2, initialRetryTime: 200 },
  });
}

function dlqError(message: string, cause: unknown): WeirError {
  // A broker connection the egress policy refused stays EGRESS_DENIED (403), as the check before it.
  const refused = classifyKafkaError(cause);
  if (isWeirError(refused) && refused.code === "EGRESS_DENIED") return refused;
  return new WeirError("DLQ_ERROR", `${message}: ${(cause as Error)?.message ?? String(cause)}`, {
    cause,
    retryable: true,
  });
}

/** Low and high watermarks per partition; empty when the topic does not exist (nothing failed yet). */
export async function watermarks(
  kafka: Kafka,
  topic: string,
  what = "dead-letter topic",
): Promise<{ partition: number; low: bigint; high: bigint }[]> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    // listTopics, not metadata for the topic: a metadata request may auto-create it.
    if (!(await admin.listTopics()).includes(topic)) return [];
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.map((o) => ({ partition: o.partition, low: BigInt(o.low), high: BigInt(o.high) }));
  } catch (err) {
    throw dlqError(`cannot read offsets of ${what} ${topic}`, err);
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/**
 * Read `ranges` of `topic`; `keep` filters, and reading stops once `max` messages were kept.
 * Returns the kept messages in partition/offset order and whether the read stopped early.
 */
export async function readRanges(
  kafka: Kafka,
  topic: string,
  ranges: ReadRange[],
  keep: (m: RawDlqMessage) => boolean,
  max: number,
  timeoutMs = 20_000,
  what = "dead-letter topic",
): Promise<{ messages: RawDlqMessage[]; truncated: boolean }> {
  const todo = new Map(ranges.filter((r) => r.start < r.end).map((r) => [r.partition, r]));
  if (todo.size === 0) return { messages: [], truncated: false };
  const groupId = `weir-api-dlq-${randomBytes(6).toString("hex")}`;
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 200 });
  const kept: RawDlqMessage[] = [];
  let truncated = false;
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        resolve();
      };
      consumer
        .run({
          autoCommit: false,
          eachBatchAutoResolve: true,
          eachBatch: async ({ batch }) => {
            const range = todo.get(batch.partition);
            if (!range) return;
            for (const msg of batch.messages) {
              const off = BigInt(msg.offset);
              if (off < range.start) continue;
              if (off >= range.end) break;
              const raw = toRaw(batch.partition, msg);
              if (keep(raw)) kept.push(raw);
              if (kept.length > max) {
                truncated = true;
                todo.clear();
                break;
              }
              if (off === range.end - 1n) todo.delete(batch.partition);
            }
            // Offsets can have gaps (transaction markers); the batch's last offset settles it.
            if (todo.has(batch.partition) && BigInt(batch.lastOffset()) >= range.end - 1n)
              todo.delete(batch.partition);
            if (todo.size === 0) finish();
          },
        })
        .then(() => {
          for (const r of todo.values())
            consumer.seek({ topic, partition: r.partition, offset: r.start.toString() });
        }, reject);
    });
  } catch (err) {
    throw dlqError(`cannot read ${what} ${topic}`, err);
  } finally {
    await consumer.disconnect().catch(() => {});
    const admin = kafka.admin();
    await admin
      .connect()
      .then(() => admin.deleteGroups([groupId]))
      .catch(() => {})
      .finally(() => admin.disconnect().catch(() => {}));
  }
  kept.sort((a, b) => a.partition - b.partition || (BigInt(a.offset) < BigInt(b.offset) ? -1 : 1));
  return { messages: kept.slice(0, max), truncated };
}

function toRaw(partition: number, msg: ConsumedMessage): RawDlqMessage {
  return {
    partition,
    offset: msg.offset,
    timestamp: msg.timestamp,
    key: msg.key ?? null,
    value: msg.value ?? null,
    headers: msg.headers ?? {},
  };
}

export function pipelineOf(m: RawDlqMessage): string | undefined {
  const v = m.headers?.[DLQ_HEADER.pipelineId];
  const one = Array.isArray(v) ? v[v.length - 1] : v;
  return one === undefined ? undefined : one.toString();
}

/** The API's view of a raw DLQ message (core's DlqRecord), by the shared codec. */
export function toDlqRecord(m: RawDlqMessage): DlqRecord {
  return parseDlqMessage(m, m.partition);
}

/** Produce records back to `topic` with their original key, value and non-`weir.*` headers. */
export async function replay(kafka: Kafka, topic: string, messages: RawDlqMessage[]): Promise<void> {
  if (messages.length === 0) return;
  const producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: false });
  try {
    await producer.connect();
    for (let i = 0; i < messages.length; i += 500) {
      await producer.send({
        topic,
        acks: -1,
        messages: messages.slice(i, i + 500).map((m) => {
          const { key, value, headers } = dlqReplayMessage(m);
          return { key, value, headers };
        }),
      });
    }
  } catch (err) {
    throw dlqError(`cannot replay to ${topic}`, err);
  } finally {
    await producer.disconnect().catch(() => {});
  }
}
