/**
 * The one place Weir imports `kafkajs`. Importing this file registers the snappy, lz4 and zstd
 * codecs, so every client made from the classes exported here (or anywhere else in the process)
 * reads and writes all of Kafka's compression codecs. The rest of Weir uses these re-exports, so a
 * change of client library is a change to this folder.
 */
import { Kafka, type KafkaConfig, logLevel } from "kafkajs";
import { registerCodecs } from "./codecs/index.ts";

registerCodecs();

export type {
  Admin,
  Consumer,
  ConsumerConfig,
  EachBatchPayload,
  IHeaders,
  KafkaConfig,
  KafkaMessage,
  logCreator,
  Message,
  Producer,
  ProducerConfig,
  SASLOptions,
} from "kafkajs";
export { CompressionTypes, Partitioners } from "kafkajs";
export { Kafka, logLevel as KafkaLogLevel };

/** A kafkajs client with Weir's codecs registered; `logLevel` defaults to NOTHING (callers report errors). */
export function createKafka(config: KafkaConfig): Kafka {
  return new Kafka({ logLevel: logLevel.NOTHING, ...config });
}
