/**
 * Error codes shared by every Weir package. Errors that cross a boundary (isolate, HTTP, Kafka) are
 * serialized with {@link serializeError} and rebuilt with {@link deserializeError}; callers branch
 * on `code` and `retryable`, never on `instanceof`.
 */
export const ERROR_CODES = [
  // input and API
  "VALIDATION",
  "NOT_FOUND",
  "CONFLICT",
  "UNAUTHORIZED",
  "FORBIDDEN",
  "PAYLOAD_TOO_LARGE",
  "UNSUPPORTED_MEDIA_TYPE",
  "COMPILE_ERROR",
  "MISSING_HANDLER_EXPORT",
  // handler and sandbox
  "DECODE_ERROR",
  "HANDLER_ERROR",
  "HANDLER_TIMEOUT",
  "HANDLER_MEMORY",
  "HANDLER_OUTPUT",
  /** The handler threw `NonRetryableError`: the message goes to the DLQ without a retry. */
  "HANDLER_NON_RETRYABLE",
  /** The handler threw `RetryAfterError(ms)` (retryable; `details.retry_after_ms` is the delay asked for). */
  "HANDLER_RETRY_AFTER",
  /** The process running the handler died (signal, exit code, V8 fatal error) while on this message, too often. */
  "HANDLER_CRASH",
  /** The process running the handler died during the message (signal, exit code, V8 fatal error). */
  "HANDLER_CRASH",
  "SANDBOX_DISPOSED",
  // sinks and sources
  "SINK_RETRYABLE",
  "SINK_PERMANENT",
  "SINK_SCHEMA",
  "SOURCE_ERROR",
  /** The Kafka broker refused the source's SASL credentials. */
  "KAFKA_AUTH",
  /** The TLS handshake with a Kafka broker failed (untrusted or invalid certificate). */
  "KAFKA_TLS",
  "DLQ_ERROR",
  /** The operator's egress policy refuses a destination of the pipeline (a host, or the address a name resolves to). */
  "EGRESS_DENIED",
  /** A partition with lag made no progress for the worker's stall window. */
  "STALLED",
  /** No live worker of the pipeline's pool: nothing runs it (placement). */
  "NO_WORKERS",
  // anything else
  "INTERNAL",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** The wire form of an error: what crosses the isolate, HTTP and Kafka boundaries. */
export interface SerializedError {
  name: string;
  message: string;
  code: ErrorCode;
  retryable: boolean;
  stack?: string | undefined;
  /** Extra structured context (field, line, column, status, ...). Never holds secrets. */
  details?: Record<string, unknown> | undefined;
}

export interface WeirErrorOptions {
  retryable?: boolean;
  details?: Record<string, unknown>;
  cause?: unknown;
  /** For retryable errors: how long the caller should wait before trying again. */
  backoffMs?: number;
}

/** The one error class of the project: a code from {@link ERROR_CODES}, a retry flag and context. */
export class WeirError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;
  readonly backoffMs: number | undefined;

  constructor(code: ErrorCode, message: string, options: WeirErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "WeirError";
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.details = options.details;
    this.backoffMs = options.backoffMs;
  }
}

const CODES = new Set<string>(ERROR_CODES);

/** True when `value` looks like a Weir error (by shape, so it works across realms and processes). */
export function isWeirError(value: unknown): value is WeirError {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { code?: unknown }).code === "string" &&
    CODES.has((value as { code: string }).code) &&
    typeof (value as { retryable?: unknown }).retryable === "boolean"
  );
}

/** Turn anything thrown into the wire form. Unknown errors become `INTERNAL`, not retryable. */
export function serializeError(err: unknown, fallback: ErrorCode = "INTERNAL"): SerializedError {
  if (isWeirError(err)) {
    return {
      name: err.name,
      message: err.message,
      code: err.code,
      retryable: err.retryable,
      stack: err.stack,
      details: err.details,
    };
  }
  if (err instanceof Error) {
    return { name: err.name, message: err.message, code: fallback, retryable: false, stack: err.stack };
  }
  return { name: "Error", message: String(err), code: fallback, retryable: false };
}

/** Rebuild a {@link WeirError} from its wire form. */
export function deserializeError(wire: SerializedError): WeirError {
  const code = CODES.has(wire.code) ? wire.code : "INTERNAL";
  const err = new WeirError(code, wire.message, {
    retryable: wire.retryable,
    ...(wire.details ? { details: wire.details } : {}),
  });
  err.name = wire.name;
  if (wire.stack) err.stack = wire.stack;
  return err;
}
