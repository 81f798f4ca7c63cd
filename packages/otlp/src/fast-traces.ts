/**
 * A schema-specialised ExportTraceServiceRequest decoder: reads the protobuf wire format straight
 * into the otlp_json object (pdata's key order and omissions, the same output as protobufjs'
 * decoder followed by map-traces.ts), with no intermediate protobufjs message objects.
 *
 * It follows protobufjs 8's Reader where the two could differ: its varint limits (a varint of 5 or
 * more bytes within 5 bytes of the end of the enclosing message is "index out of range"), a known
 * field with the wrong wire type being skipped as unknown, field number 0 refused, strict UTF-8
 * (stringVerify: invalid UTF-8 throws), the recursion limit of 100, last-one-wins for singular
 * scalars, an empty string or bytes value resetting the field, oneof semantics in AnyValue.
 *
 * The few inputs it does not handle itself (group wire types, a singular message field such as
 * `resource` or `KeyValue.value` appearing twice, which protobuf merges) make it throw
 * {@link FastUnsupported}; decode.ts then decodes that message with protobufjs instead. Plain JS only
 * (no Buffer, TextDecoder or BigInt) so it runs inside an isolated-vm isolate.
 */
import { toBase64, uint64String } from "./bytes.ts";
import type {
  AnyValueJson,
  EntityRefJson,
  KeyValueJson,
  ResourceJson,
  ResourceSpansJson,
  ScopeJson,
  ScopeSpansJson,
  SpanEventJson,
  SpanJson,
  SpanLinkJson,
  TracesJson,
} from "./types.ts";

/** Thrown for valid-looking input this decoder leaves to protobufjs (groups, merged submessages). */
export class FastUnsupported extends Error {}

const RECURSION_LIMIT = 100;
const EMPTY = new Uint8Array(0);

// The message being decoded and the read position. Module state so the readers need no closures
// or reader object; decodeTracesFast is not re-entrant (nothing in it calls out).
let buf: Uint8Array = EMPTY;
let pos = 0;
// Second result of readVarint64 / readFixed64: the high 32 bits (the low half is returned).
let hi64 = 0;

function outOfRange(n: number, end: number): Error {
  return new RangeError(`index out of range: ${pos} + ${n} > ${end}`);
}

/** protobufjs' readVarint32NearEnd: at most 4 bytes when fewer than 5 remain. */
function varintNearEnd(end: number): number {
  let value = 0;
  for (let i = 0; i < 4; i++) {
    if (pos >= end) throw outOfRange(1, end);
    const b = buf[pos++]!;
    value = (value | ((b & 127) << (i * 7))) >>> 0;
    if (b < 128) return value;
  }
  throw outOfRange(1, end);
}

/** A varint as an unsigned 32-bit value (Reader#uint32; `| 0` of it is Reader#int32). */
function readVarint(end: number): number {
  let p = pos;
  if (end - p < 5) {
    if (p >= end) throw outOfRange(1, end);
    if (buf[p]! >= 128) return varintNearEnd(end);
  }
  let b = buf[p++]!;
  let v = b & 127;
  if (b < 128) {
    pos = p;
    return v;
  }
  b = buf[p++]!;
  v |= (b & 127) << 7;
  if (b < 128) {
    pos = p;
    return v;
  }
  b = buf[p++]!;
  v |= (b & 127) << 14;
  if (b < 128) {
    pos = p;
    return v;
  }
  b = buf[p++]!;
  v |= (b & 127) << 21;
  if (b < 128) {
    pos = p;
    return v;
  }
  b = buf[p++]!;
  v = (v | ((b & 15) << 28)) >>> 0;
  if (b < 128) {
    pos = p;
    return v;
  }
  for (let i = 0; i < 5; i++) {
    if (p >= end) {
      pos = p;
      throw outOfRange(1, end);
    }
    if (buf[p++]! < 128) {
      pos = p;
      return v;
    }
  }
  pos = p;
  throw new Error("invalid varint encoding");
}

/** A field tag (Reader#tag): 1-byte tags inline, the rest as protobufjs reads them. */
function readTag(end: number): number {
  const p = pos;
  const b = buf[p]!;
  if (b < 128 && p < end) {
    pos = p + 1;
    return b;
  }
  if (end - p < 5) {
    if (p >= end) throw outOfRange(1, end);
    return varintNearEnd(end);
  }
  let v = b & 127;
  let c = buf[p + 1]!;
  v |= (c & 127) << 7;
  if (c < 128) {
    pos = p + 2;
    return v;
  }
  c = buf[p + 2]!;
  v |= (c & 127) << 14;
  if (c < 128) {
    pos = p + 3;
    return v;
  }
  c = buf[p + 3]!;
  v |= (c & 127) << 21;
  if (c < 128) {
    pos = p + 4;
    return v;
  }
  c = buf[p + 4]!;
  v = (v | ((c & 15) << 28)) >>> 0;
  pos = p + 5;
  if (c < 128 && (c & 112) === 0) return v;
  throw new Error("invalid tag encoding");
}

/** A length prefix (Reader#size), checked against the end of the enclosing message. */
function readSize(end: number): number {
  let n: number;
  const p = pos;
  const b = buf[p]!;
  if (b < 128 && p < end) {
    pos = p + 1;
    n = b;
  } else if (end - p < 5) {
    if (p >= end) throw outOfRange(1, end);
    n = varintNearEnd(end);
  } else {
    let v = b & 127;
    let c = buf[p + 1]!;
    v |= (c & 127) << 7;
    if (c < 128) {
      pos = p + 2;
      n = v;
    } else {
      c = buf[p + 2]!;
      v |= (c & 127) << 14;
      if (c < 128) {
        pos = p + 3;
        n = v;
      } else {
        c = buf[p + 3]!;
        v |= (c & 127) << 21;
        if (c < 128) {
          pos = p + 4;
          n = v;
        } else {
          c = buf[p + 4]!;
          pos = p + 5;
          if (c > 7) throw new Error("invalid length encoding");
          n = (v | (c << 28)) >>> 0;
        }
      }
    }
  }
  if (pos + n > end) throw outOfRange(n, end);
  return n;
}

/** A varint as 64 bits (Reader#int64's readLongVarint): returns the low half, sets hi64. */
function readVarint64(end: number): number {
  let lo = 0;
  let hi = 0;
  let i = 0;
  if (end - pos > 4) {
    for (; i < 4; i++) {
      const b = buf[pos++]!;
      lo = (lo | ((b & 127) << (i * 7))) >>> 0;
      if (b < 128) {
        hi64 = 0;
        return lo;
      }
    }
    const b = buf[pos++]!;
    lo = (lo | ((b & 127) << 28)) >>> 0;
    hi = (hi | ((b & 127) >> 4)) >>> 0;
    if (b < 128) {
      hi64 = hi;
      return lo;
    }
    i = 0;
  } else {
    for (; i < 4; i++) {
      if (pos >= end) throw outOfRange(1, end);
      const b = buf[pos++]!;
      lo = (lo | ((b & 127) << (i * 7))) >>> 0;
      if (b < 128) {
        hi64 = 0;
        return lo;
      }
    }
    throw outOfRange(1, end);
  }
  const fast = end - pos > 4;
  for (; i < 5; i++) {
    if (!fast && pos >= end) throw outOfRange(1, end);
    const b = buf[pos++]!;
    hi = (hi | ((b & 127) << (i * 7 + 3))) >>> 0;
    if (b < 128) {
      hi64 = hi;
      return lo;
    }
  }
  throw new Error("invalid varint encoding");
}

/** Reader#bool: any set bit in up to 10 bytes. */
function readBool(end: number): boolean {
  let value = false;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) throw outOfRange(1, end);
    const b = buf[pos++]!;
    if (b & 127) value = true;
    if (b < 128) return value;
  }
  throw new Error("invalid varint encoding");
}

function readFixed32(end: number): number {
  const p = pos;
  if (p + 4 > end) throw outOfRange(4, end);
  pos = p + 4;
  return (buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16) | (buf[p + 3]! << 24)) >>> 0;
}

/** A fixed64 as a decimal string, or undefined when zero (pdata omits zero timestamps). */
function readTime(end: number): string | undefined {
  const p = pos;
  if (p + 8 > end) throw outOfRange(8, end);
  pos = p + 8;
  const lo = (buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16) | (buf[p + 3]! << 24)) >>> 0;
  const hi = (buf[p + 4]! | (buf[p + 5]! << 8) | (buf[p + 6]! << 16) | (buf[p + 7]! << 24)) >>> 0;
  if (hi <= 0x1fffff) return lo === 0 && hi === 0 ? undefined : uint64String(lo, hi);
  return timeString(lo, hi);
}

// Timestamps of one message share their high 32 bits and their seconds: hi * 2^32 is kept split
// as hiSeconds * 1e9 + hiNanos (hiNanos < 1e9), and the last seconds' decimal string is reused.
let cachedHi = -1;
let hiSeconds = 0;
let hiNanos = 0;
let cachedSeconds = -1;
let secondsText = "";
const NANO_PAD = ["", "0", "00", "000", "0000", "00000", "000000", "0000000", "00000000"];

/** Decimal string of hi * 2^32 + lo for hi > 0x1fffff (the value is at least 2^53 > 1e9). */
function timeString(lo: number, hi: number): string {
  if (hi !== cachedHi) {
    const text = uint64String(0, hi);
    hiSeconds = Number(text.slice(0, -9));
    hiNanos = Number(text.slice(-9));
    cachedHi = hi;
  }
  // hiNanos + lo < 1e9 + 2^32: exact; seconds < 2^64 / 1e9 < 2^53: exact.
  let nanos = hiNanos + lo;
  let seconds = hiSeconds;
  if (nanos >= 1e9) {
    const carry = Math.floor(nanos / 1e9);
    seconds += carry;
    nanos -= carry * 1e9;
  }
  if (seconds !== cachedSeconds) {
    secondsText = String(seconds);
    cachedSeconds = seconds;
  }
  const n = String(nanos);
  return secondsText + NANO_PAD[9 - n.length]! + n;
}

const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A double as pdata's stream writes it: non-finite values become strings. */
function readDouble(end: number): number | string {
  const p = pos;
  if (p + 8 > end) throw outOfRange(8, end);
  pos = p + 8;
  if (littleEndian) for (let i = 0; i < 8; i++) f64Bytes[i] = buf[p + i]!;
  else for (let i = 0; i < 8; i++) f64Bytes[7 - i] = buf[p + i]!;
  const v = f64[0]!;
  if (v - v === 0) return v;
  return Number.isNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity";
}

/** Skips a field of an unknown number or an unexpected wire type (Reader#skipType). */
function skipField(tag: number, end: number): void {
  if (tag >>> 3 === 0) throw new Error("illegal tag: field number 0");
  switch (tag & 7) {
    case 0:
      do {
        if (pos >= end) throw outOfRange(1, end);
      } while (buf[pos++]! & 128);
      return;
    case 1:
      if (pos + 8 > end) throw outOfRange(8, end);
      pos += 8;
      return;
    case 2: {
      const n = readSize(end);
      pos += n;
      return;
    }
    case 5:
      if (pos + 4 > end) throw outOfRange(4, end);
      pos += 4;
      return;
    case 3:
      throw new FastUnsupported("group");
    default:
      throw new Error(`invalid wire type ${tag & 7} at offset ${pos}`);
  }
}

// ---- strings ----

const fromCharCode = String.fromCharCode;

function invalidUtf8(): Error {
  return new TypeError("The encoded data was not valid for encoding utf-8");
}

// One reusable array per length for String.fromCharCode.apply: a flat string in one call, no
// subarray allocated, no cons-string chain.
const CODE_ARRAYS: number[][] = [];
const MAX_APPLY = 128;
for (let n = 0; n <= MAX_APPLY; n++) CODE_ARRAYS.push(new Array<number>(n).fill(0));

/** Strict UTF-8 of buf[start, end) (protobufjs' stringVerify: invalid UTF-8 throws). */
function utf8(start: number, end: number): string {
  const n = end - start;
  if (n <= 0) return "";
  if (n > MAX_APPLY) return utf8Slow(start, end);
  const codes = CODE_ARRAYS[n]!;
  let or = 0;
  for (let i = 0; i < n; i++) {
    const c = buf[start + i]!;
    or |= c;
    codes[i] = c;
  }
  if (or & 0x80) return utf8Slow(start, end);
  return fromCharCode.apply(null, codes);
}

/** The general case: WHATWG UTF-8 decoding with `fatal` (what TextDecoder does for protobufjs). */
function utf8Slow(start: number, end: number): string {
  let out = "";
  const units: number[] = [];
  let i = start;
  while (i < end) {
    const b = buf[i]!;
    if (b < 0x80) {
      units.push(b);
      i++;
    } else if (b >= 0xc2 && b <= 0xdf) {
      if (i + 1 >= end) throw invalidUtf8();
      const c = buf[i + 1]!;
      if ((c & 0xc0) !== 0x80) throw invalidUtf8();
      units.push(((b & 0x1f) << 6) | (c & 0x3f));
      i += 2;
    } else if (b >= 0xe0 && b <= 0xef) {
      if (i + 2 >= end) throw invalidUtf8();
      const c = buf[i + 1]!;
      const d = buf[i + 2]!;
      const lower = b === 0xe0 ? 0xa0 : 0x80;
      const upper = b === 0xed ? 0x9f : 0xbf;
      if (c < lower || c > upper || (d & 0xc0) !== 0x80) throw invalidUtf8();
      units.push(((b & 0x0f) << 12) | ((c & 0x3f) << 6) | (d & 0x3f));
      i += 3;
    } else if (b >= 0xf0 && b <= 0xf4) {
      if (i + 3 >= end) throw invalidUtf8();
      const c = buf[i + 1]!;
      const d = buf[i + 2]!;
      const e = buf[i + 3]!;
      const lower = b === 0xf0 ? 0x90 : 0x80;
      const upper = b === 0xf4 ? 0x8f : 0xbf;
      if (c < lower || c > upper || (d & 0xc0) !== 0x80 || (e & 0xc0) !== 0x80) throw invalidUtf8();
      const cp = (((b & 0x07) << 18) | ((c & 0x3f) << 12) | ((d & 0x3f) << 6) | (e & 0x3f)) - 0x10000;
      units.push(0xd800 | (cp >> 10), 0xdc00 | (cp & 0x3ff));
      i += 4;
    } else {
      throw invalidUtf8();
    }
    if (units.length >= 4096) {
      out += fromCharCode.apply(null, units);
      units.length = 0;
    }
  }
  return out + fromCharCode.apply(null, units);
}

/** A length-delimited string field. */
function readString(end: number): string {
  const n = readSize(end);
  const start = pos;
  pos = start + n;
  return utf8(start, pos);
}

// ---- ids ----

const HEX_CODE: number[] = [];
for (let i = 0; i < 16; i++) HEX_CODE.push(i.toString(16).charCodeAt(0));
const HI: number[] = [];
const LO: number[] = [];
for (let i = 0; i < 256; i++) {
  HI.push(HEX_CODE[i >> 4]!);
  LO.push(HEX_CODE[i & 15]!);
}

function idError(what: string, n: number, size: number): Error {
  return new Error(`${what} has ${n} bytes, want ${size}`);
}

/** A 16-byte trace id at buf[p] as lower-case hex, undefined when all zero (as map-common's id). */
function traceIdAt(p: number, n: number, what: string): string | undefined {
  if (n === 0) return undefined;
  if (n !== 16) throw idError(what, n, 16);
  const b = buf;
  let any = 0;
  for (let i = 0; i < 16; i++) any |= b[p + i]!;
  if (any === 0) return undefined;
  const a = fromCharCode(
    HI[b[p]!]!,
    LO[b[p]!]!,
    HI[b[p + 1]!]!,
    LO[b[p + 1]!]!,
    HI[b[p + 2]!]!,
    LO[b[p + 2]!]!,
    HI[b[p + 3]!]!,
    LO[b[p + 3]!]!,
    HI[b[p + 4]!]!,
    LO[b[p + 4]!]!,
    HI[b[p + 5]!]!,
    LO[b[p + 5]!]!,
    HI[b[p + 6]!]!,
    LO[b[p + 6]!]!,
    HI[b[p + 7]!]!,
    LO[b[p + 7]!]!,
    HI[b[p + 8]!]!,
    LO[b[p + 8]!]!,
    HI[b[p + 9]!]!,
    LO[b[p + 9]!]!,
    HI[b[p + 10]!]!,
    LO[b[p + 10]!]!,
    HI[b[p + 11]!]!,
    LO[b[p + 11]!]!,
    HI[b[p + 12]!]!,
    LO[b[p + 12]!]!,
    HI[b[p + 13]!]!,
    LO[b[p + 13]!]!,
    HI[b[p + 14]!]!,
    LO[b[p + 14]!]!,
    HI[b[p + 15]!]!,
    LO[b[p + 15]!]!,
  );
  return a;
}

/** An 8-byte span id at buf[p] as lower-case hex, undefined when all zero. */
function spanIdAt(p: number, n: number, what: string): string | undefined {
  if (n === 0) return undefined;
  if (n !== 8) throw idError(what, n, 8);
  const b = buf;
  if ((b[p]! | b[p + 1]! | b[p + 2]! | b[p + 3]! | b[p + 4]! | b[p + 5]! | b[p + 6]! | b[p + 7]!) === 0) {
    return undefined;
  }
  return fromCharCode(
    HI[b[p]!]!,
    LO[b[p]!]!,
    HI[b[p + 1]!]!,
    LO[b[p + 1]!]!,
    HI[b[p + 2]!]!,
    LO[b[p + 2]!]!,
    HI[b[p + 3]!]!,
    LO[b[p + 3]!]!,
    HI[b[p + 4]!]!,
    LO[b[p + 4]!]!,
    HI[b[p + 5]!]!,
    LO[b[p + 5]!]!,
    HI[b[p + 6]!]!,
    LO[b[p + 6]!]!,
    HI[b[p + 7]!]!,
    LO[b[p + 7]!]!,
  );
}

// ---- common messages ----

function checkDepth(depth: number): void {
  if (depth > RECURSION_LIMIT) throw new Error("max depth exceeded");
}

/** Signed decimal of the 64-bit two's complement value hi:lo (map-common's signedString). */
function int64String(lo: number, hi: number): string {
  if ((hi | 0) >= 0) return uint64String(lo, hi);
  const nlo = (~lo + 1) >>> 0;
  const nhi = (~hi + (nlo === 0 ? 1 : 0)) >>> 0;
  return `-${uint64String(nlo, nhi)}`;
}

// AnyValue oneof cases, by field number.
const AV_NONE = 0;
const AV_STRING = 1;
const AV_BOOL = 2;
const AV_INT = 3;
const AV_DOUBLE = 4;
const AV_ARRAY = 5;
const AV_KVLIST = 6;
const AV_BYTES = 7;
const AV_STRINDEX = 8;

/** An AnyValue message of `n` bytes at pos; `{}` when no case is set. */
function anyValue(n: number, depth: number): AnyValueJson {
  checkDepth(depth);
  const end = pos + n;
  let kind = AV_NONE;
  let str = "";
  let bool = false;
  let num: number | string = 0;
  let list: AnyValueJson[] | undefined;
  let kvs: KeyValueJson[] | undefined;
  while (pos < end) {
    const tag = readTag(end);
    switch (tag) {
      case 10: // string_value
        str = readString(end);
        kind = AV_STRING;
        continue;
      case 16: // bool_value
        bool = readBool(end);
        kind = AV_BOOL;
        continue;
      case 24: {
        // int_value
        const lo = readVarint64(end);
        str = int64String(lo, hi64);
        kind = AV_INT;
        continue;
      }
      case 33: // double_value
        num = readDouble(end);
        kind = AV_DOUBLE;
        continue;
      case 42: {
        // array_value: a second one while it is the set case merges (values appended)
        if (kind !== AV_ARRAY) list = undefined;
        list = arrayValues(readSize(end), depth + 1, list);
        kind = AV_ARRAY;
        continue;
      }
      case 50: {
        // kvlist_value
        if (kind !== AV_KVLIST) kvs = undefined;
        kvs = kvlistValues(readSize(end), depth + 1, kvs);
        kind = AV_KVLIST;
        continue;
      }
      case 58: {
        // bytes_value
        const len = readSize(end);
        const start = pos;
        pos = start + len;
        str = toBase64(buf.subarray(start, pos));
        kind = AV_BYTES;
        continue;
      }
      case 64: // string_value_strindex
        num = readVarint(end) | 0;
        kind = AV_STRINDEX;
        continue;
      default:
        skipField(tag, end);
    }
  }
  switch (kind) {
    case AV_STRING:
      return { stringValue: str };
    case AV_INT:
      return { intValue: str };
    case AV_BOOL:
      return { boolValue: bool };
    case AV_DOUBLE:
      return { doubleValue: num };
    case AV_ARRAY:
      return { arrayValue: list && list.length > 0 ? { values: list } : {} };
    case AV_KVLIST:
      return { kvlistValue: kvs && kvs.length > 0 ? { values: kvs } : {} };
    case AV_BYTES:
      return { bytesValue: str };
    case AV_STRINDEX:
      return { stringValueStrindex: num as number };
    default:
      return {};
  }
}

/** ArrayValue's values (field 1), appended to `into`. */
function arrayValues(n: number, depth: number, into: AnyValueJson[] | undefined): AnyValueJson[] | undefined {
  checkDepth(depth);
  const end = pos + n;
  let out = into;
  while (pos < end) {
    const tag = readTag(end);
    if (tag === 10) {
      const v = anyValue(readSize(end), depth + 1);
      if (out === undefined) out = [v];
      else out.push(v);
    } else {
      skipField(tag, end);
    }
  }
  return out;
}

/** KeyValueList's values (field 1), appended to `into`. */
function kvlistValues(
  n: number,
  depth: number,
  into: KeyValueJson[] | undefined,
): KeyValueJson[] | undefined {
  checkDepth(depth);
  const end = pos + n;
  let out = into;
  while (pos < end) {
    const tag = readTag(end);
    if (tag === 10) {
      const kv = keyValue(readSize(end), depth + 1);
      if (out === undefined) out = [kv];
      else out.push(kv);
    } else {
      skipField(tag, end);
    }
  }
  return out;
}

const NO_VALUE: AnyValueJson | undefined = undefined;

/** A KeyValue message of `n` bytes at pos. */
function keyValue(n: number, depth: number): KeyValueJson {
  checkDepth(depth);
  const end = pos + n;
  let key = "";
  let value = NO_VALUE;
  let keyStrindex = 0;
  while (pos < end) {
    const tag = readTag(end);
    switch (tag) {
      case 10:
        key = readString(end);
        continue;
      case 18:
        // A second value would merge into the first: left to protobufjs.
        if (value !== undefined) throw new FastUnsupported("KeyValue.value twice");
        value = anyValue(readSize(end), depth + 1);
        continue;
      case 24:
        keyStrindex = readVarint(end) | 0;
        continue;
      default:
        skipField(tag, end);
    }
  }
  const o: KeyValueJson = key !== "" ? { key, value: value ?? {} } : { value: value ?? {} };
  if (keyStrindex !== 0) o.keyStrindex = keyStrindex;
  return o;
}

/** A repeated KeyValue element (tag already read): appended to `list`, returned. */
function pushKeyValue(list: KeyValueJson[] | undefined, end: number, depth: number): KeyValueJson[] {
  const kv = keyValue(readSize(end), depth);
  if (list === undefined) return [kv];
  list.push(kv);
  return list;
}

function entityRef(n: number, depth: number): EntityRefJson {
  checkDepth(depth);
  const end = pos + n;
  let schemaUrl = "";
  let type = "";
  let idKeys: string[] | undefined;
  let descriptionKeys: string[] | undefined;
  while (pos < end) {
    const tag = readTag(end);
    switch (tag) {
      case 10:
        schemaUrl = readString(end);
        continue;
      case 18:
        type = readString(end);
        continue;
      case 26:
        if (idKeys === undefined) idKeys = [readString(end)];
        else idKeys.push(readString(end));
        continue;
      case 34:
        if (descriptionKeys === undefined) descriptionKeys = [readString(end)];
        else descriptionKeys.push(readString(end));
        continue;
      default:
        skipField(tag, end);
    }
  }
  const o: EntityRefJson = {};
  if (schemaUrl) o.schemaUrl = schemaUrl;
  if (type) o.type = type;
  if (idKeys) o.idKeys = idKeys;
  if (descriptionKeys) o.descriptionKeys = descriptionKeys;
  return o;
}

function resource(n: number, depth: number): ResourceJson {
  checkDepth(depth);
  const end = pos + n;
  let attributes: KeyValueJson[] | undefined;
  let dropped = 0;
  let entityRefs: EntityRefJson[] | undefined;
  while (pos < end) {
    const tag = readTag(end);
    switch (tag) {
      case 10:
        attributes = pushKeyValue(attributes, end, depth + 1);
        continue;
      case 16:
        dropped = readVarint(end);
        continue;
      case 26:
        if (entityRefs === undefined) entityRefs = [entityRef(readSize(end), depth + 1)];
        else entityRefs.push(entityRef(readSize(end), depth + 1));
        continue;
      default:
        skipField(tag, end);
    }
  }
  const o: ResourceJson = {};
  if (attributes) o.attributes = attributes;
  if (dropped) o.droppedAttributesCount = dropped;
  if (entityRefs) o.entityRefs = entityRefs;
  return o;
}

function scope(n: number, depth: number): ScopeJson {
  checkDepth(depth);
  const end = pos + n;
  let name = "";
  let version = "";
  let attributes: KeyValueJson[] | undefined;
  let dropped = 0;
  while (pos < end) {
    const tag = readTag(end);
    switch (tag) {
      case 10:
        name = readString(end);
        continue;
      case 18:
        version = readString(end);
        continue;
      case 26:
        attributes = pushKeyValue(attributes, end, depth + 1);
        continue;
      case 32:
        dropped = readVarint(end);
        continue;
      default:
        skipField(tag, end);
    }
  }
  const o: ScopeJson = {};
  if (name) o.name = name;
  if (version) o.version = version;
  if (attributes) o.attributes = attributes;
  if (dropped) o.droppedAttributesCount = dropped;
  return o;
}

// ---- trace messages ----

function event(n: number, depth: number): SpanEventJson {
  checkDepth(depth);
  const end = pos + n;
  let time: string | undefined;
  let name = "";
  let attributes: KeyValueJson[] | undefined;
  let dropped = 0;
  while (pos < end) {
    const tag = readTag(end);
    switch (tag) {
      case 9:
        time = readTime(end);
        continue;
      case 18:
        name = readString(end);
        continue;
      case 26:
        attributes = pushKeyValue(attributes, end, depth + 1);
        continue;
      case 32:
        dropped = readVarint(end);
        continue;
      default:
        skipField(tag, end);
    }
  }
  const o: SpanEventJson = {};
  if (time !== undefined) o.timeUnixNano = time;
  if (name) o.name = name;
  if (attributes) o.attributes = attributes;
  if (dropped) o.droppedAttributesCount = dropped;
  return o;
}

function link(n: number, depth: number): SpanLinkJson {
  checkDepth(depth);
  const end = pos + n;
  let traceIdPos = 0;
  let traceIdLen = 0;
  let spanIdPos = 0;
  let spanIdLen = 0;
  let traceState = "";
  let attributes: KeyValueJson[] | undefined;
  let dropped = 0;
  let flags = 0;
  while (pos < end) {
    const tag = readTag(end);
    switch (tag) {
      case 10:
        traceIdLen = readSize(end);
        traceIdPos = pos;
        pos += traceIdLen;
        continue;
      case 18:
        spanIdLen = readSize(end);
        spanIdPos = pos;
        pos += spanIdLen;
        continue;
      case 26:
        traceState = readString(end);
        continue;
      case 34:
        attributes = pushKeyValue(attributes, end, depth + 1);
        continue;
      case 40:
        dropped = readVarint(end);
        continue;
      case 53:
        flags = readFixed32(end);
        continue;
      default:
        skipField(tag, end);
    }
  }
  const o: SpanLinkJson = {};
  const traceId = traceIdAt(traceIdPos, traceIdLen, "link traceId");
  if (traceId !== undefined) o.traceId = traceId;
  const spanId = spanIdAt(spanIdPos, spanIdLen, "link spanId");
  if (spanId !== undefined) o.spanId = spanId;
  if (traceState) o.traceState = traceState;
  if (attributes) o.attributes = attributes;
  if (dropped) o.droppedAttributesCount = dropped;
  if (flags) o.flags = flags;
  return o;
}

// Status fields of the span being decoded; a repeated status merges (fields last-one-wins).
let statusMessage = "";
let statusCode = 0;

function status(n: number, depth: number): void {
  checkDepth(depth);
  const end = pos + n;
  while (pos < end) {
    const tag = readTag(end);
    switch (tag) {
      case 18:
        statusMessage = readString(end);
        continue;
      case 24:
        statusCode = readVarint(end) | 0;
        continue;
      default:
        skipField(tag, end);
    }
  }
}

function span(n: number, depth: number): SpanJson {
  checkDepth(depth);
  const end = pos + n;
  let traceIdPos = 0;
  let traceIdLen = 0;
  let spanIdPos = 0;
  let spanIdLen = 0;
  let parentPos = 0;
  let parentLen = 0;
  let traceState = "";
  let flags = 0;
  let name = "";
  let kind = 0;
  let start: string | undefined;
  let stop: string | undefined;
  let attributes: KeyValueJson[] | undefined;
  let droppedAttributes = 0;
  let events: SpanEventJson[] | undefined;
  let droppedEvents = 0;
  let links: SpanLinkJson[] | undefined;
  let droppedLinks = 0;
  statusMessage = "";
  statusCode = 0;
  while (pos < end) {
    const tag = readTag(end);
    switch (tag) {
      case 10:
        traceIdLen = readSize(end);
        traceIdPos = pos;
        pos += traceIdLen;
        continue;
      case 18:
        spanIdLen = readSize(end);
        spanIdPos = pos;
        pos += spanIdLen;
        continue;
      case 26:
        traceState = readString(end);
        continue;
      case 34:
        parentLen = readSize(end);
        parentPos = pos;
        pos += parentLen;
        continue;
      case 42:
        name = readString(end);
        continue;
      case 48:
        kind = readVarint(end) | 0;
        continue;
      case 57:
        start = readTime(end);
        continue;
      case 65:
        stop = readTime(end);
        continue;
      case 74:
        attributes = pushKeyValue(attributes, end, depth + 1);
        continue;
      case 80:
        droppedAttributes = readVarint(end);
        continue;
      case 90: {
        const e = event(readSize(end), depth + 1);
        if (events === undefined) events = [e];
        else events.push(e);
        continue;
      }
      case 96:
        droppedEvents = readVarint(end);
        continue;
      case 106: {
        const l = link(readSize(end), depth + 1);
        if (links === undefined) links = [l];
        else links.push(l);
        continue;
      }
      case 112:
        droppedLinks = readVarint(end);
        continue;
      case 122:
        // Into statusMessage/statusCode: a second status merges, as protobuf does.
        status(readSize(end), depth + 1);
        continue;
      case 133:
        flags = readFixed32(end);
        continue;
      default:
        skipField(tag, end);
    }
  }
  // Built in pdata's key order so JSON.stringify gives the Collector's text.
  const o = {} as SpanJson;
  const traceId = traceIdAt(traceIdPos, traceIdLen, "span traceId");
  if (traceId !== undefined) o.traceId = traceId;
  const spanId = spanIdAt(spanIdPos, spanIdLen, "span spanId");
  if (spanId !== undefined) o.spanId = spanId;
  if (traceState) o.traceState = traceState;
  const parentSpanId = spanIdAt(parentPos, parentLen, "span parentSpanId");
  if (parentSpanId !== undefined) o.parentSpanId = parentSpanId;
  if (flags) o.flags = flags;
  if (name) o.name = name;
  if (kind) o.kind = kind;
  if (start !== undefined) o.startTimeUnixNano = start;
  if (stop !== undefined) o.endTimeUnixNano = stop;
  if (attributes) o.attributes = attributes;
  if (droppedAttributes) o.droppedAttributesCount = droppedAttributes;
  if (events) o.events = events;
  if (droppedEvents) o.droppedEventsCount = droppedEvents;
  if (links) o.links = links;
  if (droppedLinks) o.droppedLinksCount = droppedLinks;
  const st: SpanJson["status"] = {};
  if (statusMessage) st.message = statusMessage;
  if (statusCode) st.code = statusCode;
  o.status = st;
  return o;
}

function scopeSpans(n: number, depth: number): ScopeSpansJson {
  checkDepth(depth);
  const end = pos + n;
  let sc: ScopeJson | undefined;
  let spans: SpanJson[] | undefined;
  let schemaUrl = "";
  while (pos < end) {
    const tag = readTag(end);
    switch (tag) {
      case 10:
        // A second scope would merge into the first: left to protobufjs.
        if (sc !== undefined) throw new FastUnsupported("scope twice");
        sc = scope(readSize(end), depth + 1);
        continue;
      case 18: {
        const s = span(readSize(end), depth + 1);
        if (spans === undefined) spans = [s];
        else spans.push(s);
        continue;
      }
      case 26:
        schemaUrl = readString(end);
        continue;
      default:
        skipField(tag, end);
    }
  }
  const o: ScopeSpansJson = { scope: sc ?? {} };
  if (spans) o.spans = spans;
  if (schemaUrl) o.schemaUrl = schemaUrl;
  return o;
}

function resourceSpans(n: number, depth: number): ResourceSpansJson {
  checkDepth(depth);
  const end = pos + n;
  let res: ResourceJson | undefined;
  let list: ScopeSpansJson[] | undefined;
  let schemaUrl = "";
  while (pos < end) {
    const tag = readTag(end);
    switch (tag) {
      case 10:
        if (res !== undefined) throw new FastUnsupported("resource twice");
        res = resource(readSize(end), depth + 1);
        continue;
      case 18: {
        const s = scopeSpans(readSize(end), depth + 1);
        if (list === undefined) list = [s];
        else list.push(s);
        continue;
      }
      case 26:
        schemaUrl = readString(end);
        continue;
      default:
        skipField(tag, end);
    }
  }
  const o: ResourceSpansJson = { resource: res ?? {} };
  if (list) o.scopeSpans = list;
  if (schemaUrl) o.schemaUrl = schemaUrl;
  return o;
}

/**
 * Decodes a protobuf ExportTraceServiceRequest into the otlp_json object. Throws an Error naming
 * what is wrong for malformed input, {@link FastUnsupported} for input left to protobufjs.
 */
export function decodeTracesFast(bytes: Uint8Array): TracesJson {
  buf = bytes;
  pos = 0;
  try {
    const end = bytes.length;
    let list: ResourceSpansJson[] | undefined;
    while (pos < end) {
      const tag = readTag(end);
      if (tag === 10) {
        const rs = resourceSpans(readSize(end), 1);
        if (list === undefined) list = [rs];
        else list.push(rs);
      } else {
        skipField(tag, end);
      }
    }
    return list ? { resourceSpans: list } : {};
  } finally {
    buf = EMPTY;
  }
}
