/**
 * Counts the record batches kafkajs decompresses, per codec, so a test can tell that a producer
 * really compressed with the codec it was told to (kafkajs does not show a batch's attributes to
 * consumers). Wraps the entries Weir's Kafka module registered; `restore()` puts them back.
 */
import kafkajs from "kafkajs";
import "../kafka/kafkajs.ts";

type Factory = () => { compress(e: unknown): Promise<Buffer>; decompress(b: Buffer): Promise<Buffer> };

const NAMES = { 1: "gzip", 2: "snappy", 3: "lz4", 4: "zstd" } as const;
type SpiedCodec = (typeof NAMES)[keyof typeof NAMES];

export interface CodecSpy {
  /** Batches decompressed so far, by codec. */
  readonly decompressed: Record<SpiedCodec, number>;
  restore(): void;
}

export function spyOnDecompression(): CodecSpy {
  const table = kafkajs.CompressionCodecs as unknown as Record<number, Factory>;
  const originals = new Map<number, Factory>();
  const decompressed: Record<SpiedCodec, number> = { gzip: 0, snappy: 0, lz4: 0, zstd: 0 };
  for (const [id, name] of Object.entries(NAMES)) {
    const type = Number(id);
    const original = table[type] as Factory;
    originals.set(type, original);
    table[type] = () => {
      const codec = original();
      return {
        compress: (e) => codec.compress(e),
        decompress: (b) => {
          decompressed[name]++;
          return codec.decompress(b);
        },
      };
    };
  }
  return {
    decompressed,
    restore() {
      for (const [type, original] of originals) table[type] = original;
    },
  };
}
