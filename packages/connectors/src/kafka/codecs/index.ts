/**
 * Teaching kafkajs the codecs it lacks. kafkajs 2.2.4 decodes gzip only; its codec table
 * (`CompressionCodecs`, keyed by the batch attribute's codec id) is a mutable object, so each entry
 * is replaced by a factory returning our codec. Done once per process, on first import of the Kafka
 * module, before any client exists.
 */
// Default import: Node's CommonJS export detection misses `CompressionCodecs` (a member-expression
// property of kafkajs' module.exports), so a named import of it fails at load time.
import kafkajs from "kafkajs";
import { lz4Codec } from "./lz4.ts";
import { snappyCodec } from "./snappy.ts";
import type { KafkaCodec } from "./types.ts";
import { zstdCodec } from "./zstd.ts";

/** kafkajs' view of a codec: `compress` gets its record Encoder, not bytes. */
interface KafkajsCodec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

function adapt(codec: KafkaCodec): () => KafkajsCodec {
  const adapted: KafkajsCodec = {
    compress: (encoder) => codec.compress(encoder.buffer),
    decompress: (buffer) => codec.decompress(buffer),
  };
  return () => adapted;
}

let registered = false;

/** Register snappy, lz4 and zstd with kafkajs (gzip is built in). Idempotent. */
export function registerCodecs(): void {
  if (registered) return;
  const { CompressionCodecs, CompressionTypes } = kafkajs;
  const table = CompressionCodecs as Record<number, () => KafkajsCodec>;
  table[CompressionTypes.Snappy] = adapt(snappyCodec);
  table[CompressionTypes.LZ4] = adapt(lz4Codec);
  table[CompressionTypes.ZSTD] = adapt(zstdCodec);
  registered = true;
}
