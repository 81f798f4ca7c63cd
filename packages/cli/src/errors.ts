/**
 * Exit codes and error reporting. Scripts branch on the exit code, people read the stderr line:
 * `error: <code>: <message>` followed by the field issues or compile diagnostics the API sent.
 * API errors are recognised by shape (`code`, `details.status`), never with `instanceof`.
 */
import { isWeirError } from "@weir/core";

/** The exit codes of every `weir` command (also listed in `weir --help` and the README). */
export const EXIT = {
  OK: 0,
  /** The operation ran and failed: validation, compile error, failing test events, other 4xx. */
  FAILED: 1,
  /** Bad flags or arguments, unreadable or unparsable input file. */
  USAGE: 2,
  /** The pipeline, version or record does not exist (404). */
  NOT_FOUND: 3,
  /** Missing, wrong or insufficient token (401/403). */
  AUTH: 4,
  /** The API cannot be reached, timed out, or answered 5xx. */
  UNAVAILABLE: 5,
  /** `weir wait` gave up before its condition held. */
  TIMEOUT: 6,
  /** Stopped by Ctrl-C (SIGINT) before finishing (`weir wait`; `logs -f` exits 0). */
  INTERRUPTED: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const EXIT_CODES_HELP = `Exit codes:
  0  ok
  1  operation failed (validation, compile error, failed test events, other 4xx)
  2  usage error (bad flags or arguments, unreadable file)
  3  not found (pipeline, version, DLQ record)
  4  authentication or permission (401/403)
  5  API unreachable, timed out or 5xx
  6  timeout (weir wait)
  130 interrupted (Ctrl-C during weir wait)`;

/** An error raised by the CLI itself, with the exit code it stands for. */
export class CliError extends Error {
  readonly exitCode: ExitCode;
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;

  constructor(exitCode: ExitCode, code: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = "CliError";
    this.exitCode = exitCode;
    this.code = code;
    this.details = details;
  }
}

export const usageError = (message: string) => new CliError(EXIT.USAGE, "USAGE", message);

function isCliError(err: unknown): err is CliError {
  return (
    typeof err === "object" &&
    err !== null &&
    (err as { name?: unknown }).name === "CliError" &&
    typeof (err as { exitCode?: unknown }).exitCode === "number"
  );
}

/** The HTTP status of an API error, if it is one. */
export function statusOf(err: unknown): number | undefined {
  if (!isWeirError(err)) return undefined;
  const status = err.details?.status;
  return typeof status === "number" ? status : undefined;
}

/** True for errors of fetch itself: refused connection, DNS, reset, or the SDK's request timeout. */
function isNetworkError(err: unknown): boolean {
  if (typeof err !== "object" || err === null) return false;
  const name = (err as { name?: unknown }).name;
  if (name === "TimeoutError" || name === "AbortError") return true;
  const message = String((err as { message?: unknown }).message ?? "");
  return name === "TypeError" && /fetch failed|network|ECONN|ENOTFOUND|socket/i.test(message);
}

/** Exit code for anything a command threw. */
export function exitCodeFor(err: unknown): ExitCode {
  if (isCliError(err)) return err.exitCode;
  const status = statusOf(err);
  if (status !== undefined) {
    if (status === 401 || status === 403) return EXIT.AUTH;
    if (status === 404) return EXIT.NOT_FOUND;
    if (status >= 500) return EXIT.UNAVAILABLE;
    return EXIT.FAILED;
  }
  if (isWeirError(err) && err.code === "NOT_FOUND") return EXIT.NOT_FOUND;
  if (isNetworkError(err)) return EXIT.UNAVAILABLE;
  return EXIT.FAILED;
}

interface Issue {
  path?: unknown;
  message?: unknown;
}
interface Diag {
  /** Set by the bundler, whose diagnostics can be in any file of the bundle. */
  file?: unknown;
  line?: unknown;
  column?: unknown;
  message?: unknown;
}

/**
 * Compile diagnostics as a compiler prints them: `file:line:column: error: message`. The API's
 * line and column are already 1-based (0: not tied to a place), as editors and terminals expect.
 */
export function formatDiagnostics(file: string, diagnostics: unknown): string[] {
  if (!Array.isArray(diagnostics)) return [];
  return (diagnostics as Diag[]).map((d) => {
    const line = typeof d.line === "number" ? d.line : 0;
    const col = typeof d.column === "number" && d.column > 0 ? d.column : 1;
    const name = typeof d.file === "string" && d.file ? d.file : file;
    const where = line > 0 ? `${name}:${line}:${col}` : name;
    return `${where}: error: ${String(d.message ?? "")}`;
  });
}

/** The stderr lines for an error: `error: CODE: message`, then issues, diagnostics and hints. */
export function formatError(
  err: unknown,
  ctx: { api?: string; file?: string; hint?: string } = {},
): string[] {
  const lines: string[] = [];
  if (isCliError(err) || isWeirError(err)) {
    const details = (err as { details?: Record<string, unknown> }).details ?? {};
    const diagnostics = formatDiagnostics(ctx.file ?? "handler.ts", details.diagnostics);
    // Compile diagnostics first, like a compiler, so editors can jump to them.
    lines.push(...diagnostics);
    lines.push(`error: ${err.code}: ${err.message}`);
    if (Array.isArray(details.issues)) {
      for (const i of details.issues as Issue[])
        lines.push(`  ${String(i.path || "/")}: ${String(i.message)}`);
    }
  } else if (isNetworkError(err)) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const why = e.cause?.code ?? e.cause?.message ?? e.message;
    lines.push(`error: UNAVAILABLE: cannot reach the Weir API at ${ctx.api ?? "?"} (${why})`);
    lines.push("  start it with `pnpm --filter @weir/api start`, or pass --api / set WEIR_API_URL");
  } else {
    lines.push(`error: INTERNAL: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (ctx.hint) lines.push(`  ${ctx.hint}`);
  return lines;
}
