/**
 * LZ4 for Kafka record batches, on `lz4-napi` (napi-rs over Rust `lz4_flex`; prebuilt binaries
 * ship as npm packages). Kafka (record batch v2, i.e. every producer since 0.11) uses the standard
 * LZ4 frame format: magic `04 22 4D 18`, a frame descriptor, then blocks of at most the descriptor's
 * maximum size, each compressed or stored. The Java producer writes 64 KiB independent blocks and
 * no content checksum; lz4_flex's frame defaults are the same, which is also what the Java
 * consumer's `Lz4BlockInputStream` requires (it decodes each block on its own).
 * (The broken header checksum of magic-v0 messages is not handled: kafkajs fetches v2 batches.)
 */
import { CodecError, type KafkaCodec } from "./types.ts";

// Loaded on first use: a process that never sees an lz4 batch never loads the native addon.
let lib: Promise<typeof import("lz4-napi")> | undefined;
const lz4 = () => {
  lib ??= import("lz4-napi");
  return lib;
};

/** LZ4 frame magic number, little-endian 0x184D2204. */
export const LZ4_FRAME_MAGIC = Buffer.from([0x04, 0x22, 0x4d, 0x18]);

/** Encode one LZ4 frame (64 KiB independent blocks, no checksums). */
export async function lz4Compress(plain: Buffer): Promise<Buffer> {
  return (await lz4()).compressFrame(plain, { blockChecksums: false, contentChecksum: false });
}

/** Decode one LZ4 frame (any block size, stored or compressed blocks, optional checksums verified). */
export async function lz4Decompress(data: Buffer): Promise<Buffer> {
  if (data.length < 7 || !data.subarray(0, 4).equals(LZ4_FRAME_MAGIC)) {
    throw new CodecError("lz4", `not an LZ4 frame (${data.length} bytes, no magic number)`);
  }
  const { decompressFrame } = await lz4();
  try {
    return await decompressFrame(data);
  } catch (err) {
    throw new CodecError("lz4", `corrupt LZ4 frame of ${data.length} bytes: ${(err as Error).message}`, err);
  }
}

export const lz4Codec: KafkaCodec = { compress: lz4Compress, decompress: lz4Decompress };
