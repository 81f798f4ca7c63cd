/**
 * Byte and 64-bit integer formatting as the Collector's pdata JSON marshaller writes them: ids as
 * lower-case hex, bytes as standard padded base64, 64-bit integers as decimal strings. Plain JS
 * only (no Buffer, no BigInt, no TextDecoder) so the same code runs inside an isolated-vm isolate.
 */

const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push((i < 16 ? "0" : "") + i.toString(16));

/** Lower-case hex of `bytes` (what pdata's TraceID/SpanID MarshalJSON writes). */
export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i]!]!;
  return s;
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Standard base64 with padding (Go's base64.StdEncoding, which pdata uses for bytesValue). */
export function toBase64(bytes: Uint8Array): string {
  let s = "";
  const n = bytes.length;
  const whole = n - (n % 3);
  for (let i = 0; i < whole; i += 3) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    s += B64[v >>> 18]! + B64[(v >>> 12) & 63]! + B64[(v >>> 6) & 63]! + B64[v & 63]!;
  }
  if (n - whole === 1) {
    const v = bytes[whole]! << 16;
    s += `${B64[v >>> 18]!}${B64[(v >>> 12) & 63]!}==`;
  } else if (n - whole === 2) {
    const v = (bytes[whole]! << 16) | (bytes[whole + 1]! << 8);
    s += `${B64[v >>> 18]!}${B64[(v >>> 12) & 63]!}${B64[(v >>> 6) & 63]!}=`;
  }
  return s;
}

/** A 64-bit value as protobufjs hands it over: a `Long` (low/high 32-bit halves) or a safe number. */
export type Int64Like = number | { low: number; high: number };

const TWO_POW_32 = 4294967296;

/**
 * Decimal string of the unsigned 64-bit value `hi * 2^32 + lo`. Values below 2^53 go through a
 * double; larger ones (every nanosecond timestamp after 1970-04) are split into 24-bit limbs and
 * summed in base 10^7 so no intermediate exceeds 2^53.
 */
export function uint64String(lo: number, hi: number): string {
  lo >>>= 0;
  hi >>>= 0;
  if (hi <= 0x1fffff) return String(hi * TWO_POW_32 + lo);
  // value = low + mid * 2^24 + high * 2^48, with 2^24 = 1e7 + 6777216 and
  // 2^48 = 2 * 1e14 + 8147497 * 1e7 + 6710656.
  const low = lo & 0xffffff;
  const mid = ((lo >>> 24) | (hi << 8)) & 0xffffff;
  const high = hi >>> 16;
  let a = low + mid * 6777216 + high * 6710656;
  let b = mid + high * 8147497;
  let c = high * 2;
  const base = 10000000;
  if (a >= base) {
    b += Math.floor(a / base);
    a %= base;
  }
  if (b >= base) {
    c += Math.floor(b / base);
    b %= base;
  }
  return c > 0 ? String(c) + pad7(b) + pad7(a) : String(b) + pad7(a);
}

function pad7(n: number): string {
  const s = String(n);
  return "0000000".slice(s.length) + s;
}

/** Decimal string of an unsigned 64-bit field (fixed64 timestamps). */
export function unsignedString(v: Int64Like): string {
  return typeof v === "number" ? String(v) : uint64String(v.low, v.high);
}

/** Decimal string of a signed 64-bit field (AnyValue.int_value), two's complement. */
export function signedString(v: Int64Like): string {
  if (typeof v === "number") return String(v);
  if ((v.high | 0) >= 0) return uint64String(v.low, v.high);
  // Negate: ~x + 1 across both halves.
  const lo = (~v.low + 1) >>> 0;
  const hi = (~v.high + (lo === 0 ? 1 : 0)) >>> 0;
  return `-${uint64String(lo, hi)}`;
}

/** True when the 64-bit value is zero (pdata omits zero timestamps). */
export function isZero64(v: Int64Like): boolean {
  return typeof v === "number" ? v === 0 : v.low === 0 && v.high === 0;
}
