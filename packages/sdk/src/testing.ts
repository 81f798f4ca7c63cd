/**
 * Local testing of a handler (`@weir/sdk/testing`), for vitest, node:test or any runner: the entry is
 * bundled as `weir handler upload` bundles it (./bundle.ts), compiled as the API compiles an upload,
 * and loaded into the sandbox the worker runs (@weir/sandbox: an isolated-vm isolate with the
 * pipeline's memory, time, output and log limits, the `hash`/`base64`/`env` globals). Each event
 * comes back as `{ ok, rows, logs, error }`, with stack traces mapped to the original files.
 *
 * isolated-vm needs Node started with `--no-node-snapshot` (`node --no-node-snapshot --test`, or
 * vitest's `poolOptions.forks.execArgv`); without it, loading refuses with that fix-it.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { extname, isAbsolute, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { HandlerManifest, Limits, LogRecord, Row, SerializedError } from "@weir/core";
import { isWeirError, WeirError } from "@weir/core";
import {
  type CompileResult,
  compileHandler,
  createSandbox,
  type MessageFormat,
  resolveLimits,
  type Sandbox,
  type SandboxMessage,
} from "@weir/sandbox";
import { type BundleProblem, bundleHandler } from "./bundle.ts";

/**
 * The handler: the path of its entry file (bundled with its imports, as an upload is), a `file:` URL
 * (e.g. `new URL("./index.ts", import.meta.url)`), or a single file's source (compiled as a raw
 * upload, which may import nothing).
 */
export type HandlerEntry = string | URL | { source: string; filename?: string };

/**
 * How events reach the handler, as the pipeline's `source.config.format` (and `signal`) says:
 * `json`/`otlp_json` parse JSON, `text` passes the string, `otlp_proto_traces`/`otlp_proto_logs`
 * decode OTLP protobuf bytes into the otlp_json object.
 */
export type EventFormat = "json" | "otlp_json" | "text" | "otlp_proto_traces" | "otlp_proto_logs";

export interface RunHandlerOptions {
  /** The pipeline's `limits` (memory_mb, timeout_ms, ...); unset ones take the production defaults. */
  limits?: Partial<Limits>;
  /** The pipeline's `env`, the handler's frozen global `env`. */
  env?: Record<string, string>;
  /** Default `json`. */
  format?: EventFormat;
  /**
   * Events are message values as they sit in Kafka: strings (JSON text, or any text for `text`) or
   * bytes (`otlp_proto_*`), passed as they are. Without it, events are values: each is sent as its
   * JSON (a string as is for `text`, bytes as is), like `weir test` sends them.
   */
  raw?: boolean;
  /** Folder a relative entry path is resolved against (default: the working directory). */
  cwd?: string;
  /** Topic named in the log records (`topic`); partition is 0 and offset the event's index. */
  topic?: string;
}

/** What one event gave. */
export interface EventResult {
  /** Position in `events`. */
  index: number;
  ok: boolean;
  /** The rows returned (parsed); [] when the handler dropped the event or failed. */
  rows: Row[];
  /** The rows as the sink receives them: NDJSON, no trailing newline, "" for none. */
  ndjson: string;
  /** The handler's log lines for this event (after the pipeline's rate limit). */
  logs: LogRecord[];
  /** Why the event failed (code HANDLER_ERROR, HANDLER_TIMEOUT, ...; stack in the original files), else null. */
  error: SerializedError | null;
  durationMs: number;
}

/** A handler compiled as the API compiles an upload. */
export interface CompiledHandler {
  /** The script the sandbox loads, and its source map (to the original files). */
  code: string;
  sourceMap: string;
  /** The entry as named in stack traces and diagnostics (`index.ts`, `src/index.ts`). */
  filename: string;
  /** For a bundled entry: its files and packages; null for a source string. */
  manifest: HandlerManifest | null;
  /** Bytes of what would be uploaded (the bundle, or the source). */
  uploadBytes: number;
  /** Absolute paths of the handler's own files (not its packages), for watching; [] for a source. */
  files: string[];
  /** Wall time of bundling and compiling, ms. */
  durationMs: number;
}

/** One place a handler does not compile; `line` and `column` are 1-based (0: not tied to a place). */
export interface CompileDiagnostic {
  /** The file, named as in the manifest (relative to the handler's folder). */
  file: string;
  line: number;
  column: number;
  message: string;
}

function entryPath(entry: string | URL, cwd: string | undefined): string {
  if (entry instanceof URL) return fileURLToPath(entry);
  return isAbsolute(entry) ? entry : resolve(cwd ?? process.cwd(), entry);
}

function compileFailure(file: string, result: CompileResult & { ok: false }): WeirError {
  const diagnostics: CompileDiagnostic[] = result.diagnostics.map((d) => ({
    file,
    line: d.line,
    column: d.column,
    message: d.message,
  }));
  const first = diagnostics[0];
  const where = first && first.line > 0 ? `${first.file}:${first.line}:${first.column}: ` : "";
  return new WeirError(
    result.missingExport ? "MISSING_HANDLER_EXPORT" : "COMPILE_ERROR",
    `${where}${first?.message ?? "the handler does not compile"}`,
    { details: { diagnostics } },
  );
}

/**
 * Bundle (for a path) and compile a handler as `weir handler upload` and the API do. Rejects with a
 * WeirError `COMPILE_ERROR` (or `MISSING_HANDLER_EXPORT`) whose `details.diagnostics` are
 * {@link CompileDiagnostic}s, or `VALIDATION` when the entry does not exist.
 */
export async function compileEntry(
  entry: HandlerEntry,
  opts: { cwd?: string } = {},
): Promise<CompiledHandler> {
  const started = performance.now();
  if (typeof entry === "object" && !(entry instanceof URL)) {
    const filename = entry.filename ?? "handler.ts";
    const compiled = await compileHandler(entry.source, { filename });
    if (!compiled.ok) throw compileFailure(filename, compiled);
    return {
      code: compiled.code,
      sourceMap: compiled.sourceMap,
      filename,
      manifest: null,
      uploadBytes: Buffer.byteLength(entry.source),
      files: [],
      durationMs: performance.now() - started,
    };
  }
  const path = entryPath(entry, opts.cwd);
  let bundle: Awaited<ReturnType<typeof bundleHandler>>;
  try {
    bundle = await bundleHandler(path);
  } catch (err) {
    const problems = (err as { details?: { diagnostics?: BundleProblem[] } }).details?.diagnostics;
    if (!isWeirError(err) || err.code !== "COMPILE_ERROR" || !Array.isArray(problems)) throw err;
    // esbuild's columns are 0-based; diagnostics here are 1-based, as compilers print them.
    const diagnostics: CompileDiagnostic[] = problems.map((p) => ({
      file: p.file,
      line: p.line,
      column: p.line > 0 ? p.column + 1 : 0,
      message: p.message,
    }));
    throw new WeirError("COMPILE_ERROR", err.message, { details: { diagnostics } });
  }
  const { manifest } = bundle;
  const compiled = await compileHandler(bundle.bundle, {
    filename: manifest.entry,
    bundle: { sourceMap: bundle.sourceMap },
  });
  if (!compiled.ok) throw compileFailure(manifest.entry, compiled);
  // The manifest names files relative to the deepest folder holding them all: the entry's path
  // minus its manifest name.
  const root = path.slice(0, path.length - manifest.entry.split("/").join(sep).length);
  const files = manifest.files
    .filter((f) => !f.path.startsWith("node_modules/"))
    .map((f) => resolve(root, f.path.split("/").join(sep)));
  return {
    code: compiled.code,
    sourceMap: compiled.sourceMap,
    filename: manifest.entry,
    manifest,
    uploadBytes: Buffer.byteLength(bundle.bundle),
    files,
    durationMs: performance.now() - started,
  };
}

/** A handler loaded into a sandbox; reuse it across tests, then dispose of it. */
export interface LoadedHandler {
  readonly compiled: CompiledHandler;
  /** Run events in order (one isolate, as a worker runs a partition); never rejects for handler faults. */
  run(events: readonly unknown[], opts?: { raw?: boolean }): Promise<EventResult[]>;
  /** Log lines dropped so far by the pipeline's rate limit (`log_lines_per_second`). */
  droppedLogLines(): number;
  dispose(): void;
}

const SANDBOX_FORMAT: Record<EventFormat, MessageFormat> = {
  json: "json",
  otlp_json: "json",
  text: "text",
  otlp_proto_traces: "otlp_proto_traces",
  otlp_proto_logs: "otlp_proto_logs",
};

function invalid(path: string, message: string): WeirError {
  return new WeirError("VALIDATION", `${path}: ${message}`, { details: { issues: [{ path, message }] } });
}

/** isolated-vm's requirement on Node 20 and later, checked before an isolate is made. */
function checkNodeFlags(): void {
  const flags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? "").split(/\s+/)];
  if (flags.includes("--no-node-snapshot")) return;
  throw new WeirError(
    "VALIDATION",
    'the Weir sandbox (isolated-vm) needs Node started with --no-node-snapshot: run `node --no-node-snapshot --test`, set NODE_OPTIONS=--no-node-snapshot, or in vitest.config.ts set test.pool = "forks" and test.poolOptions.forks.execArgv = ["--no-node-snapshot"]',
    { details: { issues: [{ path: "process.execArgv", message: "--no-node-snapshot is missing" }] } },
  );
}

function toMessages(
  events: readonly unknown[],
  format: MessageFormat,
  raw: boolean,
  topic: string | undefined,
): SandboxMessage[] {
  const binary = format === "otlp_proto_traces" || format === "otlp_proto_logs";
  return events.map((event, i) => {
    const meta = (f: MessageFormat) => ({
      ...(topic !== undefined ? { topic } : {}),
      partition: 0,
      offset: String(i),
      format: f,
    });
    if (event instanceof Uint8Array) {
      if (!binary) {
        throw invalid(
          `events[${i}]`,
          `bytes need format otlp_proto_traces or otlp_proto_logs, not ${format}`,
        );
      }
      return { value: event, meta: meta(format) };
    }
    if (raw) {
      if (typeof event !== "string") {
        throw invalid(`events[${i}]`, `with raw: true an event is a string or bytes, got ${typeof event}`);
      }
      // A JSON text for a protobuf pipeline is what the API's test run does: the decoded object.
      return { value: event, meta: meta(binary ? "json" : format) };
    }
    if (format === "text" && typeof event === "string") return { value: event, meta: meta("text") };
    const value = JSON.stringify(event);
    if (value === undefined) throw invalid(`events[${i}]`, "not representable as JSON");
    return { value, meta: meta(format === "text" ? "text" : "json") };
  });
}

function parseRows(ndjson: string): Row[] {
  return ndjson === "" ? [] : ndjson.split("\n").map((line) => JSON.parse(line) as Row);
}

/**
 * Compile a handler and load it into a sandbox with the pipeline's limits, env and format. Rejects
 * as {@link compileEntry} does, with `VALIDATION` for bad limits or a Node without
 * `--no-node-snapshot`, and with the sandbox's error (`HANDLER_ERROR`, `HANDLER_TIMEOUT`, ...) when
 * the handler's top-level code throws.
 */
export async function loadHandler(entry: HandlerEntry, opts: RunHandlerOptions = {}): Promise<LoadedHandler> {
  let limits: Limits;
  try {
    limits = resolveLimits(opts.limits);
  } catch (err) {
    const key = /^limits\.(\w+)/.exec((err as Error).message)?.[1] ?? "";
    throw invalid(`limits.${key}`, (err as Error).message.replace(/^limits\.\w+ /, ""));
  }
  const format = SANDBOX_FORMAT[opts.format ?? "json"];
  if (format === undefined) {
    throw invalid("format", `expected one of ${Object.keys(SANDBOX_FORMAT).join(", ")}, got ${opts.format}`);
  }
  const compiled = await compileEntry(entry, opts.cwd !== undefined ? { cwd: opts.cwd } : {});
  checkNodeFlags();
  const sandbox: Sandbox = await createSandbox({
    code: compiled.code,
    sourceMap: compiled.sourceMap,
    env: { ...(opts.env ?? {}) },
    limits,
    format,
    // Its own log rate limit, not shared with other handlers loaded by the same process.
    pipelineId: `local-${randomBytes(6).toString("hex")}`,
  });
  return {
    compiled,
    async run(events, runOpts = {}) {
      const messages = toMessages(events, format, runOpts.raw ?? opts.raw ?? false, opts.topic);
      const results = await sandbox.runBatch(messages);
      return results.map((r, index) =>
        r.ok
          ? {
              index,
              ok: true,
              rows: parseRows(r.rows),
              ndjson: r.rows,
              logs: r.logs,
              error: null,
              durationMs: r.durationMs,
            }
          : {
              index,
              ok: false,
              rows: [],
              ndjson: "",
              logs: r.logs,
              error: r.error,
              durationMs: r.durationMs,
            },
      );
    },
    droppedLogLines: () => sandbox.droppedLogLines(),
    dispose: () => sandbox.dispose(),
  };
}

/**
 * Run `events` through the handler at `entry` in a fresh sandbox, as a worker would, and dispose of
 * it: one {@link EventResult} per event, in order. Handler faults (a throw, a timeout, too much
 * memory or output) are results with `ok: false`; the promise rejects only when the handler does
 * not compile or load (see {@link loadHandler}).
 *
 * ```ts
 * const [r] = await runHandler(new URL("./index.ts", import.meta.url), [{ resourceSpans: [] }]);
 * assert.deepEqual(r.rows, []);
 * ```
 */
export async function runHandler(
  entry: HandlerEntry,
  events: readonly unknown[],
  opts: RunHandlerOptions = {},
): Promise<EventResult[]> {
  const loaded = await loadHandler(entry, opts);
  try {
    return await loaded.run(events);
  } finally {
    loaded.dispose();
  }
}

/**
 * Sample events from a file, as message values for `{ raw: true }`: one per non-empty line of an
 * `.ndjson`/`.jsonl` file (the text as is, so 64-bit numbers keep every digit), or for a `.json`
 * file each element of its array (or the one value), re-serialized. With `format: "text"`, every
 * non-empty line of any file is one message, JSON or not.
 */
export function readSamples(file: string | URL, opts: { format?: EventFormat } = {}): string[] {
  const path = file instanceof URL ? fileURLToPath(file) : file;
  const text = readFileSync(path, "utf8");
  const ext = extname(path).toLowerCase();
  if (opts.format === "text") {
    return text
      .split("\n")
      .map((line) => line.replace(/\r$/, ""))
      .filter((line) => line.trim() !== "");
  }
  if (ext === ".json") {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw invalid(path, `not JSON: ${(err as Error).message}`);
    }
    return (Array.isArray(value) ? value : [value]).map((v) => JSON.stringify(v));
  }
  const lines = text.split("\n");
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "") continue;
    try {
      JSON.parse(line);
    } catch (err) {
      throw invalid(`${path}:${i + 1}`, `not JSON: ${(err as Error).message}`);
    }
    out.push(line);
  }
  return out;
}
