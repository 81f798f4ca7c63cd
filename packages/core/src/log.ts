/** Per-pipeline log records: written by handlers and workers, read through the logs API. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === "string" && (LOG_LEVELS as readonly string[]).includes(value);
}

/** Numeric rank for `level >= min` filters. */
export const LOG_LEVEL_RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LogRecord {
  /** Milliseconds since the epoch. */
  time: number;
  level: LogLevel;
  message: string;
  fields?: Record<string, unknown> | undefined;
  /** `handler` for log.* and console.* calls, `worker` for the platform's own lines. */
  source: "handler" | "worker";
  topic?: string | undefined;
  partition?: number | undefined;
  /** Kafka offsets are 64-bit: kept as decimal strings. */
  offset?: string | undefined;
  handler_version?: string | undefined;
  worker_id?: string | undefined;
}
