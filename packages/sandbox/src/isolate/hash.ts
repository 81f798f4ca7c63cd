/**
 * md5, sha1 and sha256 as hex, in plain JS inside the isolate.
 *
 * Why not a bridge to the host's node:crypto: every call across the isolate boundary is a
 * cross-thread handoff plus string copies in and out, which dwarfs hashing one 64-byte block.
 * Measured by `pnpm --filter @weir/sandbox bench` for ~48-byte span keys: 1.4 µs/hash pure JS in
 * the isolate, 27 µs/hash through an ivm.Callback to node:crypto, 2.6 µs/hash for node:crypto
 * called directly in the host (createHash's object setup costs more than the block itself).
 */
import { utf8Scratch } from "./utf8.js";

const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push((i < 16 ? "0" : "") + i.toString(16));

let block = new Uint8Array(128);

/** Copy input into a zero-padded buffer with the 64-bit bit length appended (LE for md5, BE for SHA). */
function pad(input: Uint8Array, length: number, littleEndian: boolean): Uint8Array {
  const total = (((length + 8) >> 6) + 1) << 6;
  if (block.length < total) block = new Uint8Array(total);
  else block.fill(0, 0, total);
  block.set(length === input.length ? input : input.subarray(0, length));
  block[length] = 0x80;
  const bits = length * 8;
  const hi = Math.floor(bits / 0x100000000);
  for (let k = 0; k < 4; k++) {
    const lo8 = (bits >>> (8 * k)) & 255;
    const hi8 = (hi >>> (8 * k)) & 255;
    if (littleEndian) {
      block[total - 8 + k] = lo8;
      block[total - 4 + k] = hi8;
    } else {
      block[total - 1 - k] = lo8;
      block[total - 5 - k] = hi8;
    }
  }
  return block.subarray(0, total);
}

function bytesOf(input: string | Uint8Array): { bytes: Uint8Array; length: number } {
  if (typeof input === "string") return utf8Scratch(input);
  if (input instanceof Uint8Array) return { bytes: input, length: input.length };
  throw new TypeError("hash input must be a string or a Uint8Array");
}

const S = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
const K = new Int32Array(64);
for (let i = 0; i < 64; i++) K[i] = Math.floor(Math.abs(Math.sin(i + 1)) * 0x100000000) | 0;
const X = new Int32Array(16);

/** MD5 hex digest of a string (UTF-8) or bytes. */
export function md5(input: string | Uint8Array): string {
  const { bytes, length } = bytesOf(input);
  const m = pad(bytes, length, true);
  let a0 = 0x67452301;
  let b0 = 0xefcdab89 | 0;
  let c0 = 0x98badcfe | 0;
  let d0 = 0x10325476;
  for (let off = 0; off < m.length; off += 64) {
    for (let j = 0; j < 16; j++) {
      const p = off + j * 4;
      X[j] = m[p]! | (m[p + 1]! << 8) | (m[p + 2]! << 16) | (m[p + 3]! << 24);
    }
    let a = a0;
    let b = b0;
    let c = c0;
    let d = d0;
    for (let i = 0; i < 64; i++) {
      let f: number;
      let g: number;
      const r = i >> 4;
      if (r === 0) {
        f = (b & c) | (~b & d);
        g = i;
      } else if (r === 1) {
        f = (d & b) | (~d & c);
        g = (5 * i + 1) & 15;
      } else if (r === 2) {
        f = b ^ c ^ d;
        g = (3 * i + 5) & 15;
      } else {
        f = c ^ (b | ~d);
        g = (7 * i) & 15;
      }
      const s = S[(r << 2) | (i & 3)]!;
      const t = (a + f + K[i]! + X[g]!) | 0;
      a = d;
      d = c;
      c = b;
      b = (b + ((t << s) | (t >>> (32 - s)))) | 0;
    }
    a0 = (a0 + a) | 0;
    b0 = (b0 + b) | 0;
    c0 = (c0 + c) | 0;
    d0 = (d0 + d) | 0;
  }
  let hex = "";
  for (const w of [a0, b0, c0, d0]) {
    hex += HEX[w & 255]! + HEX[(w >>> 8) & 255]! + HEX[(w >>> 16) & 255]! + HEX[(w >>> 24) & 255]!;
  }
  return hex;
}

function wordsHex(words: ArrayLike<number>, count: number): string {
  let hex = "";
  for (let i = 0; i < count; i++) {
    const w = words[i]!;
    hex += HEX[(w >>> 24) & 255]! + HEX[(w >>> 16) & 255]! + HEX[(w >>> 8) & 255]! + HEX[w & 255]!;
  }
  return hex;
}

const W = new Int32Array(80);

function loadBE(m: Uint8Array, off: number): void {
  for (let j = 0; j < 16; j++) {
    const p = off + j * 4;
    W[j] = (m[p]! << 24) | (m[p + 1]! << 16) | (m[p + 2]! << 8) | m[p + 3]!;
  }
}

/** SHA-1 hex digest of a string (UTF-8) or bytes. */
export function sha1(input: string | Uint8Array): string {
  const { bytes, length } = bytesOf(input);
  const m = pad(bytes, length, false);
  const H = new Int32Array([0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0]);
  for (let off = 0; off < m.length; off += 64) {
    loadBE(m, off);
    for (let i = 16; i < 80; i++) {
      const x = W[i - 3]! ^ W[i - 8]! ^ W[i - 14]! ^ W[i - 16]!;
      W[i] = (x << 1) | (x >>> 31);
    }
    let [a, b, c, d, e] = [H[0]!, H[1]!, H[2]!, H[3]!, H[4]!];
    for (let i = 0; i < 80; i++) {
      let f: number;
      let k: number;
      if (i < 20) [f, k] = [(b & c) | (~b & d), 0x5a827999];
      else if (i < 40) [f, k] = [b ^ c ^ d, 0x6ed9eba1];
      else if (i < 60) [f, k] = [(b & c) | (b & d) | (c & d), 0x8f1bbcdc | 0];
      else [f, k] = [b ^ c ^ d, 0xca62c1d6 | 0];
      const t = (((a << 5) | (a >>> 27)) + f + e + k + W[i]!) | 0;
      e = d;
      d = c;
      c = (b << 30) | (b >>> 2);
      b = a;
      a = t;
    }
    H[0] = (H[0]! + a) | 0;
    H[1] = (H[1]! + b) | 0;
    H[2] = (H[2]! + c) | 0;
    H[3] = (H[3]! + d) | 0;
    H[4] = (H[4]! + e) | 0;
  }
  return wordsHex(H, 5);
}

const K256 = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);

/** SHA-256 hex digest of a string (UTF-8) or bytes. */
export function sha256(input: string | Uint8Array): string {
  const { bytes, length } = bytesOf(input);
  const m = pad(bytes, length, false);
  const H = new Int32Array([
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
  ]);
  const rotr = (x: number, n: number) => (x >>> n) | (x << (32 - n));
  for (let off = 0; off < m.length; off += 64) {
    loadBE(m, off);
    for (let i = 16; i < 64; i++) {
      const w15 = W[i - 15]!;
      const w2 = W[i - 2]!;
      const s0 = rotr(w15, 7) ^ rotr(w15, 18) ^ (w15 >>> 3);
      const s1 = rotr(w2, 17) ^ rotr(w2, 19) ^ (w2 >>> 10);
      W[i] = (W[i - 16]! + s0 + W[i - 7]! + s1) | 0;
    }
    let [a, b, c, d, e, f, g, h] = [H[0]!, H[1]!, H[2]!, H[3]!, H[4]!, H[5]!, H[6]!, H[7]!];
    for (let i = 0; i < 64; i++) {
      const t1 = (h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K256[i]! + W[i]!) | 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      h = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    for (const [i, v] of [a, b, c, d, e, f, g, h].entries()) H[i] = (H[i]! + v) | 0;
  }
  return wordsHex(H, 8);
}
