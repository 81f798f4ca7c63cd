/**
 * Weir's names for Kafka's compression codecs and their kafkajs ids. The spec's
 * `dead_letter.compression` and the generator's `--compression` use these names.
 */
import { CompressionTypes } from "./kafkajs.ts";

/** Every codec a Kafka producer can use, plus none. */
export const KAFKA_COMPRESSIONS = ["none", "gzip", "snappy", "lz4", "zstd"] as const;
export type KafkaCompression = (typeof KAFKA_COMPRESSIONS)[number];

const TYPES: Record<KafkaCompression, CompressionTypes> = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
};

/** The kafkajs `compression` value for a name; undefined means none. Throws RangeError on an unknown name. */
export function compressionType(name: KafkaCompression | undefined): CompressionTypes {
  if (name === undefined) return CompressionTypes.None;
  const type = TYPES[name];
  if (type === undefined) {
    throw new RangeError(
      `unknown compression ${JSON.stringify(name)}; expected one of ${KAFKA_COMPRESSIONS.join(", ")}`,
    );
  }
  return type;
}
