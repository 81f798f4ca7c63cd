/**
 * The Kafka source: one consumer in the pipeline's group (manual commits, batches per partition,
 * partitions processed concurrently), an admin client to read committed offsets with their
 * metadata, and eviction of the members a killed cell left in the group so the fresh cell gets
 * their partitions now instead of after their session timeout.
 */
import {
  type Admin,
  type Consumer,
  classifyKafkaError,
  evictGroupMembers,
  Kafka,
  kafkaClientConfig,
  KafkaLogLevel as logLevel,
} from "@weir/connectors";
import type { EgressPolicy, KafkaSourceConfig } from "@weir/core";
import type { Logger } from "pino";
import type { Committed, Source, SourceHandlers } from "./source.ts";

export interface KafkaSourceOptions {
  config: KafkaSourceConfig;
  groupId: string;
  clientId: string;
  sessionTimeoutMs: number;
  partitionConcurrency: number;
  /** Members of this group left by a killed process: removed before joining. */
  evict: readonly string[];
  log: Logger;
  /** kafkajs maxWaitTimeInMs (WEIR_WORKER_FETCH_WAIT_MS). */
  fetchWaitMs: number;
  /** Enforced on every broker connection, bootstrap and advertised. */
  egress?: EgressPolicy | undefined;
}

/**
 * Fetch sizes (compressed bytes, as the broker sends them). Everything fetched stays in memory until
 * its batch is committed, and a zstd batch of OTLP JSON is ~2.4x larger decompressed: at 8 MB per
 * partition and 32 MB per fetch, one busy zstd pipeline's cell peaked near 1.5 GB (bench/README.md,
 * "Busy worker"). Smaller fetches bound that without costing throughput (measured there too).
 */
const FETCH_MAX_BYTES_PER_PARTITION = 2 * 1024 * 1024;
const FETCH_MAX_BYTES = 8 * 1024 * 1024;

export class KafkaSource implements Source {
  readonly topic: string;
  private kafka: Kafka | null = null;
  private consumer: Consumer | null = null;
  private admin: Admin | null = null;
  private member: string | null = null;
  private partitions: number | null = null;
  private closing = false;
  private readonly o: KafkaSourceOptions;
  constructor(options: KafkaSourceOptions) {
    this.o = options;
    this.topic = options.config.topic;
  }

  /** Heartbeats during a long call: a tenth of the session timeout, at least every 500 ms. */
  get heartbeatMs(): number {
    return Math.max(500, Math.floor(this.o.sessionTimeoutMs / 10));
  }

  async start(h: SourceHandlers): Promise<void> {
    const { config, groupId } = this.o;
    this.kafka = new Kafka({
      ...kafkaClientConfig(config, this.o.clientId, { egress: this.o.egress }),
      logLevel: logLevel.ERROR,
    });
    this.admin = this.kafka.admin();
    await this.admin.connect();
    await this.evict();
    const consumer = this.kafka.consumer({
      groupId,
      sessionTimeout: this.o.sessionTimeoutMs,
      heartbeatInterval: this.heartbeatMs,
      maxBytesPerPartition: FETCH_MAX_BYTES_PER_PARTITION,
      maxBytes: FETCH_MAX_BYTES,
      // How long an idle fetch waits at the broker (records return as soon as they arrive; the batch
      // wait is the runner's own timer). Longer: cheaper idle pipelines, slower stops and rebalances.
      maxWaitTimeInMs: this.o.fetchWaitMs,
    });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      this.member = e.payload.memberId;
      h.reassigned();
      void this.readPartitionCount();
    });
    consumer.on(consumer.events.CRASH, (e) => {
      h.reassigned();
      h.crashed(classifyKafkaError(e.payload.error, config));
    });
    await consumer.connect();
    await consumer.subscribe({ topic: this.topic, fromBeginning: config.auto_offset_reset === "earliest" });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.o.partitionConcurrency,
      eachBatch: ({ batch, resolveOffset, heartbeat, isRunning, isStale }) =>
        h.batch({
          topic: batch.topic,
          partition: batch.partition,
          highWatermark: batch.highWatermark,
          messages: batch.messages,
          isActive: () => !this.closing && isRunning() && !isStale(),
          resolve: resolveOffset,
          heartbeat,
        }),
    });
  }

  partitionCount(): number | null {
    return this.partitions;
  }

  /** On every group join (a partition added to the topic causes one): best effort, for placement. */
  private async readPartitionCount(): Promise<void> {
    try {
      const md = await this.admin?.fetchTopicMetadata({ topics: [this.topic] });
      const n = md?.topics[0]?.partitions.length;
      if (n) this.partitions = n;
    } catch {
      // The next join tries again; placement keeps the last known count.
    }
  }

  /**
   * A killed cell sent no LeaveGroup: its members keep their partitions until their session times
   * out. Remove them first. Best effort: if it fails, the session timeout does it later.
   */
  private async evict(): Promise<void> {
    if (this.o.evict.length === 0) return;
    try {
      const removed = await evictGroupMembers(this.kafka!, this.o.groupId, this.o.evict);
      this.o.log.info({ group: this.o.groupId, removed }, "evicted the members a killed cell left");
    } catch (err) {
      this.o.log.warn({ err, group: this.o.groupId }, "could not evict a killed cell's members");
    }
  }

  async committed(partition: number): Promise<Committed> {
    const offsets = await this.admin!.fetchOffsets({ groupId: this.o.groupId, topics: [this.topic] });
    const mine = offsets[0]?.partitions.find((x) => x.partition === partition);
    return {
      offset: mine && mine.offset !== "-1" ? mine.offset : null,
      metadata: mine?.metadata ?? null,
    };
  }

  async commit(partition: number, offset: string, metadata: string | null): Promise<void> {
    await this.consumer!.commitOffsets([{ topic: this.topic, partition, offset, metadata }]);
  }

  pause(partition?: number): void {
    try {
      this.consumer?.pause([
        partition === undefined ? { topic: this.topic } : { topic: this.topic, partitions: [partition] },
      ]);
    } catch {
      // not running: nothing to pause
    }
  }

  resume(partition: number): void {
    this.consumer?.resume([{ topic: this.topic, partitions: [partition] }]);
  }

  seek(partition: number, offset: string): void {
    try {
      this.consumer?.seek({ topic: this.topic, partition, offset });
    } catch (err) {
      // Not running: the next start reads from the committed offset anyway.
      this.o.log.warn({ err, partition, offset }, "seek failed");
    }
  }

  memberId(): string | null {
    return this.member;
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.allSettled([this.consumer?.disconnect(), this.admin?.disconnect()]);
    this.consumer = null;
    this.admin = null;
    this.kafka = null;
  }
}
