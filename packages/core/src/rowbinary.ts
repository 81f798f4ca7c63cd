/**
 * ClickHouse RowBinary rows built from a table's column list, for the ClickHouse server sink.
 * Dependency-free on purpose: the sandbox runtime bundles this file into the isolate (where rows are
 * encoded in place of JSON.stringify) and the sink uses {@link planRowBinary} at connect to decide
 * whether a table's columns can all be encoded.
 *
 * Values are accepted as the server's JSONEachRow input accepts them for what handlers rely on:
 * a missing (or undefined) key writes the column's zero value (NULL for Nullable), integers may be
 * numbers or decimal strings (64-bit ones too), DateTime takes "YYYY-MM-DD hh:mm:ss" (UTC) or epoch
 * seconds, Enum takes the name. A key that is not a column, or a value that does not fit its column,
 * throws a {@link RowBinaryError}: the runtime fails that message only (HANDLER_OUTPUT).
 */

/** One insertable column as system.columns lists it. */
export interface RowBinaryColumn {
  name: string;
  type: string;
}

export interface RowBinaryOptions {
  /**
   * The server's time zone (SELECT timezone()), which a DateTime without one of its own uses. String
   * times are parsed as UTC, so such columns are only supported when this is UTC (the default).
   */
  serverTimezone?: string;
}

export class RowBinaryError extends Error {
  override name = "RowBinaryError";
}

/** A parsed ClickHouse type. */
export type ChType =
  | { kind: "String" }
  | { kind: "FixedString"; n: number }
  | { kind: "Int"; bits: 8 | 16 | 32 | 64; signed: boolean }
  | { kind: "Float"; bits: 32 | 64 }
  | { kind: "Bool" }
  | { kind: "Date" }
  | { kind: "DateTime" }
  | { kind: "DateTime64"; precision: number }
  | { kind: "UUID" }
  | { kind: "Enum"; bits: 8 | 16; values: Map<string, number> }
  | { kind: "Nullable"; inner: ChType }
  | { kind: "Array"; inner: ChType }
  | { kind: "Map"; key: ChType; value: ChType };

/** Parse a type string; throws RowBinaryError naming what is not supported. */
export function parseChType(type: string, opts: RowBinaryOptions = {}): ChType {
  const p = new TypeParser(type, opts.serverTimezone ?? "UTC");
  const t = p.type();
  p.end();
  return t;
}

const UTC_ZONES = new Set(["UTC", "Etc/UTC", "GMT", "Etc/GMT", "UCT", "Zulu", "Universal"]);

class TypeParser {
  private i = 0;
  private readonly s: string;
  private readonly serverTz: string;
  constructor(s: string, serverTz: string) {
    this.s = s;
    this.serverTz = serverTz;
  }

  private ws(): void {
    while (this.i < this.s.length && /\s/.test(this.s[this.i]!)) this.i++;
  }
  private peek(c: string): boolean {
    this.ws();
    return this.s[this.i] === c;
  }
  private eat(c: string): void {
    this.ws();
    if (this.s[this.i] !== c) throw this.unsupported();
    this.i++;
  }
  end(): void {
    this.ws();
    if (this.i !== this.s.length) throw this.unsupported();
  }
  private unsupported(what = this.s): RowBinaryError {
    return new RowBinaryError(`type ${what} is not supported by the RowBinary encoder`);
  }
  private name(): string {
    this.ws();
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.s.slice(this.i));
    if (!m) throw this.unsupported();
    this.i += m[0].length;
    return m[0];
  }
  private int(): number {
    this.ws();
    const m = /^-?\d+/.exec(this.s.slice(this.i));
    if (!m) throw this.unsupported();
    this.i += m[0].length;
    return Number(m[0]);
  }
  private str(): string {
    this.ws();
    if (this.s[this.i] !== "'") throw this.unsupported();
    let out = "";
    for (this.i++; this.i < this.s.length; this.i++) {
      const c = this.s[this.i]!;
      if (c === "\\") {
        const n = this.s[++this.i];
        out += n === "n" ? "\n" : n === "t" ? "\t" : n === "0" ? "\0" : (n ?? "");
      } else if (c === "'") {
        if (this.s[this.i + 1] === "'") {
          out += "'";
          this.i++;
        } else {
          this.i++;
          return out;
        }
      } else out += c;
    }
    throw this.unsupported();
  }
  /** An optional time zone argument: only UTC is supported (string times are parsed as UTC). */
  private zone(full: string, tz = this.str()): void {
    if (!UTC_ZONES.has(tz)) throw this.unsupported(`${full} (time zone ${tz}; only UTC)`);
  }

  type(): ChType {
    const start = this.i;
    const n = this.name();
    switch (n) {
      case "String":
        return { kind: "String" };
      case "UInt8":
      case "UInt16":
      case "UInt32":
      case "UInt64":
      case "Int8":
      case "Int16":
      case "Int32":
      case "Int64":
        return {
          kind: "Int",
          bits: Number(n.replace(/^U?Int/, "")) as 8 | 16 | 32 | 64,
          signed: !n.startsWith("U"),
        };
      case "Float32":
        return { kind: "Float", bits: 32 };
      case "Float64":
        return { kind: "Float", bits: 64 };
      case "Bool":
        return { kind: "Bool" };
      case "Date":
        return { kind: "Date" };
      case "UUID":
        return { kind: "UUID" };
      case "FixedString": {
        this.eat("(");
        const len = this.int();
        this.eat(")");
        return { kind: "FixedString", n: len };
      }
      case "DateTime": {
        if (this.peek("(")) {
          this.eat("(");
          this.zone(this.s.slice(start));
          this.eat(")");
        } else this.zone(`${this.s.slice(start)} on a server`, this.serverTz);
        return { kind: "DateTime" };
      }
      case "DateTime64": {
        this.eat("(");
        const precision = this.int();
        if (precision < 0 || precision > 9) throw this.unsupported();
        if (this.peek(",")) {
          this.eat(",");
          this.zone(this.s.slice(start));
        } else this.zone(`${this.s.slice(start)} on a server`, this.serverTz);
        this.eat(")");
        return { kind: "DateTime64", precision };
      }
      case "Enum8":
      case "Enum16": {
        const values = new Map<string, number>();
        this.eat("(");
        for (;;) {
          const key = this.str();
          this.eat("=");
          values.set(key, this.int());
          if (this.peek(")")) break;
          this.eat(",");
        }
        this.eat(")");
        return { kind: "Enum", bits: n === "Enum8" ? 8 : 16, values };
      }
      case "Nullable":
      case "LowCardinality":
      case "Array": {
        this.eat("(");
        const inner = this.type();
        this.eat(")");
        if (n === "LowCardinality") return inner; // RowBinary writes LowCardinality(T) as T
        return n === "Nullable" ? { kind: "Nullable", inner } : { kind: "Array", inner };
      }
      case "Map": {
        this.eat("(");
        const key = this.type();
        this.eat(",");
        const value = this.type();
        this.eat(")");
        return { kind: "Map", key, value };
      }
      default:
        throw this.unsupported(n);
    }
  }
}

/** Growable little-endian byte writer. */
export class ByteWriter {
  buf: Uint8Array;
  pos = 0;
  private view: DataView;
  constructor(size = 64 * 1024) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
  }
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }
  u16(v: number): void {
    this.ensure(2);
    this.view.setUint16(this.pos, v, true);
    this.pos += 2;
  }
  u32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
  }
  f32(v: number): void {
    this.ensure(4);
    this.view.setFloat32(this.pos, v, true);
    this.pos += 4;
  }
  f64(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }
  varint(v: number): void {
    this.ensure(10);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }
  /** UTF-8 bytes of `s` (lone surrogates become U+FFFD), no length prefix; returns the byte count. */
  utf8(s: string): number {
    this.ensure(s.length * 3);
    const start = this.pos;
    this.pos = utf8Into(s, this.buf, start);
    return this.pos - start;
  }
  /** A RowBinary String: varint byte length, then the UTF-8 bytes. */
  string(s: string): void {
    // ASCII (most strings): the byte length is the length; copy the chars, leave on the first that is not.
    const len = s.length;
    if (this.pos + len + 5 > this.buf.length) this.ensure(len + 5);
    const buf = this.buf;
    let p = this.pos;
    let v = len;
    while (v >= 0x80) {
      buf[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[p++] = v;
    let i = 0;
    for (; i < len; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      buf[p + i] = c;
    }
    if (i === len) {
      this.pos = p + len;
      return;
    }
    this.stringUtf8(s);
  }
  private stringUtf8(s: string): void {
    const len = s.length;
    if (len < 128) {
      // Reserve the one-byte prefix; move the bytes only in the rare case the UTF-8 is >= 128 bytes.
      this.ensure(len * 3 + 1);
      const at = this.pos++;
      const n = this.utf8(s);
      if (n < 128) {
        this.buf[at] = n;
        return;
      }
      const bytes = this.buf.slice(at + 1, at + 1 + n);
      this.pos = at;
      this.varint(n);
      this.ensure(n);
      this.buf.set(bytes, this.pos);
      this.pos += n;
      return;
    }
    const bytes = utf8Bytes(s);
    this.varint(bytes.length);
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
}

const scratchWriter = new ByteWriter(1024);
function utf8Bytes(s: string): Uint8Array {
  scratchWriter.pos = 0;
  const n = scratchWriter.utf8(s);
  return scratchWriter.buf.slice(0, n);
}

type Encode = (w: ByteWriter, v: unknown, col: string) => void;

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "string") return `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}`;
  if (typeof v === "object") return "an object";
  return `${typeof v} ${String(v)}`;
}

function bad(col: string, type: string, v: unknown, why = ""): RowBinaryError {
  return new RowBinaryError(`column ${col} (${type}): cannot write ${describe(v)}${why ? ` (${why})` : ""}`);
}

const INT_RE = /^\s*[-+]?\d+\s*$/;

/** An integer value as a number, for types up to 32 bits. */
function smallInt(v: unknown, col: string, type: string, min: number, max: number): number {
  let n: number;
  if (typeof v === "number") n = v;
  else if (typeof v === "boolean") n = v ? 1 : 0;
  else if (typeof v === "string" && INT_RE.test(v)) n = Number(v);
  else if (typeof v === "bigint") n = Number(v);
  else throw bad(col, type, v);
  if (!Number.isInteger(n) || n < min || n > max) throw bad(col, type, v, `out of range ${min}..${max}`);
  return n;
}

const TWO32 = 4294967296;
const U64_MAX = 18446744073709551615n;
const I64_MIN = -9223372036854775808n;
const I64_MAX = 9223372036854775807n;

function write64(w: ByteWriter, v: unknown, col: string, type: string, signed: boolean): void {
  if (typeof v === "number" && Number.isSafeInteger(v) && (signed || v >= 0)) {
    // Two's complement halves from a safe integer, without BigInt.
    const lo = v >>> 0;
    const hi = Math.floor(v / TWO32) >>> 0;
    w.u32(lo);
    w.u32(hi);
    return;
  }
  let b: bigint;
  if (typeof v === "bigint") b = v;
  else if (typeof v === "string" && INT_RE.test(v)) b = BigInt(v.trim());
  else if (typeof v === "boolean") b = v ? 1n : 0n;
  else if (typeof v === "number" && Number.isInteger(v)) b = BigInt(v);
  else throw bad(col, type, v);
  if (signed ? b < I64_MIN || b > I64_MAX : b < 0n || b > U64_MAX) throw bad(col, type, v, "out of range");
  const u = BigInt.asUintN(64, b);
  w.u32(Number(u & 0xffffffffn));
  w.u32(Number(u >> 32n));
}

function floatOf(v: unknown, col: string, type: string): number {
  if (typeof v === "number") return v;
  if (typeof v === "string") {
    const t = v.trim();
    if (t !== "") {
      const n = Number(t);
      if (!Number.isNaN(n)) return n;
      const l = t.toLowerCase();
      if (l === "nan") return Number.NaN;
      if (l === "inf" || l === "+inf") return Number.POSITIVE_INFINITY;
      if (l === "-inf") return Number.NEGATIVE_INFINITY;
    }
  }
  if (typeof v === "boolean") return v ? 1 : 0;
  throw bad(col, type, v);
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATETIME_RE = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z?$/;
const EPOCH_RE = /^(\d+)(?:\.(\d{1,9}))?$/;

function daysOf(y: string, m: string, d: string): number {
  return Date.UTC(Number(y), Number(m) - 1, Number(d)) / 86400000;
}

/**
 * Epoch seconds and the fraction digits ("" when none) of a DateTime value: an integer number of
 * seconds, "YYYY-MM-DD hh:mm:ss[.fff]" (or with T and Z), "YYYY-MM-DD", or decimal epoch seconds.
 */
function secondsOf(v: unknown, col: string, type: string): [number, string] {
  if (typeof v === "number") {
    // The server refuses a fractional number for DateTime (and reads an integer as DateTime64 ticks).
    if (!Number.isSafeInteger(v)) throw bad(col, type, v);
    return [v, ""];
  }
  if (typeof v === "string") {
    const m = DATETIME_RE.exec(v);
    if (m) {
      const s = daysOf(m[1]!, m[2]!, m[3]!) * 86400 + Number(m[4]) * 3600 + Number(m[5]) * 60 + Number(m[6]);
      return [s, m[7] ?? ""];
    }
    const d = DATE_RE.exec(v);
    if (d) return [daysOf(d[1]!, d[2]!, d[3]!) * 86400, ""];
    const e = EPOCH_RE.exec(v);
    if (e) return [Number(e[1]), e[2] ?? ""];
  }
  if (v instanceof Date) {
    const ms = v.getTime();
    if (Number.isNaN(ms)) throw bad(col, type, v);
    return [Math.floor(ms / 1000), String(ms % 1000).padStart(3, "0")];
  }
  throw bad(col, type, v);
}

const UUID_RE = /^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/;

/** Encoder for one type; `zero` writes the type's default (what a missing key gets). */
function compile(t: ChType, type: string): { enc: Encode; zero: (w: ByteWriter) => void } {
  switch (t.kind) {
    case "String":
      return {
        enc: (w, v, col) => {
          if (typeof v === "string") w.string(v);
          // Modern servers read numbers and booleans into String columns (18.16 refuses them).
          else if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint")
            w.string(String(v));
          else throw bad(col, type, v);
        },
        zero: (w) => w.u8(0),
      };
    case "FixedString": {
      const n = t.n;
      return {
        enc: (w, v, col) => {
          if (typeof v !== "string") throw bad(col, type, v);
          w.ensure(v.length * 3 + n);
          const start = w.pos;
          const len = w.utf8(v);
          if (len > n) {
            w.pos = start;
            throw bad(col, type, v, `longer than ${n} bytes`);
          }
          w.buf.fill(0, w.pos, start + n);
          w.pos = start + n;
        },
        zero: (w) => {
          w.ensure(n);
          w.buf.fill(0, w.pos, w.pos + n);
          w.pos += n;
        },
      };
    }
    case "Int": {
      const { bits, signed } = t;
      if (bits === 64)
        return {
          enc: (w, v, col) => write64(w, v, col, type, signed),
          zero: (w) => {
            w.u32(0);
            w.u32(0);
          },
        };
      const min = signed ? -(2 ** (bits - 1)) : 0;
      const max = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
      const put =
        bits === 8
          ? (w: ByteWriter, n: number) => w.u8(n & 0xff)
          : bits === 16
            ? (w: ByteWriter, n: number) => w.u16(n & 0xffff)
            : (w: ByteWriter, n: number) => w.u32(n >>> 0);
      return {
        enc: (w, v, col) => put(w, smallInt(v, col, type, min, max)),
        zero: (w) => put(w, 0),
      };
    }
    case "Float":
      return t.bits === 64
        ? { enc: (w, v, col) => w.f64(floatOf(v, col, type)), zero: (w) => w.f64(0) }
        : { enc: (w, v, col) => w.f32(floatOf(v, col, type)), zero: (w) => w.f32(0) };
    case "Bool":
      return {
        enc: (w, v, col) => {
          if (typeof v === "boolean") w.u8(v ? 1 : 0);
          else if (v === 0 || v === 1) w.u8(v);
          else throw bad(col, type, v);
        },
        zero: (w) => w.u8(0),
      };
    case "Date":
      return {
        enc: (w, v, col) => {
          let days: number;
          if (typeof v === "string" && DATE_RE.test(v)) {
            const m = DATE_RE.exec(v)!;
            days = daysOf(m[1]!, m[2]!, m[3]!);
          } else if (typeof v === "number" && Number.isInteger(v)) days = v;
          else throw bad(col, type, v);
          if (!(days >= 0 && days <= 0xffff)) throw bad(col, type, v, "out of range");
          w.u16(days);
        },
        zero: (w) => w.u16(0),
      };
    case "DateTime":
      return {
        enc: (w, v, col) => {
          const [s] = secondsOf(v, col, type);
          if (!(s >= 0 && s <= 0xffffffff)) throw bad(col, type, v, "out of range");
          w.u32(s);
        },
        zero: (w) => w.u32(0),
      };
    case "DateTime64": {
      const p = t.precision;
      const scale = 10n ** BigInt(p);
      return {
        enc: (w, v, col) => {
          // An integer number is ticks (units of 10^-p s), as the server reads it from JSON.
          if (typeof v === "number" || typeof v === "bigint") {
            if (typeof v === "number" && !Number.isSafeInteger(v)) throw bad(col, type, v);
            write64(w, v, col, type, true);
            return;
          }
          const [s, frac] = secondsOf(v, col, type);
          write64(w, BigInt(s) * scale + BigInt(`${frac}000000000`.slice(0, p) || "0"), col, type, true);
        },
        zero: (w) => {
          w.u32(0);
          w.u32(0);
        },
      };
    }
    case "UUID":
      return {
        enc: (w, v, col) => {
          if (typeof v !== "string" || !UUID_RE.test(v)) throw bad(col, type, v);
          const hex = v.replace(/-/g, "");
          // Two UInt64, each little-endian: the high half first, then the low half.
          w.ensure(16);
          for (let half = 0; half < 2; half++) {
            for (let k = 7; k >= 0; k--) {
              const o = half * 16 + k * 2;
              w.buf[w.pos++] = Number.parseInt(hex.slice(o, o + 2), 16);
            }
          }
        },
        zero: (w) => {
          w.ensure(16);
          w.buf.fill(0, w.pos, w.pos + 16);
          w.pos += 16;
        },
      };
    case "Enum": {
      const { values, bits } = t;
      const known = new Set(values.values());
      const put =
        bits === 8
          ? (w: ByteWriter, n: number) => w.u8(n & 0xff)
          : (w: ByteWriter, n: number) => w.u16(n & 0xffff);
      // The default of an Enum is its first value (the smallest).
      const first = Math.min(...values.values());
      return {
        enc: (w, v, col) => {
          if (typeof v === "string") {
            const n = values.get(v);
            if (n === undefined) throw bad(col, type, v, "unknown element");
            put(w, n);
          } else if (typeof v === "number" && known.has(v)) put(w, v);
          else throw bad(col, type, v);
        },
        zero: (w) => put(w, first),
      };
    }
    case "Nullable": {
      const inner = compile(t.inner, type);
      return {
        enc: (w, v, col) => {
          if (v === null || v === undefined) w.u8(1);
          else {
            w.u8(0);
            inner.enc(w, v, col);
          }
        },
        zero: (w) => w.u8(1),
      };
    }
    case "Array": {
      const inner = compile(t.inner, type);
      return {
        enc: (w, v, col) => {
          if (!Array.isArray(v)) throw bad(col, type, v);
          w.varint(v.length);
          for (let i = 0; i < v.length; i++) {
            const x = v[i];
            if (x === null || x === undefined) inner.zero(w);
            else inner.enc(w, x, col);
          }
        },
        zero: (w) => w.u8(0),
      };
    }
    case "Map": {
      const key = compile(t.key, type);
      const value = compile(t.value, type);
      return {
        enc: (w, v, col) => {
          if (typeof v !== "object" || v === null || Array.isArray(v)) throw bad(col, type, v);
          const o = v as Record<string, unknown>;
          const keys = Object.keys(o).filter((k) => o[k] !== undefined);
          w.varint(keys.length);
          for (const k of keys) {
            key.enc(w, k, col);
            const x = o[k];
            if (x === null) value.zero(w);
            else value.enc(w, x, col);
          }
        },
        zero: (w) => w.u8(0),
      };
    }
  }
}

export interface RowBinaryPlan {
  columns: RowBinaryColumn[];
}

/**
 * Whether every column's type can be encoded: the plan, or the reason it cannot be used (the first
 * unsupported type).
 */
export function planRowBinary(
  columns: RowBinaryColumn[],
  opts: RowBinaryOptions = {},
): { ok: true; plan: RowBinaryPlan } | { ok: false; reason: string } {
  try {
    for (const c of columns) parseChType(c.type, opts);
  } catch (err) {
    return { ok: false, reason: err instanceof Error ? err.message : String(err) };
  }
  return { ok: true, plan: { columns: columns.map((c) => ({ name: c.name, type: c.type })) } };
}

/** Appends one row (a plain object) to a writer; throws RowBinaryError, leaving `w.pos` unchanged. */
export type RowEncoder = (w: ByteWriter, row: Record<string, unknown>) => void;

/** The row encoder for a column list (in the table's order: RowBinary has no column names). */
export function rowEncoder(columns: RowBinaryColumn[]): RowEncoder {
  const names = columns.map((c) => c.name);
  const encs = columns.map((c) => compile(parseChType(c.type), c.type));
  const known = new Set(names);
  const count = names.length;
  const hasOwn = Object.prototype.hasOwnProperty;
  return (w, row) => {
    const start = w.pos;
    let present = 0;
    try {
      for (let i = 0; i < count; i++) {
        const name = names[i]!;
        const v = row[name];
        const e = encs[i]!;
        if (v === undefined) e.zero(w);
        else {
          present++;
          if (v === null) e.zero(w);
          else e.enc(w, v, name);
        }
      }
      let keys = 0;
      for (const k in row) {
        if (row[k] !== undefined) keys++;
      }
      if (keys !== present) {
        for (const k in row) {
          if (row[k] !== undefined && (!known.has(k) || !hasOwn.call(row, k)))
            throw new RowBinaryError(`unknown field ${JSON.stringify(k)}: the table has no such column`);
        }
      }
    } catch (err) {
      w.pos = start;
      throw err;
    }
  };
}

/**
 * UTF-8 bytes of `s` written into `buf` from `pos` (lone surrogates become U+FFFD, as TextEncoder
 * does); returns the position after them. `buf` must have room for `s.length * 3` bytes. Plain JS, no
 * builtins: it also serves the isolate's TextEncoder and hashes (packages/sandbox/src/isolate/utf8.ts).
 */
export function utf8Into(s: string, buf: Uint8Array, pos: number): number {
  const len = s.length;
  let n = pos;
  for (let i = 0; i < len; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      buf[n++] = c;
    } else if (c < 0x800) {
      buf[n++] = 0xc0 | (c >> 6);
      buf[n++] = 0x80 | (c & 63);
    } else {
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < len) {
        const d = s.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          i++;
          buf[n++] = 0xf0 | (c >> 18);
          buf[n++] = 0x80 | ((c >> 12) & 63);
          buf[n++] = 0x80 | ((c >> 6) & 63);
          buf[n++] = 0x80 | (c & 63);
          continue;
        }
      }
      if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
      buf[n++] = 0xe0 | (c >> 12);
      buf[n++] = 0x80 | ((c >> 6) & 63);
      buf[n++] = 0x80 | (c & 63);
    }
  }
  return n;
}
