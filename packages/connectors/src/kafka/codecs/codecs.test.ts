/**
 * The codec adapters on their own: round trips at the sizes where framing matters (empty, one
 * byte, block boundaries of snappy's 32 KiB xerial chunks and LZ4's 64 KiB blocks, several MiB,
 * incompressible data), the byte layouts Kafka's Java client writes, and corrupt input.
 */
import { randomBytes } from "node:crypto";
import { isWeirError } from "@weir/core";
import { compressSync as rawSnappyBlock } from "snappy";
import { describe, expect, it } from "vitest";
import { LZ4_FRAME_MAGIC, lz4Codec } from "./lz4.ts";
import {
  isXerial,
  snappyCodec,
  snappyCompressRaw,
  snappyCompressXerial,
  snappyDecompress,
  XERIAL_BLOCK_BYTES,
  XERIAL_MAGIC,
} from "./snappy.ts";
import type { KafkaCodec } from "./types.ts";
import { zstdCodec, zstdCompress, zstdDecompress } from "./zstd.ts";

/** Record-like bytes: JSON with repeats (compressible) and random hex (not entirely). */
function jsonish(bytes: number): Buffer {
  const parts: string[] = [];
  let n = 0;
  for (let i = 0; n < bytes; i++) {
    const s = JSON.stringify({ i, trace: randomBytes(8).toString("hex"), name: `span-${i % 17}` });
    parts.push(s);
    n += s.length;
  }
  return Buffer.from(parts.join("\n")).subarray(0, bytes);
}

const SIZES = [
  0,
  1,
  XERIAL_BLOCK_BYTES - 1,
  XERIAL_BLOCK_BYTES,
  XERIAL_BLOCK_BYTES + 1,
  65_535,
  65_536,
  65_537,
  300_000,
  4 * 1024 * 1024 + 3,
];
const CODECS: [string, KafkaCodec][] = [
  ["snappy", snappyCodec],
  ["lz4", lz4Codec],
  ["zstd", zstdCodec],
];

describe.each(CODECS)("%s codec", (name, codec) => {
  it.each(SIZES)(`round-trips %i bytes of JSON`, async (size) => {
    const plain = jsonish(size);
    const packed = await codec.compress(plain);
    expect((await codec.decompress(packed)).equals(plain)).toBe(true);
    if (size > 10_000) expect(packed.length).toBeLessThan(plain.length);
  });

  it("round-trips incompressible bytes (stored blocks)", async () => {
    const plain = randomBytes(200_000);
    expect((await codec.decompress(await codec.compress(plain))).equals(plain)).toBe(true);
  });

  it("rejects garbage with a non-retryable DECODE_ERROR naming the codec", async () => {
    const garbage = Buffer.concat([
      name === "snappy"
        ? XERIAL_MAGIC
        : name === "lz4"
          ? LZ4_FRAME_MAGIC
          : Buffer.from([0x28, 0xb5, 0x2f, 0xfd]),
      name === "snappy" ? Buffer.from([0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 50]) : Buffer.alloc(0),
      randomBytes(40),
    ]);
    const err = await codec.decompress(garbage).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isWeirError(err)).toBe(true);
    expect(err).toMatchObject({ code: "DECODE_ERROR", retryable: false, details: { codec: name } });
  });
});

describe("snappy framing", () => {
  it("writes xerial like snappy-java: header version 1/1, then 32 KiB chunks", async () => {
    const plain = jsonish(3 * XERIAL_BLOCK_BYTES + 10);
    const packed = await snappyCompressXerial(plain);
    expect(isXerial(packed)).toBe(true);
    expect(packed.readInt32BE(8)).toBe(1);
    expect(packed.readInt32BE(12)).toBe(1);
    let offset = 16;
    let chunks = 0;
    while (offset < packed.length) {
      offset += 4 + packed.readUInt32BE(offset);
      chunks++;
    }
    expect(offset).toBe(packed.length);
    expect(chunks).toBe(4);
  });

  it("decodes xerial input chunked differently from ours (Java's stream flushes at any size)", async () => {
    const plain = jsonish(150_000);
    // Chunks of 1, 7 and 100 000 bytes of plaintext, framed by hand as snappy-java's stream does.
    const cuts = [0, 1, 8, 100_008, plain.length];
    const header = Buffer.alloc(16);
    XERIAL_MAGIC.copy(header);
    header.writeInt32BE(1, 8);
    header.writeInt32BE(1, 12);
    const parts: Buffer[] = [header];
    for (let i = 0; i + 1 < cuts.length; i++) {
      const block = rawSnappyBlock(plain.subarray(cuts[i], cuts[i + 1]));
      const len = Buffer.alloc(4);
      len.writeUInt32BE(block.length);
      parts.push(len, block);
    }
    expect((await snappyDecompress(Buffer.concat(parts))).equals(plain)).toBe(true);
  });

  it("decodes a header-only xerial stream (an empty batch) to nothing", async () => {
    const packed = await snappyCompressXerial(Buffer.alloc(0));
    expect(packed.length).toBe(16);
    expect((await snappyDecompress(packed)).length).toBe(0);
  });

  it("decodes raw snappy (librdkafka, Go clients, kafkajs-snappy) of any size", async () => {
    for (const size of [0, 5, 70_000, 1_000_000]) {
      const plain = jsonish(size);
      const packed = await snappyCompressRaw(plain);
      expect(isXerial(packed)).toBe(false);
      expect((await snappyDecompress(packed)).equals(plain)).toBe(true);
    }
  });

  it("rejects a truncated xerial stream", async () => {
    const packed = await snappyCompressXerial(jsonish(100_000));
    await expect(snappyDecompress(packed.subarray(0, packed.length - 3))).rejects.toMatchObject({
      code: "DECODE_ERROR",
    });
    await expect(snappyDecompress(packed.subarray(0, 18))).rejects.toThrow(/truncated xerial chunk header/);
  });
});

describe("lz4 framing", () => {
  it("writes a standard frame: magic, independent blocks, no checksums (what Kafka's Java reader takes)", async () => {
    const packed = await lz4Codec.compress(jsonish(200_000));
    expect(packed.subarray(0, 4).equals(LZ4_FRAME_MAGIC)).toBe(true);
    const flg = packed[4] as number;
    expect(flg >> 6).toBe(1); // version 01
    expect((flg >> 5) & 1).toBe(1); // block independence
    expect((flg >> 4) & 1).toBe(0); // no block checksums
    expect((flg >> 2) & 1).toBe(0); // no content checksum
  });

  it("rejects data without the frame magic (raw LZ4 blocks are not Kafka's format)", async () => {
    await expect(lz4Codec.decompress(Buffer.from("hello world"))).rejects.toThrow(/not an LZ4 frame/);
  });
});

describe("zstd framing", () => {
  it("decodes several concatenated frames as one payload", async () => {
    const a = jsonish(70_000);
    const b = jsonish(1000);
    const packed = Buffer.concat([await zstdCompress(a), await zstdCompress(b)]);
    expect((await zstdDecompress(packed)).equals(Buffer.concat([a, b]))).toBe(true);
  });
});
