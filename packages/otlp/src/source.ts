/**
 * The decoder as one self-contained script for an isolated-vm isolate, bundled from
 * isolate-entry.ts on first use (like the sandbox's runtime bundle) so it cannot drift from the
 * host code it shares.
 */
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

let cached: string | undefined;

/**
 * A script (IIFE, no imports, no Node APIs) that defines
 * `globalThis.__weirOtlp = { decodeTraces(u8), decodeLogs(u8) }`, returning the same objects as
 * {@link decodeTraces} / {@link decodeLogs} and throwing an Error naming what failed. Built once per
 * process (esbuild, a few tens of ms).
 */
export function otlpDecoderSource(): string {
  if (cached !== undefined) return cached;
  const out = esbuild.buildSync({
    entryPoints: [fileURLToPath(new URL("./isolate-entry.ts", import.meta.url))],
    bundle: true,
    write: false,
    format: "iife",
    platform: "neutral",
    target: "es2022",
    // protobufjs probes for Node's Buffer and `long` through eval'd require; neither exists in the
    // isolate, where it falls back to Uint8Array and the Long that decode.ts installs.
    mainFields: ["module", "main"],
    inject: [fileURLToPath(new URL("./isolate-text-decoder.ts", import.meta.url))],
    minifyWhitespace: true,
    logLevel: "silent",
  });
  const js = out.outputFiles[0];
  if (!js) throw new Error("esbuild produced no OTLP decoder bundle");
  cached = js.text;
  return cached;
}
