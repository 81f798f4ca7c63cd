/**
 * The otel-traces handler as the baselines run it: a plain function in this process, with the two
 * sandbox globals it uses provided the obvious host way (md5 from node:crypto, env as an object).
 * A value is an otlp_json string (JSON.parse) or otlp_proto bytes (@weir/otlp's `decodeTraces`, the
 * decoder the sandbox runs inside the isolate, here on the host).
 */
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { handler } from "@weir/fn-otel-traces";
import { decodeTraces } from "@weir/otlp";
import type { BenchValue } from "./data.ts";

const g = globalThis as { hash?: unknown; env?: unknown };
g.hash = { md5: (text: string) => createHash("md5").update(text).digest("hex") };
g.env = Object.freeze({ WEIR_TABLE_FLAVOR: "legacy" });

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** A message value -> the handler's `data`: JSON.parse for a string, decodeTraces for bytes. */
export function parseValue(value: BenchValue): unknown {
  return typeof value === "string" ? JSON.parse(value) : decodeTraces(value);
}

/** One message value -> its rows as objects (what a hand-written consumer hands to its client). */
export function transform(value: BenchValue): Record<string, unknown>[] {
  return handler(parseValue(value), quiet) as Record<string, unknown>[];
}

/** One message value -> its rows as NDJSON, the same bytes the sandbox produces. */
export function transformToNdjson(value: BenchValue): { text: string; rows: number } {
  const rows = transform(value);
  let text = "";
  for (let i = 0; i < rows.length; i++) text += (i ? "\n" : "") + JSON.stringify(rows[i]);
  return { text, rows: rows.length };
}

/**
 * The handler as a worker receives it: functions/otel-traces bundled with its ../shared helpers, as
 * `weir handler upload` does, and compiled as the API compiles a bundled upload. Both modules are
 * loaded here only, so the plain-function baselines never load esbuild.
 */
export async function compiledHandler(): Promise<{ code: string; sourceMap: string }> {
  const { bundleHandler } = await import("@weir/sdk/bundle");
  const { compileHandler } = await import("@weir/sandbox");
  const b = await bundleHandler(fileURLToPath(import.meta.resolve("@weir/fn-otel-traces")));
  const compiled = await compileHandler(b.bundle, {
    filename: b.manifest.entry,
    bundle: { sourceMap: b.sourceMap },
  });
  if (!compiled.ok) throw new Error(`handler does not compile: ${JSON.stringify(compiled.diagnostics)}`);
  return compiled;
}
