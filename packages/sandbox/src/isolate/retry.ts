/**
 * The typed retry errors handlers throw, defined inside the isolate (so `instanceof` works in
 * handler code and in the runtime, and no host object is involved): `NonRetryableError` sends
 * the message straight to the dead-letter topic, `RetryAfterError(ms)` asks the worker to run it
 * again after `ms` (clamped to 0..RETRY_AFTER_MAX_MS). `classify` turns a thrown value into the
 * failure code the runtime reports; anything else stays HANDLER_ERROR.
 */
import { RETRY_AFTER_MAX_MS } from "./protocol.ts";

const NumberCtor = Number;
const round = Math.round;
const min = Math.min;
const defineProperty = Object.defineProperty;

/** A delay the worker can wait: a finite number of ms in 0..RETRY_AFTER_MAX_MS, else 0 (or the max for +Infinity). */
export function clampRetryAfter(ms: unknown): number {
  let n: number;
  try {
    n = NumberCtor(ms);
  } catch {
    return 0;
  }
  return n > 0 ? min(round(n), RETRY_AFTER_MAX_MS) : 0;
}

/** Throw this to dead-letter the message at once: retrying cannot help (bad data, a refused value). */
export class NonRetryableError extends Error {}

/** Throw this to have the message run again after `ms` milliseconds (a rate limit, a transient lookup miss). */
export class RetryAfterError extends Error {
  declare readonly retryAfterMs: number;
  constructor(ms: number, message?: string) {
    const delay = clampRetryAfter(ms);
    super(message === undefined ? `retry after ${delay} ms` : message);
    defineProperty(this, "retryAfterMs", { value: delay, enumerable: true });
  }
}

// `name` on the prototypes (not each instance), so a subclass can set its own.
for (const [ctor, name] of [
  [NonRetryableError, "NonRetryableError"],
  [RetryAfterError, "RetryAfterError"],
] as const) {
  defineProperty(ctor.prototype, "name", {
    value: name,
    writable: true,
    enumerable: false,
    configurable: true,
  });
}

/** The failure code of a thrown value, and the delay for a RetryAfterError. Never throws. */
export function classify(
  err: unknown,
): ["HANDLER_ERROR" | "HANDLER_NON_RETRYABLE"] | ["HANDLER_RETRY_AFTER", number] {
  try {
    if (err instanceof RetryAfterError) return ["HANDLER_RETRY_AFTER", clampRetryAfter(err.retryAfterMs)];
    if (err instanceof NonRetryableError) return ["HANDLER_NON_RETRYABLE"];
  } catch {
    // a Proxy whose traps throw, a getter that throws: not one of ours
  }
  return ["HANDLER_ERROR"];
}
