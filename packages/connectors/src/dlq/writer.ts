/**
 * Writes dead-letter records to the pipeline's DLQ topic: acks from all in-sync replicas, an
 * idempotent producer (no duplicates from the producer's own retries), and the topic created at
 * connect when missing. A failed write is DLQ_ERROR, retryable: the worker must not commit the
 * source offsets of records that are not in the DLQ yet.
 */
import { WeirError } from "@weir/core";
import { compressionType, type KafkaCompression } from "../kafka/compression.ts";
import type { Kafka, Producer } from "../kafka/kafkajs.ts";
import { messageOf } from "../sinks/classify.ts";
import { type DlqInput, encodeDlqMessage } from "./codec.ts";

export interface DlqWriterOptions {
  /** Partitions of a topic this writer creates (DLQ traffic is low; order across partitions is not needed). */
  numPartitions?: number;
  /** -1: the broker's default. */
  replicationFactor?: number;
  /** Codec of the produced batches (the spec's `dead_letter.compression`); default none. */
  compression?: KafkaCompression;
}

export class DlqWriter {
  private producer: Producer | undefined;
  private connecting: Promise<void> | undefined;

  private readonly kafka: Kafka;
  readonly topic: string;
  private readonly options: DlqWriterOptions;
  constructor(kafka: Kafka, topic: string, options: DlqWriterOptions = {}) {
    this.kafka = kafka;
    this.topic = topic;
    this.options = options;
  }

  /** Create the topic when missing and connect the producer. Safe to call again. */
  connect(): Promise<void> {
    this.connecting ??= this.doConnect().catch((err: unknown) => {
      this.connecting = undefined;
      throw err;
    });
    return this.connecting;
  }

  private async doConnect(): Promise<void> {
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      const existing = await admin.listTopics();
      if (!existing.includes(this.topic)) {
        try {
          await admin.createTopics({
            waitForLeaders: true,
            topics: [
              {
                topic: this.topic,
                numPartitions: this.options.numPartitions ?? 1,
                replicationFactor: this.options.replicationFactor ?? -1,
              },
            ],
          });
        } catch (err) {
          // Another worker may have created it between our list and create.
          if (!(await admin.listTopics()).includes(this.topic)) throw err;
        }
      }
      const producer = this.kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
      });
      await producer.connect();
      this.producer = producer;
    } catch (err) {
      throw new WeirError("DLQ_ERROR", `cannot prepare dead-letter topic ${this.topic}: ${messageOf(err)}`, {
        retryable: true,
        cause: err,
        details: { topic: this.topic },
      });
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  /** Write records in one produce request; resolves once every in-sync replica has them. */
  async write(records: DlqInput[]): Promise<void> {
    if (records.length === 0) return;
    if (!this.producer) await this.connect();
    const now = Date.now();
    try {
      await this.producer!.send({
        topic: this.topic,
        acks: -1,
        compression: compressionType(this.options.compression),
        messages: records.map((r) => encodeDlqMessage(r, now)),
      });
    } catch (err) {
      throw new WeirError(
        "DLQ_ERROR",
        `writing ${records.length} record(s) to ${this.topic} failed: ${messageOf(err)}`,
        {
          retryable: true,
          cause: err,
          details: { topic: this.topic, records: records.length },
        },
      );
    }
  }

  /** Idempotent. */
  async close(): Promise<void> {
    const p = this.producer;
    this.producer = undefined;
    this.connecting = undefined;
    await p?.disconnect();
  }
}
