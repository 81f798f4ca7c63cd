/**
 * `weir handler ...`: upload, versions, show, rollback, types. An upload whose file imports nothing
 * at run time is sent as is (the API stores that TypeScript); one that imports local modules or npm
 * packages is bundled here first (@weir/sdk/bundle) and sent as a bundle with its manifest.
 */
import { existsSync, writeFileSync } from "node:fs";
import { basename, resolve } from "node:path";
import { type HandlerVersionDetail, isWeirError, WeirError } from "@weir/core";
import type { Command } from "commander";
import type { Ctx } from "../context.ts";
import { usageError } from "../errors.ts";
import { parsePositiveInt, readText } from "../input.ts";
import { bytes, isoTime, millis, table } from "../output.ts";
import { action, type CtxFactory } from "./shared.ts";

interface UploadOpts {
  filename?: string;
  raw?: boolean;
  bundle?: boolean;
}

async function upload(ctx: Ctx, ref: string, file: string, opts: UploadOpts): Promise<void> {
  if (opts.raw && opts.bundle) throw usageError("--raw and --bundle exclude each other");
  if (opts.bundle && opts.filename) {
    throw usageError("--filename names a raw upload; a bundle is named by its entry file");
  }
  if (!/\.[cm]?[jt]s$/.test(file) && !opts.filename) {
    throw usageError(`${file}: handlers are TypeScript files ending in .ts (or pass --filename name.ts)`);
  }
  if (!opts.raw && !opts.filename) {
    if (!existsSync(resolve(ctx.cwd, file))) throw usageError(`${file}: no such file`);
    const { importsOf } = await import("@weir/sdk/bundle");
    const imports = opts.bundle ? undefined : await importsOf(resolve(ctx.cwd, file));
    // Unparsable: sent raw, so the API reports the error like a compiler, as for any raw upload.
    if (opts.bundle || (imports && imports.length > 0)) return uploadBundle(ctx, ref, file);
  }
  if (!file.endsWith(".ts") && !opts.filename) {
    throw usageError(`${file}: a raw upload is a TypeScript file ending in .ts (or pass --filename name.ts)`);
  }
  const source = readText(ctx.cwd, file);
  const filename = opts.filename ?? basename(file);
  ctx.diagnosticsFile = file;
  const p = await ctx.pipeline(ref);
  const progress = ctx.progress();
  const started = performance.now();
  progress.update(`uploading ${filename} (${bytes(Buffer.byteLength(source))}) to ${p.name}, compiling...`);
  const v = await ctx.client.uploadHandler(p.id, source, { filename });
  const unchanged = p.current_version?.id === v.id;
  progress.done(
    `${unchanged ? "unchanged" : "compiled and stored"} in ${millis(performance.now() - started)}`,
  );
  ctx.emit({ ...v, unchanged }, () =>
    ctx.out(
      `${unchanged ? "unchanged, still" : "uploaded"} version ${v.version} sha256 ${v.sha256} (${v.filename}, ${bytes(v.size)}) for ${p.name}`,
    ),
  );
}

/**
 * The bundler's diagnostics carry esbuild's 0-based columns; the API's, which errors.ts prints, are
 * 1-based, as compilers print them.
 */
function oneBasedColumns(err: unknown): unknown {
  const diagnostics = (err as { details?: { diagnostics?: unknown } }).details?.diagnostics;
  if (!isWeirError(err) || !Array.isArray(diagnostics)) return err;
  const shifted = (diagnostics as { line?: number; column?: number }[]).map((d) =>
    typeof d.line === "number" && d.line > 0 && typeof d.column === "number"
      ? { ...d, column: d.column + 1 }
      : d,
  );
  return new WeirError(err.code, err.message, { details: { ...err.details, diagnostics: shifted } });
}

/** Bundle `file` with its imports on this machine, then upload the bundle and its manifest. */
async function uploadBundle(ctx: Ctx, ref: string, file: string): Promise<void> {
  const { bundleHandler } = await import("@weir/sdk/bundle");
  const p = await ctx.pipeline(ref);
  const progress = ctx.progress();
  progress.update(`bundling ${file}...`);
  let b: Awaited<ReturnType<typeof bundleHandler>>;
  try {
    b = await bundleHandler(file, { cwd: ctx.cwd });
  } catch (err) {
    throw oneBasedColumns(err);
  }
  const { files, packages } = b.manifest;
  const what = `${files.length} files, ${packages.length} packages`;
  const bundled = `bundled ${b.manifest.entry} (${what}) into ${bytes(Buffer.byteLength(b.bundle))} in ${millis(b.durationMs)}`;
  progress.update(`${bundled}; uploading to ${p.name}, compiling...`);
  const started = performance.now();
  const v = await ctx.client.uploadBundle(p.id, b);
  const unchanged = p.current_version?.id === v.id;
  progress.done(
    `${bundled}; ${unchanged ? "unchanged" : "compiled and stored"} in ${millis(performance.now() - started)}`,
  );
  const stats = {
    bytes: Buffer.byteLength(b.bundle),
    source_map_bytes: Buffer.byteLength(b.sourceMap),
    duration_ms: Math.round(b.durationMs * 10) / 10,
  };
  ctx.emit({ ...v, unchanged, bundle: stats }, () =>
    ctx.out(
      `${unchanged ? "unchanged, still" : "uploaded"} version ${v.version} sha256 ${v.sha256} (${v.filename}, bundle ${bytes(v.size)}: ${what}) for ${p.name}`,
    ),
  );
}

async function versions(ctx: Ctx, ref: string): Promise<void> {
  const p = await ctx.pipeline(ref);
  const { items } = await ctx.client.listVersions(p.id);
  ctx.emit(items, () => {
    if (items.length === 0) return ctx.out(`no handler uploaded for ${p.name}`);
    ctx.out(
      table(
        ["VERSION", "CURRENT", "SHA256", "SIZE", "FILENAME", "CREATED"],
        items.map((v) => [
          String(v.version),
          v.current ? "*" : "",
          v.sha256.slice(0, 16),
          bytes(v.size),
          v.filename,
          isoTime(v.created_at),
        ]),
      ),
    );
  });
}

/** One original file of a bundled version, from the contents its source map carries. */
function originalFile(v: HandlerVersionDetail, path: string): string {
  const map = v.source_map
    ? (JSON.parse(v.source_map) as { sources?: string[]; sourcesContent?: string[] })
    : {};
  const i = map.sources?.indexOf(path) ?? -1;
  const text = i >= 0 ? map.sourcesContent?.[i] : undefined;
  if (text === undefined || text === null) {
    const known = v.manifest?.files.map((f) => f.path).filter((f) => map.sources?.includes(f)) ?? [];
    throw usageError(
      `version ${v.version} has no file ${path}${known.length ? `; its files: ${known.join(", ")}` : " (not a bundled version)"}`,
    );
  }
  return text;
}

async function show(
  ctx: Ctx,
  ref: string,
  version: string,
  opts: { code?: boolean; file?: string },
): Promise<void> {
  const n = parsePositiveInt(version, "<version>");
  const p = await ctx.pipeline(ref);
  const v = await ctx.client.getVersion(p.id, n);
  const text = opts.file ? originalFile(v, opts.file) : opts.code ? v.code : v.source;
  ctx.emit(v, () => {
    // Only the file on stdout, so `weir handler show p 3 > old.ts` gives the source back.
    const bundled = v.manifest
      ? `, bundle of ${v.manifest.files.length} files and ${v.manifest.packages.length} packages (--file <path> prints one)`
      : "";
    ctx.err(
      `# version ${v.version} of ${p.name}: ${v.filename}, sha256 ${v.sha256}${v.current ? ", current" : ""}${bundled}`,
    );
    ctx.out(text.replace(/\n$/, ""));
  });
}

async function rollback(ctx: Ctx, ref: string, version: string): Promise<void> {
  const n = parsePositiveInt(version, "<version>");
  const p = await ctx.client.rollback((await ctx.pipeline(ref)).id, n);
  ctx.emit(p, () =>
    ctx.out(
      `${p.name} now runs version ${p.current_version?.version ?? n} sha256 ${p.current_version?.sha256 ?? "?"} (revision ${p.revision})`,
    ),
  );
}

async function types(ctx: Ctx, opts: { out?: string }): Promise<void> {
  const dts = await ctx.client.handlerTypes();
  if (!opts.out) {
    if (ctx.json) ctx.printJson({ dts });
    else ctx.out(dts.replace(/\n$/, ""));
    return;
  }
  const path = resolve(ctx.cwd, opts.out);
  try {
    writeFileSync(path, dts);
  } catch (err) {
    throw usageError(`cannot write ${opts.out}: ${(err as Error).message}`);
  }
  ctx.emit({ path, bytes: Buffer.byteLength(dts) }, () =>
    ctx.out(`wrote ${opts.out} (${bytes(Buffer.byteLength(dts))})`),
  );
}

export function registerHandler(program: Command, makeCtx: CtxFactory): void {
  const cmd = program.command("handler").description("upload handler code, list versions, roll back");

  cmd
    .command("upload")
    .alias("deploy")
    .description("compile and store a TypeScript handler as a new version and make it current")
    .argument("<pipeline>", "id or name")
    .argument("<file>", "handler source (the entry), e.g. functions/otel-traces/index.ts")
    .option(
      "--filename <name.ts>",
      "raw upload: file name stored and shown in diagnostics (default: the file's name)",
    )
    .option("--bundle", "bundle even a file without imports (the version gets a manifest)")
    .option("--raw", "send the file as is, without bundling (it may import nothing)")
    .addHelpText(
      "after",
      "\nA file that imports local modules or npm packages is bundled here first (esbuild: one ES module,\n" +
        "a source map with the original files, a manifest of files and package versions) and uploaded as a\n" +
        "bundle; Node builtins and native packages are refused with their import chain. A file without\n" +
        "imports is uploaded as is. Prints the version and sha256; uploading the same code again changes\n" +
        "nothing. A compile error prints file:line:column: error: message (like a compiler) and exits 1.",
    )
    .action(action(makeCtx, upload));

  cmd
    .command("versions")
    .description("list the handler versions of a pipeline (* marks the current one)")
    .argument("<pipeline>", "id or name")
    .action(action(makeCtx, versions));

  cmd
    .command("show")
    .description("print the source of one version on stdout (metadata on stderr)")
    .argument("<pipeline>", "id or name")
    .argument("<version>", "version number")
    .option("--code", "print the compiled JavaScript instead of the source")
    .option("--file <path>", "bundled version: print this original file (a path of its manifest)")
    .action(action(makeCtx, show));

  cmd
    .command("rollback")
    .description("make an earlier version current again (workers swap without losing messages)")
    .argument("<pipeline>", "id or name")
    .argument("<version>", "version number")
    .action(action(makeCtx, rollback));

  cmd
    .command("types")
    .description("print the handler .d.ts served by the API (Log, Handler, OTLP JSON types, globals)")
    .option("-o, --out <file>", "write it to a file, e.g. next to the handler: functions/x/weir.d.ts")
    .action(action(makeCtx, types));
}
