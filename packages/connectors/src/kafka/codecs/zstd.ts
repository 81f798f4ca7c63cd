/**
 * Zstandard for Kafka record batches, on Node's own `node:zlib` (zstd since Node 23.8/22.15; Weir
 * runs on 24). Kafka's zstd payload is a plain zstd stream (the Java producer's `ZstdOutputStream`
 * may omit the content size; several concatenated frames are valid too), which the streaming
 * decoder behind `zlib.zstdDecompress` handles. Async variants run on the libuv pool, off the
 * consumer's event loop.
 */
import { promisify } from "node:util";
import { zstdCompress as zstdCompressCb, zstdDecompress as zstdDecompressCb } from "node:zlib";
import { CodecError, type KafkaCodec } from "./types.ts";

const compress = promisify(zstdCompressCb);
const decompress = promisify(zstdDecompressCb);

export function zstdCompress(plain: Buffer): Promise<Buffer> {
  return compress(plain);
}

export async function zstdDecompress(data: Buffer): Promise<Buffer> {
  try {
    return await decompress(data);
  } catch (err) {
    throw new CodecError("zstd", `corrupt zstd data of ${data.length} bytes: ${(err as Error).message}`, err);
  }
}

export const zstdCodec: KafkaCodec = { compress: zstdCompress, decompress: zstdDecompress };
