/** TextEncoder, TextDecoder (UTF-8 only), base64 and btoa/atob for the isolate. */
import { utf8Decode, utf8Encode, utf8Scratch } from "./utf8.ts";

function toBytes(input: unknown): Uint8Array {
  if (input === undefined) return new Uint8Array(0);
  if (input instanceof Uint8Array) return input;
  if (input instanceof ArrayBuffer) return new Uint8Array(input);
  if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  throw new TypeError("expected an ArrayBuffer or an ArrayBufferView");
}

/** WHATWG TextEncoder (always UTF-8). */
export class TextEncoder {
  get encoding(): string {
    return "utf-8";
  }
  encode(input = ""): Uint8Array {
    return utf8Encode(String(input));
  }
  encodeInto(input: string, dest: Uint8Array): { read: number; written: number } {
    const { bytes, length } = utf8Scratch(String(input));
    if (length <= dest.length) {
      dest.set(bytes.subarray(0, length));
      return { read: input.length, written: length };
    }
    // Too long: encode character by character until the next one no longer fits.
    let written = 0;
    let read = 0;
    while (read < input.length) {
      const step = input.codePointAt(read)! > 0xffff ? 2 : 1;
      const part = utf8Scratch(input.slice(read, read + step));
      if (written + part.length > dest.length) break;
      dest.set(part.bytes.subarray(0, part.length), written);
      written += part.length;
      read += step;
    }
    return { read, written };
  }
}

/** WHATWG TextDecoder restricted to UTF-8 (the only encoding Kafka payloads here use). */
export class TextDecoder {
  readonly fatal: boolean;
  readonly ignoreBOM: boolean;
  constructor(label = "utf-8", options: { fatal?: boolean; ignoreBOM?: boolean } = {}) {
    const l = String(label).trim().toLowerCase();
    if (l !== "utf-8" && l !== "utf8" && l !== "unicode-1-1-utf-8") {
      throw new RangeError(`TextDecoder: only utf-8 is supported in the sandbox, got "${label}"`);
    }
    this.fatal = Boolean(options.fatal);
    this.ignoreBOM = Boolean(options.ignoreBOM);
  }
  get encoding(): string {
    return "utf-8";
  }
  decode(input?: ArrayBuffer | ArrayBufferView): string {
    let bytes = toBytes(input);
    if (!this.ignoreBOM && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf)
      bytes = bytes.subarray(3);
    return utf8Decode(bytes, this.fatal);
  }
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const LOOKUP = new Int16Array(128).fill(-1);
for (let i = 0; i < 64; i++) LOOKUP[ALPHABET.charCodeAt(i)] = i;
LOOKUP["-".charCodeAt(0)] = 62; // base64url
LOOKUP["_".charCodeAt(0)] = 63;

function encodeBytes(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]! + ALPHABET[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest > 0) {
    const n = (bytes[i]! << 16) | (rest === 2 ? bytes[i + 1]! << 8 : 0);
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]!;
    out += rest === 2 ? `${ALPHABET[(n >> 6) & 63]!}=` : "==";
  }
  return out;
}

function decodeBytes(text: string): Uint8Array {
  const clean = String(text).replace(/[\s=]+/g, "");
  if (clean.length % 4 === 1) throw new SyntaxError("invalid base64 string");
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let n = 0;
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < clean.length; i++) {
    const c = clean.charCodeAt(i);
    const v = c < 128 ? LOOKUP[c]! : -1;
    if (v < 0) throw new SyntaxError(`invalid base64 character at ${i}`);
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (acc >> bits) & 255;
    }
  }
  return out.subarray(0, n);
}

/** base64 helpers: strings are UTF-8 encoded; decode accepts standard and URL-safe alphabets. */
export const base64 = Object.freeze({
  /** Encode a string (as UTF-8) or bytes. */
  encode(input: string | Uint8Array): string {
    return encodeBytes(typeof input === "string" ? utf8Encode(input) : toBytes(input));
  },
  /** Decode to a string (as UTF-8). */
  decode(text: string): string {
    return utf8Decode(decodeBytes(text), false);
  },
  /** Decode to bytes. */
  decodeBytes(text: string): Uint8Array {
    return decodeBytes(text).slice();
  },
});

/** Web `btoa`: Latin-1 string to base64. */
export function btoa(text: string): string {
  const s = String(text);
  const bytes = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 255) throw new Error("btoa: the string contains characters outside of the Latin1 range");
    bytes[i] = c;
  }
  return encodeBytes(bytes);
}

/** Web `atob`: base64 to a Latin-1 string. */
export function atob(text: string): string {
  const bytes = decodeBytes(text);
  let out = "";
  for (let i = 0; i < bytes.length; i += 4096) out += String.fromCharCode(...bytes.subarray(i, i + 4096));
  return out;
}
