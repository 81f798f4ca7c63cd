/**
 * A plain-JS UTF-8 TextDecoder for the isolate bundle. protobufjs 8 constructs a TextDecoder when it
 * loads (for strings of 64 bytes and more); an isolated-vm isolate has none of its own, so esbuild
 * injects this one in place of the free `TextDecoder` identifier (the isolate's globals stay as the
 * sandbox made them). With `fatal`, invalid UTF-8 throws, as the native decoder does.
 */
export class TextDecoder {
  private readonly fatal: boolean;

  constructor(_label = "utf-8", options: { fatal?: boolean; ignoreBOM?: boolean } = {}) {
    this.fatal = options.fatal === true;
  }

  decode(bytes: Uint8Array): string {
    let out = "";
    let chunk: number[] = [];
    const n = bytes.length;
    let i = 0;
    while (i < n) {
      const b = bytes[i]!;
      let cp = -1;
      let need = 0;
      let min = 0;
      if (b < 0x80) {
        cp = b;
      } else if (b >= 0xc2 && b <= 0xdf) {
        cp = b & 0x1f;
        need = 1;
        min = 0x80;
      } else if (b >= 0xe0 && b <= 0xef) {
        cp = b & 0x0f;
        need = 2;
        min = 0x800;
      } else if (b >= 0xf0 && b <= 0xf4) {
        cp = b & 0x07;
        need = 3;
        min = 0x10000;
      }
      let ok = cp >= 0 && i + need < n + (need === 0 ? 1 : 0);
      for (let k = 1; ok && k <= need; k++) {
        const c = bytes[i + k];
        if (c === undefined || (c & 0xc0) !== 0x80) ok = false;
        else cp = (cp << 6) | (c & 0x3f);
      }
      if (ok && need > 0 && (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))) ok = false;
      if (!ok) {
        if (this.fatal) throw new TypeError("The encoded data was not valid for encoding utf-8");
        chunk.push(0xfffd);
        i++;
      } else {
        if (cp > 0xffff) {
          cp -= 0x10000;
          chunk.push(0xd800 | (cp >> 10), 0xdc00 | (cp & 0x3ff));
        } else {
          chunk.push(cp);
        }
        i += need + 1;
      }
      if (chunk.length > 4096) {
        out += String.fromCharCode.apply(null, chunk);
        chunk = [];
      }
    }
    return out + String.fromCharCode.apply(null, chunk);
  }
}
