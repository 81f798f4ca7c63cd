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
  type IHeaders,
  Kafka,
  type KafkaConfig,
  type KafkaMessage,
  KafkaLogLevel as logLevel,
} from "@weir/connectors";
import {
  brokerList,
  DLQ_HEADER,
  DLQ_HEADER_PREFIX,
  type DlqRecord,
  type DlqStage,
  type KafkaSourceConfig,
  type SerializedError,
  WeirError,
} from "@weir/core";

/** A DLQ message with its raw bytes, kept for replay. */
export interface RawDlqMessage {
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer>;
}

export interface ReadRange {
  partition: number;
  /** First offset to read (inclusive). */
  start: bigint;
  /** Stop before this offset. */
  end: bigint;
}

export function kafkaFor(source: KafkaSourceConfig): Kafka {
  const config: KafkaConfig = {
    clientId: "weir-api",
    brokers: brokerList(source),
    connectionTimeout: 3000,
    requestTimeout: 10_000,
    retry: { retries: 2, initialRetryTime: 200 },
    logLevel: logLevel.NOTHING,
  };
  if (source.tls) {
    config.ssl =
      source.tls === true
        ? true
        : {
            ...(source.tls.ca ? { ca: [source.tls.ca] } : {}),
            ...(source.tls.cert ? { cert: source.tls.cert } : {}),
            ...(source.tls.key
              ? { key: typeof source.tls.key === "string" ? source.tls.key : source.tls.key.secret }
              : {}),
            ...(source.tls.reject_unauthorized !== undefined
              ? { rejectUnauthorized: source.tls.reject_unauthorized }
              : {}),
          };
  }
  if (source.sasl) {
    const password =
      typeof source.sasl.password === "string" ? source.sasl.password : source.sasl.password.secret;
    config.sasl = {
      mechanism: source.sasl.mechanism,
      username: source.sasl.username,
      password,
    } as KafkaConfig["sasl"];
  }
  return new Kafka(config);
}

function dlqError(message: string, cause: unknown): WeirError {
  return new WeirError("DLQ_ERROR", `${message}: ${(cause as Error)?.message ?? String(cause)}`, {
    cause,
    retryable: true,
  });
}

/** Low and high watermarks per partition; empty when the topic does not exist (nothing failed yet). */
export async function watermarks(
  kafka: Kafka,
  topic: string,
): Promise<{ partition: number; low: bigint; high: bigint }[]> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    // listTopics, not metadata for the topic: a metadata request may auto-create it.
    if (!(await admin.listTopics()).includes(topic)) return [];
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.map((o) => ({ partition: o.partition, low: BigInt(o.low), high: BigInt(o.high) }));
  } catch (err) {
    throw dlqError(`cannot read offsets of dead-letter topic ${topic}`, err);
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
    throw dlqError(`cannot read dead-letter topic ${topic}`, err);
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

function toRaw(partition: number, msg: KafkaMessage): RawDlqMessage {
  const headers: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(msg.headers ?? ({} as IHeaders))) {
    const first = Array.isArray(v) ? v[0] : v;
    if (first !== undefined) headers[k] = Buffer.isBuffer(first) ? first : Buffer.from(String(first));
  }
  return { partition, offset: msg.offset, key: msg.key ?? null, value: msg.value ?? null, headers };
}

export function pipelineOf(m: RawDlqMessage): string | undefined {
  return m.headers[DLQ_HEADER.pipelineId]?.toString("utf8");
}

function utf8(buf: Buffer | null): string | null | undefined {
  if (buf === null) return null;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(buf);
  } catch {
    return undefined;
  }
}

/** The API's view of a raw DLQ message (core's DlqRecord). */
export function toDlqRecord(m: RawDlqMessage): DlqRecord {
  const h = (name: string) => m.headers[name]?.toString("utf8");
  let error: SerializedError;
  try {
    error = JSON.parse(h(DLQ_HEADER.error) ?? "");
  } catch {
    error = { name: "Error", message: h(DLQ_HEADER.error) ?? "unknown", code: "INTERNAL", retryable: false };
  }
  const key = utf8(m.key);
  const value = utf8(m.value);
  const binary = key === undefined || value === undefined;
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(m.headers))
    headers[k] = binary ? v.toString("base64") : v.toString("utf8");
  return {
    id: `${m.partition}-${m.offset}`,
    dlq_partition: m.partition,
    dlq_offset: m.offset,
    pipeline_id: h(DLQ_HEADER.pipelineId) ?? "",
    source: {
      topic: h(DLQ_HEADER.sourceTopic) ?? "",
      partition: Number(h(DLQ_HEADER.sourcePartition) ?? -1),
      offset: h(DLQ_HEADER.sourceOffset) ?? "",
    },
    stage: (h(DLQ_HEADER.stage) ?? "handler") as DlqStage,
    error,
    attempts: Number(h(DLQ_HEADER.attempts) ?? 0),
    handler_version: h(DLQ_HEADER.handlerVersion) ?? null,
    failed_at: Number(h(DLQ_HEADER.failedAt) ?? 0),
    key: binary ? (m.key?.toString("base64") ?? null) : (key ?? null),
    value: binary ? (m.value?.toString("base64") ?? null) : (value ?? null),
    encoding: binary ? "base64" : "utf8",
    headers,
  };
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
        messages: messages.slice(i, i + 500).map((m) => ({
          key: m.key,
          value: m.value,
          headers: Object.fromEntries(
            Object.entries(m.headers).filter(([k]) => !k.startsWith(DLQ_HEADER_PREFIX)),
          ),
        })),
      });
    }
  } catch (err) {
    throw dlqError(`cannot replay to ${topic}`, err);
  } finally {
    await producer.disconnect().catch(() => {});
  }
}
