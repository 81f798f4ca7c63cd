/** Sandbox limits: the pipeline spec's `limits` with the defaults of @weir/core's schema. */
import { Limits } from "@weir/core";

function defaultOf(key: keyof Limits): number {
  const value = (Limits.properties[key] as { default?: unknown }).default;
  if (typeof value !== "number") throw new Error(`@weir/core Limits.${key} has no numeric default`);
  return value;
}

/**
 * Defaults, read from the spec schema so the API, the worker and the sandbox cannot disagree:
 * memory_mb 128, timeout_ms 1000, max_output_bytes 8 MiB, log_lines_per_second 100,
 * max_log_line_bytes 8192.
 */
export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  memory_mb: defaultOf("memory_mb"),
  timeout_ms: defaultOf("timeout_ms"),
  max_output_bytes: defaultOf("max_output_bytes"),
  log_lines_per_second: defaultOf("log_lines_per_second"),
  max_log_line_bytes: defaultOf("max_log_line_bytes"),
});

/** Fill in defaults; values outside the schema's bounds are rejected, not clamped. */
export function resolveLimits(partial: Partial<Limits> = {}): Limits {
  const out = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof Limits)[]) {
    const value = partial[key];
    if (value === undefined) continue;
    const schema = Limits.properties[key] as { minimum?: number; maximum?: number };
    if (
      !Number.isInteger(value) ||
      (schema.minimum !== undefined && value < schema.minimum) ||
      (schema.maximum !== undefined && value > schema.maximum)
    ) {
      throw new RangeError(
        `limits.${key} must be an integer in [${schema.minimum}, ${schema.maximum}], got ${String(value)}`,
      );
    }
    out[key] = value;
  }
  return out;
}
