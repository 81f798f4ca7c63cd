/**
 * UTF-8 for the isolate (no Node Buffer, no Web APIs in a bare V8 context): encoding into a reused
 * scratch buffer keeps hashing short strings allocation-free.
 */
import { utf8Into } from "@weir/core/rowbinary";

let scratch = new Uint8Array(1024);

/** Encode `text` as UTF-8 into a shared scratch buffer; valid until the next call. */
export function utf8Scratch(text: string): { bytes: Uint8Array; length: number } {
  if (text.length * 3 > scratch.length) scratch = new Uint8Array(text.length * 3 + 64);
  return { bytes: scratch, length: utf8Into(text, scratch, 0) };
}

/** Encode `text` as a fresh UTF-8 Uint8Array. */
export function utf8Encode(text: string): Uint8Array {
  const { bytes, length } = utf8Scratch(text);
  return bytes.slice(0, length);
}

/** Decode UTF-8; invalid sequences become U+FFFD, or throw a TypeError when `fatal`. */
export function utf8Decode(bytes: Uint8Array, fatal: boolean): string {
  let out = "";
  const codes: number[] = [];
  const bad = () => {
    if (fatal) throw new TypeError("The encoded data was not valid for encoding utf-8");
    codes.push(0xfffd);
  };
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i]!;
    let need = 0;
    let cp = 0;
    let min = 0;
    if (b < 0x80) {
      codes.push(b);
      i++;
    } else {
      if (b >= 0xc2 && b <= 0xdf) [need, cp, min] = [1, b & 0x1f, 0x80];
      else if (b >= 0xe0 && b <= 0xef) [need, cp, min] = [2, b & 0x0f, 0x800];
      else if (b >= 0xf0 && b <= 0xf4) [need, cp, min] = [3, b & 0x07, 0x10000];
      else {
        bad();
        i++;
        continue;
      }
      let j = 1;
      for (; j <= need; j++) {
        const c = bytes[i + j];
        if (c === undefined || (c & 0xc0) !== 0x80) break;
        cp = (cp << 6) | (c & 63);
      }
      if (j <= need || cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        bad();
        i += Math.max(1, j);
        continue;
      }
      i += need + 1;
      if (cp >= 0x10000) {
        cp -= 0x10000;
        codes.push(0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
      } else codes.push(cp);
    }
    if (codes.length >= 4096) {
      out += String.fromCharCode(...codes);
      codes.length = 0;
    }
  }
  return out + String.fromCharCode(...codes);
}
