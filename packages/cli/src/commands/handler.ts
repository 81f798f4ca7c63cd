/** `weir handler ...`: upload, versions, show, rollback, types. */
import { writeFileSync } from "node:fs";
import { basename, resolve } from "node:path";
import type { Command } from "commander";
import type { Ctx } from "../context.ts";
import { usageError } from "../errors.ts";
import { parsePositiveInt, readText } from "../input.ts";
import { bytes, isoTime, millis, table } from "../output.ts";
import { action, type CtxFactory } from "./shared.ts";

async function upload(ctx: Ctx, ref: string, file: string, opts: { filename?: string }): Promise<void> {
  if (!file.endsWith(".ts") && !opts.filename) {
    throw usageError(`${file}: handlers are TypeScript files ending in .ts (or pass --filename name.ts)`);
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

async function show(ctx: Ctx, ref: string, version: string, opts: { code?: boolean }): Promise<void> {
  const n = parsePositiveInt(version, "<version>");
  const p = await ctx.pipeline(ref);
  const v = await ctx.client.getVersion(p.id, n);
  ctx.emit(v, () => {
    // Only the file on stdout, so `weir handler show p 3 > old.ts` gives the source back.
    ctx.err(
      `# version ${v.version} of ${p.name}: ${v.filename}, sha256 ${v.sha256}${v.current ? ", current" : ""}`,
    );
    ctx.out((opts.code ? v.code : v.source).replace(/\n$/, ""));
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
    .argument("<file>", "handler source, e.g. functions/otel-traces/index.ts")
    .option("--filename <name.ts>", "file name stored and shown in diagnostics (default: the file's name)")
    .addHelpText(
      "after",
      "\nPrints the version and sha256. Uploading the current source again changes nothing.\n" +
        "A compile error prints file:line:column: error: message (1-based, like a compiler) and exits 1.",
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
