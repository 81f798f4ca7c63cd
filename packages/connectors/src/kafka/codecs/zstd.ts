/**
 * Zstandard for Kafka record batches, on Node's own `node:zlib` (zstd since Node 23.8/22.15; Weir
 * runs on 24). Kafka's zstd payload is a plain zstd stream (the Java producer's `ZstdOutputStream`
 * may omit the content size; several concatenated frames are valid too), which the streaming
 * decoder behind `zlib.zstdDecompress` handles. Async variants run on the libuv pool, off the
 * consumer's event loop.
 */
import { promisify } from "node:util";
import * as zlib from "node:zlib";
import { CodecError, type KafkaCodec } from "./types.ts";

type Codec = (data: Buffer) => Promise<Buffer>;

// Looked up, not imported by name: on a Node without zstd (before 22.15) a named import would fail
// the whole Kafka module at load; this way only a zstd batch fails, with a message that says why.
function zstd(name: "zstdCompress" | "zstdDecompress"): Codec {
  const fn = (zlib as Record<string, unknown>)[name];
  if (typeof fn !== "function") {
    return () =>
      Promise.reject(
        new CodecError("zstd", `this Node (${process.version}) has no zlib.${name}; Weir needs Node 24`),
      );
  }
  return promisify(fn as (data: Buffer, cb: (err: Error | null, out: Buffer) => void) => void);
}

const compress = zstd("zstdCompress");
const decompress = zstd("zstdDecompress");

export function zstdCompress(plain: Buffer): Promise<Buffer> {
  return compress(plain);
}

export async function zstdDecompress(data: Buffer): Promise<Buffer> {
  try {
    return await decompress(data);
  } catch (err) {
    if (err instanceof CodecError) throw err;
    throw new CodecError("zstd", `corrupt zstd data of ${data.length} bytes: ${(err as Error).message}`, err);
  }
}

export const zstdCodec: KafkaCodec = { compress: zstdCompress, decompress: zstdDecompress };
