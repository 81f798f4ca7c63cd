/**
 * OTLP helpers of the handler: ids, 64-bit nanosecond times and their formatting, status names,
 * attribute values flattened to strings. The handler imports this file by relative path; `weir handler
 * upload` (and `weir dev`, and the tests' runHandler) bundle it into the one module the sandbox runs.
 *
 * The same code as the Weir repository's functions/shared/otlp.ts: the rows are byte for byte those of
 * the example handlers there.
 */
import type { OtlpAnyValue, OtlpInt64, OtlpKeyValue, OtlpStatusCode } from "@weir/sdk";

/** The pipeline's `env` object, a global in the sandbox (absent when nothing installs it). */
declare const env: Readonly<Record<string, string | undefined>> | undefined;

/** A time as [whole seconds, nanoseconds 0..999999999], both exact doubles. */
export type SplitNanos = [number, number];

/**
 * Like {@link toNanos}, split at the second, without a BigInt on the common paths: decimal strings
 * are read digit by digit into two numbers (never parsed as one), and JSON numbers are divided in
 * doubles with an exact remainder.
 */
export function splitNanos(value: OtlpInt64 | undefined): SplitNanos | null {
  if (typeof value === "string") {
    const n = value.length;
    // Up to 15 digits of seconds stay exact as a double; longer (absurd) values take the BigInt path.
    if (n > 0 && n <= 24) {
      const secondDigits = n - 9;
      let seconds = 0;
      let nanos = 0;
      for (let i = 0; i < n; i++) {
        const digit = value.charCodeAt(i) - 0x30;
        if (digit < 0 || digit > 9) return null;
        if (i < secondDigits) seconds = seconds * 10 + digit;
        else nanos = nanos * 10 + digit;
      }
      return [seconds, nanos];
    }
  } else if (typeof value === "number" && value > 0 && value < MAX_EXACT_SPLIT) {
    // seconds * 1e9 is exact below MAX_EXACT_SPLIT (seconds * 5^9 < 2^53), so the remainder is too;
    // the rounded quotient can be one off near a whole second, which the remainder's range corrects.
    const ns = Math.trunc(value);
    let seconds = Math.floor(ns / 1e9);
    let nanos = ns - seconds * 1e9;
    if (nanos < 0) {
      seconds--;
      nanos += 1e9;
    } else if (nanos >= 1e9) {
      seconds++;
      nanos -= 1e9;
    }
    return [seconds, nanos];
  }
  const ns = toNanos(value);
  if (ns === null) return null;
  return [Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n)];
}

/** 4e18 ns (year 2096): below it, {@link splitNanos}' double arithmetic on numbers is exact. */
const MAX_EXACT_SPLIT = 4e18;

export function tableFlavor(): "modern" | "legacy" {
  const value = (typeof env === "object" && env !== null ? env.WEIR_TABLE_FLAVOR : undefined) ?? "modern";
  if (value === "modern" || value === "legacy") return value;
  // A typo here would write rows the table rejects; fail every message loudly instead.
  throw new Error(`WEIR_TABLE_FLAVOR must be "modern" or "legacy", got ${JSON.stringify(value)}`);
}

/** Ids are hex in either case; lower-case them. Anything else (e.g. base64) passes through untouched. */
export function normalizeId(id: unknown): string {
  if (typeof id !== "string") return "";
  // toLowerCase hands back the string itself when there is nothing to change, as for the Collector's
  // ids, which are then kept whether hex or not; cheaper than any scan of JSON.parse's sliced strings.
  const lower = id.toLowerCase();
  if (lower === id) return id;
  // No character but A-F lower-cases to a-f, so the id was hex exactly when its lower-case form is.
  return /^[0-9a-f]*$/.test(lower) ? lower : id;
}

/**
 * A 64-bit nanosecond value as a bigint. Strings keep every digit; a JSON number above 2^53 was already
 * rounded by JSON.parse before the handler saw it, so it is taken as given (its exact double value).
 */
export function toNanos(value: OtlpInt64 | undefined): bigint | null {
  if (typeof value === "string") return /^\d+$/.test(value) ? BigInt(value) : null;
  if (typeof value === "number" && Number.isFinite(value) && value >= 0) return BigInt(Math.trunc(value));
  return null;
}

/** Nanoseconds since the epoch -> "YYYY-MM-DD HH:MM:SS.ffffff" in UTC, truncated to microseconds. */
export function formatNanos(ns: bigint): string {
  const seconds = ns / 1_000_000_000n;
  const micros = (ns % 1_000_000_000n) / 1000n;
  return `${formatSeconds(Number(seconds))}.${micros.toString().padStart(6, "0")}`;
}

/** Last second representable as a 4-digit year (9999-12-31 23:59:59). */
const MAX_4_DIGIT_YEAR_SECONDS = 253_402_300_799;

/** The last second formatted: the spans of one message mostly start within the same second or two. */
let lastSeconds = Number.NaN;
let lastFormatted = "";

/**
 * Whole seconds since the epoch -> "YYYY-MM-DD HH:MM:SS" in UTC, by integer arithmetic (days to
 * civil date, H. Hinnant's algorithm) instead of a Date and toISOString per span.
 */
export function formatSeconds(seconds: number): string {
  if (seconds !== lastSeconds) {
    lastFormatted = formatSecondsUncached(seconds);
    lastSeconds = seconds;
  }
  return lastFormatted;
}

function formatSecondsUncached(seconds: number): string {
  if (seconds < 0 || seconds > MAX_4_DIGIT_YEAR_SECONDS) {
    const iso = new Date(seconds * 1000).toISOString();
    return `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
  }
  const days = Math.floor(seconds / 86_400);
  const secOfDay = seconds - days * 86_400;
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const h = Math.floor(secOfDay / 3600);
  const m = Math.floor((secOfDay % 3600) / 60);
  const sec = secOfDay % 60;
  return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)} ${pad(h, 2)}:${pad(m, 2)}:${pad(sec, 2)}`;
}

export function pad(n: number, width: number): string {
  const s = String(n);
  return s.length >= width ? s : "000000".slice(0, width - s.length) + s;
}

/** Nanoseconds -> milliseconds rounded half away from zero to 2 decimals, in integer math. */
export function roundMs(ns: bigint): number {
  const sign = ns < 0n ? -1n : 1n;
  const hundredths = (ns * sign + 5_000n) / 10_000n;
  return Number(hundredths * sign) / 100;
}

const STATUS_NAMES = ["UNSET", "OK", "ERROR"] as const;
/** The spellings real payloads use, resolved without a regex. */
const COMMON_STATUS = new Map<unknown, string>([
  [0, "UNSET"],
  [1, "OK"],
  [2, "ERROR"],
  ["STATUS_CODE_UNSET", "UNSET"],
  ["STATUS_CODE_OK", "OK"],
  ["STATUS_CODE_ERROR", "ERROR"],
]);

/** 0/1/2, "STATUS_CODE_OK"-style names or short names -> "UNSET" | "OK" | "ERROR". */
export function statusName(code: OtlpStatusCode | undefined): string {
  if (code === undefined || code === null || code === "") return "UNSET";
  const common = COMMON_STATUS.get(code);
  if (common !== undefined) return common;
  const text = String(code)
    .toUpperCase()
    .replace(/^STATUS_CODE_/, "");
  const byNumber = /^\d+$/.test(text) ? STATUS_NAMES[Number(text)] : undefined;
  if (byNumber) return byNumber;
  return (STATUS_NAMES as readonly string[]).includes(text) ? text : String(code);
}

/** Attributes -> Map(String, String); a repeated key keeps its last value. */
export function flattenAttributes(attributes: OtlpKeyValue[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of attributes ?? []) {
    if (kv && typeof kv.key === "string") out[kv.key] = anyValueToString(kv.value);
  }
  return out;
}

const MAX_LIST_ATTRIBUTES = 64;

/**
 * The legacy table's parallel key and value lists: exactly Object.keys / Object.values of
 * {@link flattenAttributes}, built without the intermediate object (whose keyed stores, with keys
 * JSON.parse did not internalize, cost more than the lists). A repeated key keeps its first
 * position and its last value, as an object's property does. Keys an object orders or treats
 * differently (integer-like keys come first, `__proto__` is not stored) take the object route.
 */
export function attributeLists(attributes: OtlpKeyValue[] | undefined): [keys: string[], values: string[]] {
  // The repeated-key check below is a linear search per key: past a few dozen attributes the object
  // route (one hash lookup per key) is cheaper, and a span with thousands stays linear.
  if (attributes && attributes.length > MAX_LIST_ATTRIBUTES) {
    const object = flattenAttributes(attributes);
    return [Object.keys(object), Object.values(object)];
  }
  const keys: string[] = [];
  const values: string[] = [];
  for (const kv of attributes ?? []) {
    if (!kv || typeof kv.key !== "string") continue;
    const key = kv.key;
    const first = key.charCodeAt(0);
    if ((first >= 0x30 && first <= 0x39) || key === "__proto__") {
      const object = flattenAttributes(attributes);
      return [Object.keys(object), Object.values(object)];
    }
    const value = anyValueToString(kv.value);
    const at = keys.indexOf(key);
    if (at < 0) {
      keys.push(key);
      values.push(value);
    } else {
      values[at] = value;
    }
  }
  return [keys, values];
}

/** The string stored for one attribute value; arrays and kvlists as JSON, bytes as their base64. */
export function anyValueToString(value: OtlpAnyValue | undefined): string {
  if (!value || typeof value !== "object") return "";
  if (typeof value.stringValue === "string") return value.stringValue;
  if (typeof value.boolValue === "boolean") return value.boolValue ? "true" : "false";
  if (value.intValue != null) return intToString(value.intValue);
  if (value.doubleValue != null) return String(value.doubleValue);
  if (typeof value.bytesValue === "string") return value.bytesValue;
  if (value.arrayValue || value.kvlistValue) return anyValueToJson(value);
  return "";
}

/** JSON for any value, written by hand so 64-bit ints keep every digit (JSON.stringify has no bigint). */
export function anyValueToJson(value: OtlpAnyValue | undefined): string {
  if (!value || typeof value !== "object") return "null";
  if (typeof value.stringValue === "string") return jsonString(value.stringValue);
  if (typeof value.boolValue === "boolean") return String(value.boolValue);
  if (value.intValue != null) {
    const digits = intToString(value.intValue);
    return isIntegerText(digits) ? digits : jsonString(digits);
  }
  if (value.doubleValue != null) {
    const d = value.doubleValue;
    // NaN and Infinity are not JSON numbers; proto3 JSON writes them as strings, and so do we.
    return typeof d === "number" && Number.isFinite(d) ? String(d) : jsonString(String(d));
  }
  if (typeof value.bytesValue === "string") return jsonString(value.bytesValue);
  // Concatenated in place rather than mapped and joined: no intermediate arrays per value.
  if (value.arrayValue) {
    const items = listOf(value.arrayValue.values);
    let out = "[";
    for (let i = 0; i < items.length; i++) out += (i === 0 ? "" : ",") + anyValueToJson(items[i]);
    return `${out}]`;
  }
  if (value.kvlistValue) {
    const members = listOf(value.kvlistValue.values);
    let out = "{";
    for (let i = 0; i < members.length; i++) {
      const kv = members[i]!;
      out += `${i === 0 ? "" : ","}${jsonString(String(kv.key))}:${anyValueToJson(kv.value)}`;
    }
    return `${out}}`;
  }
  return "null";
}

/** `values` of an array or kvlist: absent is empty; anything but an array throws, as `.map` on it did. */
function listOf<T>(values: T[] | null | undefined): T[] {
  if (values === undefined || values === null) return [];
  if (!Array.isArray(values)) throw new TypeError(`expected an array of values, got ${typeof values}`);
  return values;
}

/**
 * JSON.stringify of a string, minus the call in the common case: printable ASCII without a quote or
 * backslash is quoted as is; anything else (controls, non-ASCII, lone surrogates) goes through
 * JSON.stringify, so escaping stays exactly its own.
 */
function jsonString(text: string): string {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return JSON.stringify(text);
  }
  return `"${text}"`;
}

/** A 64-bit int as decimal text: strings as sent, integral numbers through BigInt (no "1e+21"). */
function intToString(value: OtlpInt64): string {
  if (typeof value === "string") {
    // trim() removes only characters <= U+0020 or >= U+00A0: with printable ASCII at both ends
    // (the usual "123") there is nothing to trim and no call to make.
    const last = value.length - 1;
    return last >= 0 && isPrintableAscii(value.charCodeAt(0)) && isPrintableAscii(value.charCodeAt(last))
      ? value
      : value.trim();
  }
  // Below 2^53 every integer's shortest decimal is all of its digits, so String() equals BigInt's.
  if (Number.isSafeInteger(value)) return String(value);
  return Number.isInteger(value) ? BigInt(value).toString() : String(value);
}

const isPrintableAscii = (c: number) => c > 0x20 && c < 0x7f;

/** /^-?\d+$/ without the regex. */
function isIntegerText(text: string): boolean {
  const start = text.charCodeAt(0) === 0x2d ? 1 : 0; // "-"
  if (text.length <= start) return false;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

export function findString(attributes: OtlpKeyValue[] | undefined, key: string): string | undefined {
  const kv = (attributes ?? []).find((a) => a?.key === key);
  return kv ? anyValueToString(kv.value) || undefined : undefined;
}

export function describe(data: unknown): string {
  return data === null ? "null" : Array.isArray(data) ? "an array" : typeof data;
}
