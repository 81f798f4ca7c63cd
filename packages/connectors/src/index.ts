/**
 * @weir/connectors: the Kafka module (the one place that imports kafkajs: clients, codecs, types),
 * the sinks (ClickHouse, webhook, embedded ClickHouse) behind one lifecycle, and the dead-letter
 * writer and format. The worker owns the consumer loop, batching, retries and offsets; this package
 * owns talking to the outside.
 * The sink conformance suite is test-only: `@weir/connectors/testing`.
 */
export {
  BINARY_HEADER_PREFIX,
  type ConsumedMessage,
  type DlqInput,
  type DlqMessage,
  dlqReplayMessage,
  encodeDlqMessage,
  type HeaderValue,
  parseDlqMessage,
} from "./dlq/codec.ts";
export { DlqWriter, type DlqWriterOptions } from "./dlq/writer.ts";
export { type EgressGuard, egressGuard, egressRefusal } from "./egress/guard.ts";
export { guardedDispatcher, guardedHttpAgent } from "./egress/http.ts";
export {
  type Admin,
  CodecError,
  type CodecName,
  CompressionTypes,
  type Consumer,
  type ConsumerConfig,
  compressionType,
  createKafka,
  type EachBatchPayload,
  egressSocketFactory,
  evictGroupMembers,
  type IHeaders,
  type ISocketFactory,
  KAFKA_COMPRESSIONS,
  Kafka,
  type KafkaClientOptions,
  type KafkaCompression,
  type KafkaConfig,
  KafkaLogLevel,
  type KafkaMessage,
  kafkaClientConfig,
  type logCreator,
  type Message,
  Partitioners,
  type Producer,
  type ProducerConfig,
  type SASLOptions,
} from "./kafka/index.ts";
export {
  CLICKHOUSE_ERROR_CLASSES,
  classifySinkFailure,
  type ErrorClass,
  parseClickHouseCode,
  parseRetryAfter,
  type SinkFailure,
} from "./sinks/classify.ts";
export { ClickHouseSink } from "./sinks/clickhouse/sink.ts";
export { EmbeddedClickHouseSink } from "./sinks/embedded-clickhouse/sink.ts";
export { createSink, SINK_TYPES } from "./sinks/registry.ts";
export {
  type BatchIdentity,
  type BatchLimits,
  batchLimits,
  dedupToken,
  type Sink,
  type SinkBatch,
  type SinkCapabilities,
  type SinkContext,
  type SinkLogger,
  type SinkLogLevel,
} from "./sinks/types.ts";
export { WebhookSink } from "./sinks/webhook/sink.ts";
export { classifyKafkaError } from "./sources/kafka/errors.ts";
