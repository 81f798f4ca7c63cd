/**
 * Weir's Kafka module: client creation, the codecs (snappy, lz4, zstd registered on import; gzip
 * built in), compression names, the source's client config, and the client types the worker, the
 * API and the generator use. Nothing outside this folder imports `kafkajs` in production code.
 */

export {
  type KafkaClientOptions,
  kafkaClientConfig,
} from "../sources/kafka/client.ts";
export { registerCodecs } from "./codecs/index.ts";
export { lz4Compress, lz4Decompress } from "./codecs/lz4.ts";
export { isXerial, snappyCompressRaw, snappyCompressXerial, snappyDecompress } from "./codecs/snappy.ts";
export { CodecError, type CodecName, type KafkaCodec } from "./codecs/types.ts";
export { zstdCompress, zstdDecompress } from "./codecs/zstd.ts";
export { compressionType, KAFKA_COMPRESSIONS, type KafkaCompression } from "./compression.ts";
export {
  type Admin,
  CompressionTypes,
  type Consumer,
  type ConsumerConfig,
  createKafka,
  type EachBatchPayload,
  evictGroupMembers,
  type IHeaders,
  type ISocketFactory,
  Kafka,
  type KafkaConfig,
  KafkaLogLevel,
  type KafkaMessage,
  type logCreator,
  type Message,
  Partitioners,
  type Producer,
  type ProducerConfig,
  type SASLOptions,
} from "./kafkajs.ts";
export { egressSocketFactory } from "./socket-factory.ts";
