/**
 * Support for testing handlers (functions/*) as plain functions under vitest: the sandbox globals the handler
 * declares (`hash`, `env`) installed on globalThis, and a Log that records what it is told; and the
 * other way round, the same entry bundled (as `weir handler upload` does), compiled (as the API does)
 * and loaded into the real sandbox as the worker does.
 * Imported as `@weir/testing/handlers` so that other tests do not load isolated-vm.
 */
import { createHash } from "node:crypto";
import type { Log } from "@weir/core";
import { compileHandler, createSandbox, type RunResult, type Sandbox } from "@weir/sandbox";
import { bundleHandler, type HandlerBundle } from "@weir/sdk/bundle";

/** md5 from node:crypto: an independent implementation of what the sandbox's `hash.md5` must return. */
export function md5Hex(text: string): string {
  return createHash("md5").update(text, "utf8").digest("hex");
}

/** Install `hash` and `env` as the sandbox does; returns a function that sets `env` for one test. */
export function installSandboxGlobals(): (env?: Record<string, string>) => void {
  Object.assign(globalThis, { hash: { md5: md5Hex } });
  return (env) => {
    Object.assign(globalThis, { env: env ?? {} });
  };
}

export interface LogEntry {
  level: "debug" | "info" | "warn" | "error";
  message: string;
  fields?: Record<string, unknown>;
}

/** A Log that keeps every call, for assertions on what the handler logged. */
export function recordingLog(): Log & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const at = (level: LogEntry["level"]) => (message: string, fields?: Record<string, unknown>) =>
    void entries.push({ level, message, fields });
  return { entries, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/**
 * A handler entry as a worker receives it: bundled with its imports as `weir handler upload` does,
 * then compiled as the API compiles a bundled upload.
 */
export async function compileEntry(
  path: string,
): Promise<{ code: string; sourceMap: string; bundle: HandlerBundle; compileMs: number }> {
  const bundle = await bundleHandler(path);
  const started = performance.now();
  const compiled = await compileHandler(bundle.bundle, {
    filename: bundle.manifest.entry,
    bundle: { sourceMap: bundle.sourceMap },
  });
  if (!compiled.ok) throw new Error(`compile failed: ${JSON.stringify(compiled.diagnostics)}`);
  return {
    code: compiled.code,
    sourceMap: compiled.sourceMap,
    bundle,
    compileMs: performance.now() - started,
  };
}

/** Bundle and compile a handler entry as an upload does and load it into a real isolate with `env`. */
export async function sandboxFor(path: string, env: Record<string, string> = {}): Promise<Sandbox> {
  const { code, sourceMap } = await compileEntry(path);
  return createSandbox({ code, sourceMap, env });
}

/** The rows of a sandbox result, parsed from its NDJSON; throws with the handler's error otherwise. */
export function rowsOf(result: RunResult): unknown[] {
  if (!result.ok) throw new Error(`handler failed in the sandbox: ${JSON.stringify(result.error)}`);
  return result.rows ? result.rows.split("\n").map((line) => JSON.parse(line)) : [];
}

export { type GoldenInput, goldenInputs, goldenText } from "./golden.ts";
