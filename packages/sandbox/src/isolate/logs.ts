/**
 * The log bridge, kept entirely inside the isolate: log.* and console.* append to a string that
 * leaves with the chunk's output, so logging costs no boundary crossing. The host grants a line
 * budget per call (its per-pipeline rate limit); lines past it are only counted.
 */
import { describeError, safeString } from "./errors.ts";

const stringify = JSON.stringify;
const now = Date.now;
const freeze = Object.freeze;

let maxLineChars = 8192;
// Per-call state. A chunk runs to completion before the next call starts (the host serialises).
export let current = -1;
let budget = 0;
let dropped = 0;
let logs = "";

function writeLog(level: number, message: string, fields: unknown): void {
  if (budget <= 0) {
    dropped++;
    return;
  }
  budget--;
  let f = "null";
  if (fields !== undefined && fields !== null) {
    try {
      const s = stringify(fields);
      if (typeof s === "string") f = s;
    } catch (err) {
      f = stringify({ weir_unserializable: describeError(err)[1] });
    }
  }
  let truncated = 0;
  if (message.length + f.length > maxLineChars) {
    truncated = 1;
    f = `{"weir_truncated_chars":${message.length + f.length}}`;
    if (message.length > maxLineChars) message = `${message.slice(0, maxLineChars)}…`;
  }
  logs += `${logs ? "," : ""}[${current},${now()},${level},${stringify(message)},${f},${truncated}]`;
}

/** The `log` argument handlers receive. */
export const log = freeze({
  debug: (message: unknown, fields?: unknown) => writeLog(0, safeString(message), fields),
  info: (message: unknown, fields?: unknown) => writeLog(1, safeString(message), fields),
  warn: (message: unknown, fields?: unknown) => writeLog(2, safeString(message), fields),
  error: (message: unknown, fields?: unknown) => writeLog(3, safeString(message), fields),
});

function formatArgs(args: unknown[]): string {
  let out = "";
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    let s: string;
    if (typeof a === "string") s = a;
    else if (typeof a === "object" && a !== null && typeof (a as Error).stack === "string") {
      s = safeString((a as Error).stack);
    } else {
      try {
        s = typeof a === "object" && a !== null ? (stringify(a) ?? safeString(a)) : safeString(a);
      } catch {
        s = safeString(a);
      }
    }
    out += (i ? " " : "") + s;
  }
  return out;
}

/** The `console` global. */
export const consoleObject = freeze({
  debug: (...args: unknown[]) => writeLog(0, formatArgs(args), undefined),
  log: (...args: unknown[]) => writeLog(1, formatArgs(args), undefined),
  info: (...args: unknown[]) => writeLog(1, formatArgs(args), undefined),
  warn: (...args: unknown[]) => writeLog(2, formatArgs(args), undefined),
  error: (...args: unknown[]) => writeLog(3, formatArgs(args), undefined),
  trace: (...args: unknown[]) => writeLog(0, formatArgs(args), undefined),
});

/** Start a call: set the line budget and the per-line cap. */
export function beginLogs(lineBudget: number, lineCap: number): void {
  budget = lineBudget;
  maxLineChars = lineCap;
  dropped = 0;
  logs = "";
}

/** Attribute the following lines to message `index` of the call. */
export function setCurrent(index: number): void {
  current = index;
}

/** End a call: the JSON array body of its lines and the number dropped. */
export function endLogs(): { logs: string; dropped: number } {
  const out = { logs, dropped };
  logs = "";
  return out;
}
