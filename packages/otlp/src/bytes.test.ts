import { expect, test } from "vitest";
import { signedString, toBase64, toHex, uint64String, unsignedString } from "./bytes.ts";

function halves(v: bigint): { low: number; high: number } {
  const u = BigInt.asUintN(64, v);
  return { low: Number(u & 0xffffffffn) | 0, high: Number(u >> 32n) | 0 };
}

test("uint64String matches BigInt across the whole range", () => {
  const samples = [0n, 1n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, 1544712660000000000n, 2n ** 64n - 1n];
  let x = 0x9e3779b97f4a7c15n;
  for (let i = 0; i < 2000; i++) {
    x = BigInt.asUintN(64, x * 6364136223846793005n + 1442695040888963407n);
    samples.push(x, x >> BigInt(i % 64));
  }
  for (const v of samples) {
    const { low, high } = halves(v);
    expect(uint64String(low, high), String(v)).toBe(v.toString());
    expect(unsignedString({ low, high })).toBe(v.toString());
  }
});

test("signedString is two's complement", () => {
  for (const v of [
    0n,
    -1n,
    1n,
    -(2n ** 63n),
    2n ** 63n - 1n,
    -1544712660000000000n,
    -(2n ** 32n),
    -(2n ** 53n) - 7n,
  ]) {
    expect(signedString(halves(v)), String(v)).toBe(v.toString());
  }
  expect(signedString(42)).toBe("42");
});

test("base64 and hex match Node's encoders", () => {
  for (let n = 0; n < 40; n++) {
    const b = Uint8Array.from({ length: n }, (_, i) => (i * 97 + n * 31) & 255);
    expect(toBase64(b)).toBe(Buffer.from(b).toString("base64"));
    expect(toHex(b)).toBe(Buffer.from(b).toString("hex"));
  }
});

test("the isolate's TextDecoder decodes like the native one, and rejects invalid UTF-8 when fatal", async () => {
  const { TextDecoder: Plain } = await import("./isolate-text-decoder.ts");
  const text = "plain ascii, héllo, ☃ snowman, 𝄞 clef, 日本語 ".repeat(5);
  const bytes = new TextEncoder().encode(text);
  expect(new Plain("utf-8", { fatal: true }).decode(bytes)).toBe(text);
  for (const bad of [
    [0xff],
    [0xc3],
    [0xe2, 0x98],
    [0xed, 0xa0, 0x80],
    [0xc0, 0x80],
    [0xf4, 0x90, 0x80, 0x80],
  ]) {
    const u8 = Uint8Array.from(bad);
    expect(() => new Plain("utf-8", { fatal: true }).decode(u8)).toThrow(TypeError);
    expect(() => new globalThis.TextDecoder("utf-8", { fatal: true }).decode(u8)).toThrow(TypeError);
  }
});
