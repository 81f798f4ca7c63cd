/**
 * The shape kafkajs expects of a compression codec, and the error a broken compressed batch raises.
 */
import { WeirError } from "@weir/core";

/** Codecs kafkajs can be taught; gzip is built in. */
export type CodecName = "gzip" | "snappy" | "lz4" | "zstd";

/**
 * A codec over whole record-batch payloads: `compress` gets the encoded records of one batch,
 * `decompress` gets the compressed bytes of one batch as the broker returned them.
 */
export interface KafkaCodec {
  compress(plain: Buffer): Promise<Buffer>;
  decompress(compressed: Buffer): Promise<Buffer>;
}

/**
 * A compressed batch that cannot be decoded (truncated, corrupt, or not the codec its attributes
 * say). Not retryable: fetching the same bytes again gives the same failure.
 */
export class CodecError extends WeirError {
  constructor(codec: CodecName, message: string, cause?: unknown) {
    super("DECODE_ERROR", `${codec}: ${message}`, {
      retryable: false,
      details: { codec },
      ...(cause === undefined ? {} : { cause }),
    });
  }
}
