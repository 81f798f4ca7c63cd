/**
 * Entry of the isolate bundle (see source.ts): defines `globalThis.__weirOtlp` so the sandbox can
 * decode inside the isolate and hand the handler an object that never crossed the boundary.
 */
import { decodeLogsRaw, decodeTracesRaw } from "./decode.ts";

(globalThis as { __weirOtlp?: unknown }).__weirOtlp = Object.freeze({
  decodeTraces: decodeTracesRaw,
  decodeLogs: decodeLogsRaw,
});
