/**
 * `weir dev <entry.ts> --samples <file>`: the handler on this machine, in the sandbox the worker runs
 * (@weir/sdk/testing: bundled as an upload is, the pipeline's limits, env and format), run on sample
 * events; rows, log lines and errors are printed per event, and again on every save of the entry, a
 * file it imports or the samples (directories are watched, so editors that save by renaming are
 * seen). Compile errors print as `file:line:column: error: message`. Ctrl-C stops it (exit 0);
 * `--once` runs once and exits 1 if anything failed. No API is needed.
 */
import { existsSync, type FSWatcher, watch } from "node:fs";
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { isWeirError, parsePipelineSpec } from "@weir/core";
import type { CompileDiagnostic, EventFormat, EventResult, RunHandlerOptions } from "@weir/sdk/testing";
import type { Command } from "commander";
import type { Ctx } from "../context.ts";
import { CliError, EXIT, usageError } from "../errors.ts";
import { parsePositiveInt, readSpecFile } from "../input.ts";
import { bytes, millis } from "../output.ts";
import { action, type CtxFactory } from "./shared.ts";
import { printResult } from "./test.ts";

interface DevOptions {
  samples: string;
  pipeline?: string;
  env: string[];
  format?: string;
  once?: boolean;
  rows: boolean;
  maxRows?: string;
  debounce?: string;
}

const FORMATS: readonly EventFormat[] = ["json", "otlp_json", "text", "otlp_proto_traces", "otlp_proto_logs"];

/** Wait after the last change before running again: editors write a file in several steps. */
const DEFAULT_DEBOUNCE_MS = 150;

/** The sandbox settings: the spec's env, limits and format, then `--env` and `--format`. */
function settings(ctx: Ctx, opts: DevOptions): RunHandlerOptions & { format: EventFormat } {
  const out: RunHandlerOptions & { format: EventFormat } = { format: "json", env: {} };
  if (opts.pipeline) {
    const parsed = parsePipelineSpec(readSpecFile(ctx.cwd, opts.pipeline));
    if (!parsed.ok) {
      throw new CliError(EXIT.USAGE, "VALIDATION", `${opts.pipeline}: not a valid pipeline spec`, {
        issues: parsed.issues,
      });
    }
    const { spec } = parsed;
    out.env = { ...spec.env };
    out.limits = spec.limits;
    if (spec.source.type === "kafka") {
      const c = spec.source.config;
      out.format =
        c.format === "otlp_proto"
          ? c.signal === "logs"
            ? "otlp_proto_logs"
            : "otlp_proto_traces"
          : c.format;
      out.topic = c.topic;
    }
  }
  for (const pair of opts.env) {
    const at = pair.indexOf("=");
    if (at <= 0) throw usageError(`--env: expected KEY=VALUE, got "${pair}"`);
    out.env![pair.slice(0, at)] = pair.slice(at + 1);
  }
  if (opts.format !== undefined) {
    if (!FORMATS.includes(opts.format as EventFormat)) {
      throw usageError(`--format: expected one of ${FORMATS.join(", ")}, got "${opts.format}"`);
    }
    out.format = opts.format as EventFormat;
  }
  return out;
}

/** A diagnostic's file (named relative to the handler's folder) as a path from the cwd, when found. */
function localPath(ctx: Ctx, entry: string, name: string): string {
  for (let dir = dirname(entry); ; dir = dirname(dir)) {
    const candidate = join(dir, name);
    if (existsSync(candidate)) return relative(ctx.cwd, candidate) || name;
    if (dirname(dir) === dir) return name;
  }
}

/** Watches the folders of `files` and calls `onChange` with the changed file (one of `files`). */
function watchFiles(files: readonly string[], onChange: (file: string) => void): () => void {
  const byDir = new Map<string, Set<string>>();
  for (const f of files) {
    const names = byDir.get(dirname(f)) ?? new Set<string>();
    names.add(basename(f));
    byDir.set(dirname(f), names);
  }
  const watchers: FSWatcher[] = [];
  for (const [dir, names] of byDir) {
    try {
      const w = watch(dir, (_event, name) => {
        if (name === null) onChange(dir);
        else if (names.has(name.toString())) onChange(join(dir, name.toString()));
      });
      w.on("error", () => {}); // a folder removed while watched: nothing to report
      watchers.push(w);
    } catch {
      // a folder that does not exist (yet): nothing to watch there
    }
  }
  return () => {
    for (const w of watchers) w.close();
  };
}

interface RunOutcome {
  ok: boolean;
  /** The handler's own files of the last successful compile, or undefined when it did not compile. */
  files: string[] | undefined;
}

/** One compile and run of every sample, printed. */
async function runOnce(
  ctx: Ctx,
  entry: string,
  samplesFile: string,
  opts: DevOptions,
  sandbox: RunHandlerOptions & { format: EventFormat },
  maxRows: number,
): Promise<RunOutcome> {
  const { loadHandler, readSamples } = await import("@weir/sdk/testing");
  let samples: string[];
  try {
    samples = readSamples(samplesFile, { format: sandbox.format });
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw usageError(
      code === "ENOENT"
        ? `cannot read ${opts.samples}: no such file`
        : `${opts.samples}: ${(err as Error).message}`,
    );
  }
  const shownEntry = relative(ctx.cwd, entry) || entry;
  let handler: Awaited<ReturnType<typeof loadHandler>>;
  try {
    handler = await loadHandler(entry, { ...sandbox, raw: true });
  } catch (err) {
    if (!isWeirError(err)) throw err;
    const diagnostics = (err.details?.diagnostics ?? []) as CompileDiagnostic[];
    if (err.code === "VALIDATION" && diagnostics.length === 0) throw err;
    const lines = diagnostics.map((d) => {
      const file = localPath(ctx, entry, d.file);
      return `${d.line > 0 ? `${file}:${d.line}:${d.column || 1}` : file}: error: ${d.message}`;
    });
    ctx.emit(
      { ok: false, entry: shownEntry, error: { code: err.code, message: err.message, diagnostics } },
      () => {
        for (const l of lines) ctx.err(l);
        ctx.err(`error: ${err.code}: ${err.message}`);
        const stack = typeof err.details?.stack === "string" ? err.details.stack : "";
        for (const f of stack
          .split("\n")
          .filter((s) => /^\s+at /.test(s))
          .slice(0, 5))
          ctx.err(`    ${f.trim()}`);
      },
    );
    return { ok: false, files: undefined };
  }
  try {
    const { compiled } = handler;
    const what = compiled.manifest
      ? `${compiled.manifest.files.length} files, ${compiled.manifest.packages.length} packages`
      : "1 file";
    const head = `${shownEntry}: ${what}, ${bytes(compiled.uploadBytes)} bundled and compiled in ${millis(compiled.durationMs)}`;
    const started = performance.now();
    const results: EventResult[] = await handler.run(samples);
    const total = performance.now() - started;
    const failed = results.filter((r) => !r.ok).length;
    const rows = results.reduce((n, r) => n + r.rows.length, 0);
    ctx.emit(
      {
        ok: failed === 0,
        entry: shownEntry,
        compiled: { ...compiled, code: undefined, sourceMap: undefined },
        results,
      },
      () => {
        ctx.err(head);
        for (const r of results) {
          printResult(
            ctx,
            {
              index: r.index,
              ok: r.ok,
              rows: r.rows,
              row_count: r.rows.length,
              duration_ms: r.durationMs,
              error: r.error,
              logs: r.logs,
            },
            opts.rows ? maxRows : 0,
          );
        }
        const dropped = handler.droppedLogLines();
        ctx.out(
          `${results.length} events: ${results.length - failed} ok, ${failed} failed, ${rows} rows, ${millis(total)}${dropped > 0 ? `, ${dropped} log lines over the rate limit dropped` : ""}`,
        );
      },
    );
    return { ok: failed === 0, files: compiled.files };
  } finally {
    handler.dispose();
  }
}

async function dev(ctx: Ctx, entryArg: string, opts: DevOptions): Promise<void> {
  const entry = isAbsolute(entryArg) ? entryArg : resolve(ctx.cwd, entryArg);
  if (!existsSync(entry)) throw usageError(`${entryArg}: no such file`);
  const samplesFile = resolve(ctx.cwd, opts.samples);
  const maxRows = opts.maxRows === undefined ? 20 : parsePositiveInt(opts.maxRows, "--max-rows", 0);
  const debounceMs =
    opts.debounce === undefined ? DEFAULT_DEBOUNCE_MS : parsePositiveInt(opts.debounce, "--debounce", 0);
  const sandbox = settings(ctx, opts);

  let outcome = await runOnce(ctx, entry, samplesFile, opts, sandbox, maxRows);
  if (opts.once) {
    if (!outcome.ok) ctx.exitCode = EXIT.FAILED;
    return;
  }
  const signal = ctx.signal;
  if (signal?.aborted) return;
  // The files of the last good compile stay watched while the code does not compile, plus the entry.
  let watched: string[] = outcome.files ?? [entry];
  let unwatch = () => {};
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let changed = new Set<string>();

  const arm = () => {
    unwatch();
    const files = [...new Set([...watched, entry, samplesFile])];
    unwatch = watchFiles(files, (file) => {
      changed.add(file);
      clearTimeout(timer);
      timer = setTimeout(rerun, debounceMs);
    });
    if (!ctx.json) {
      ctx.err(
        `watching ${files.length} files (${files.map((f) => relative(ctx.cwd, f) || f).join(", ")}); Ctrl-C to stop`,
      );
    }
  };
  const rerun = () => {
    if (running) {
      again = true;
      return;
    }
    const why = [...changed].map((f) => relative(ctx.cwd, f) || f).join(", ");
    changed = new Set();
    running = (async () => {
      if (!ctx.json) ctx.err(`\n--- ${why || "a file"} changed: running again ---`);
      try {
        outcome = await runOnce(ctx, entry, samplesFile, opts, sandbox, maxRows);
        if (outcome.files) watched = outcome.files;
      } catch (err) {
        // A samples file that went away or broke: say so and keep watching.
        ctx.err(`error: ${(err as Error).message}`);
      }
      if (!signal?.aborted) arm();
    })().finally(() => {
      running = undefined;
      if (again && !signal?.aborted) {
        again = false;
        rerun();
      }
    });
  };

  arm();
  await new Promise<void>((done) => {
    if (!signal) return; // without a signal (in-process use), it watches until the process ends
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        unwatch();
        void (running ?? Promise.resolve()).finally(done);
      },
      { once: true },
    );
  });
}

export function registerDev(program: Command, makeCtx: CtxFactory): void {
  program
    .command("dev")
    .description(
      "run a handler on sample events on this machine, in the production sandbox; again on every save",
    )
    .argument("<entry>", "the handler's entry file, e.g. src/index.ts")
    .requiredOption("--samples <file>", ".ndjson/.jsonl (one event per line) or .json (an array of events)")
    .option("--pipeline <file>", "take env, limits and format from this pipeline spec (YAML or JSON)")
    .option(
      "--env <KEY=VALUE>",
      "the handler's env (repeatable; wins over --pipeline)",
      (v: string, all: string[]) => [...all, v],
      [] as string[],
    )
    .option("--format <format>", `how events reach the handler: ${FORMATS.join(", ")} (default json)`)
    .option("--once", "run once and exit: 0 when every event is ok, 1 otherwise")
    .option("--no-rows", "do not print rows, only counts, logs and errors")
    .option("--max-rows <n>", "rows printed per event (default 20)")
    .option(
      "--debounce <ms>",
      `wait after the last change before running again (default ${DEFAULT_DEBOUNCE_MS})`,
    )
    .addHelpText(
      "after",
      "\nBundles the entry as `weir handler upload` does, loads it into the sandbox the worker runs (the\n" +
        "pipeline's limits, env and format) and prints per event: ok/FAILED, rows, log lines, the error\n" +
        "with its stack in your files. Then watches the entry, the files it imports and the samples and\n" +
        "runs again on every change; compile errors print as file:line:column. Ctrl-C stops (exit 0).\n" +
        "Needs no API. Samples are message values as in Kafka (NDJSON lines are passed as they are).",
    )
    .action(action(makeCtx, dev));
}
