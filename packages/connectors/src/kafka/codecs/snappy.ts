/**
 * Snappy for Kafka record batches, on `snappy` (napi-rs, Rust `snap`; prebuilt binaries ship as
 * npm packages). Kafka's Java client wraps snappy in xerial's stream framing (snappy-java's
 * `SnappyOutputStream`): a 16-byte header (magic `\x82SNAPPY\0`, version, compatible version) then
 * chunks of `[int32 big-endian length][raw snappy block]`. librdkafka and most non-Java clients
 * write one raw snappy block instead. Both decode here; we encode xerial like the Java producer,
 * which every consumer (Java, librdkafka, Go, kafkajs with this codec) reads.
 */
import { CodecError, type KafkaCodec } from "./types.ts";

// Loaded on first use: a process that never sees a snappy batch never loads the native addon.
let lib: Promise<typeof import("snappy")> | undefined;
const snappy = () => {
  lib ??= import("snappy");
  return lib;
};

/** xerial's magic: `\x82SNAPPY\0`. */
export const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_BYTES = 16;
/** snappy-java's default block size; the Java producer's chunks are at most this much plaintext. */
export const XERIAL_BLOCK_BYTES = 32 * 1024;

/** True when `data` starts with the xerial stream header. */
export function isXerial(data: Buffer): boolean {
  return data.length >= XERIAL_HEADER_BYTES && data.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC);
}

async function raw(block: Buffer): Promise<Buffer> {
  try {
    // `asBuffer: true` returns the bytes, not a UTF-8 string.
    return (await (await snappy()).uncompress(block, { asBuffer: true })) as Buffer;
  } catch (err) {
    throw new CodecError(
      "snappy",
      `corrupt snappy block of ${block.length} bytes: ${(err as Error).message}`,
      err,
    );
  }
}

/** Decode xerial-framed or raw snappy. */
export async function snappyDecompress(data: Buffer): Promise<Buffer> {
  if (!isXerial(data)) return raw(data);
  const parts: Buffer[] = [];
  let offset = XERIAL_HEADER_BYTES;
  while (offset < data.length) {
    if (offset + 4 > data.length)
      throw new CodecError("snappy", `truncated xerial chunk header at byte ${offset}`);
    const length = data.readUInt32BE(offset);
    offset += 4;
    if (offset + length > data.length) {
      throw new CodecError("snappy", `xerial chunk of ${length} bytes at byte ${offset} runs past the end`);
    }
    parts.push(await raw(data.subarray(offset, offset + length)));
    offset += length;
  }
  return Buffer.concat(parts);
}

/** Encode in xerial framing, `blockBytes` of plaintext per chunk (snappy-java's 32 KiB by default). */
export async function snappyCompressXerial(data: Buffer, blockBytes = XERIAL_BLOCK_BYTES): Promise<Buffer> {
  const header = Buffer.alloc(XERIAL_HEADER_BYTES);
  XERIAL_MAGIC.copy(header, 0);
  header.writeInt32BE(1, 8); // version
  header.writeInt32BE(1, 12); // minimum compatible version
  const parts: Buffer[] = [header];
  const { compress } = await snappy();
  for (let offset = 0; offset < data.length; offset += blockBytes) {
    const block = await compress(data.subarray(offset, offset + blockBytes));
    const length = Buffer.alloc(4);
    length.writeUInt32BE(block.length, 0);
    parts.push(length, block);
  }
  return Buffer.concat(parts);
}

/** Encode one raw snappy block (librdkafka's format; used by tests to check both decode paths). */
export async function snappyCompressRaw(data: Buffer): Promise<Buffer> {
  return (await snappy()).compress(data);
}

export const snappyCodec: KafkaCodec = {
  compress: (plain) => snappyCompressXerial(plain),
  decompress: snappyDecompress,
};
