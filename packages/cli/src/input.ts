/**
 * Reading what the user points the CLI at: pipeline spec files (YAML or JSON), sample event files
 * (JSON array, one JSON value, or NDJSON), durations and times. Anything unreadable is a usage
 * error (exit 2) that names the file and, where known, the line.
 */
import { readFileSync } from "node:fs";
import { extname, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { usageError } from "./errors.ts";

export function readText(cwd: string, file: string): string {
  try {
    return readFileSync(resolve(cwd, file), "utf8");
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw usageError(`cannot read ${file}: ${code === "ENOENT" ? "no such file" : String(err)}`);
  }
}

/** A pipeline spec from a `.yaml`/`.yml`/`.json` file (anything else is tried as YAML, a superset). */
export function readSpecFile(cwd: string, file: string): Record<string, unknown> {
  const text = readText(cwd, file);
  let value: unknown;
  try {
    value = extname(file).toLowerCase() === ".json" ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw usageError(`cannot parse ${file}: ${(err as Error).message.split("\n")[0]}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw usageError(`${file}: expected a pipeline spec object (name, source, sink, ...)`);
  }
  return value as Record<string, unknown>;
}

/**
 * Sample events: a `.json` file holding an array (many events) or any other value (one event);
 * `.ndjson`/`.jsonl`, or a `.json` file that is not one JSON document, one event per non-empty line.
 */
export function readEvents(cwd: string, file: string): unknown[] {
  const text = readText(cwd, file);
  const ext = extname(file).toLowerCase();
  if (ext !== ".ndjson" && ext !== ".jsonl") {
    try {
      const value = JSON.parse(text);
      return Array.isArray(value) ? value : [value];
    } catch (err) {
      if (ext === ".json" && !text.trimStart().startsWith("{")) {
        throw usageError(`cannot parse ${file}: ${(err as Error).message}`);
      }
    }
  }
  const events: unknown[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? "").trim();
    if (!line) continue;
    try {
      events.push(JSON.parse(line));
    } catch (err) {
      throw usageError(`${file}:${i + 1}: not JSON: ${(err as Error).message}`);
    }
  }
  if (events.length === 0) throw usageError(`${file}: no events`);
  return events;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "500ms", "30s", "10m", "2h", "1d"; a bare number is seconds. */
export function parseDuration(text: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m) throw usageError(`${what}: expected a duration like 500ms, 30s, 10m, 2h or 1d, got "${text}"`);
  return Math.round(Number(m[1]) * (UNIT_MS[m[2] ?? "s"] ?? 1000));
}

/** A point in time: a duration ago ("10m"), an ISO 8601 date/time, or epoch milliseconds. */
export function parseTime(text: string, what: string, now = Date.now()): number {
  const t = text.trim();
  if (/^\d{11,}$/.test(t)) return Number(t);
  if (/^\d+(?:\.\d+)?(ms|s|m|h|d)$/.test(t)) return now - parseDuration(t, what);
  const parsed = Date.parse(t);
  if (Number.isNaN(parsed)) {
    throw usageError(`${what}: expected a duration ago (10m, 2h), an ISO time or epoch ms, got "${text}"`);
  }
  return parsed;
}

/** A positive integer flag or argument. */
export function parsePositiveInt(text: string, what: string, min = 1): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < min) {
    throw usageError(`${what}: expected an integer >= ${min}, got "${text}"`);
  }
  return Number(text);
}
