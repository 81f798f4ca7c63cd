/**
 * Test support for running handlers as plain functions under vitest: the sandbox globals the handler
 * declares (`hash`, `env`) installed on globalThis, and a Log that records what it is told.
 * Not part of the uploaded handler.
 */
import { createHash } from "node:crypto";
import type { Log } from "@weir/core";

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
