/**
 * What `pnpm pack` of a publishable workspace package (@weir/sdk, @weir/cli) builds, shared by their
 * scripts/build.ts: JavaScript bundled by esbuild with the private workspace packages (@weir/core,
 * @weir/sandbox, ...) inlined and every npm dependency left as an import; `.d.ts` files emitted by tsc
 * with the workspace packages' declarations copied in and their imports rewritten; and a check that
 * what would be published imports only Node builtins, its own files and its declared dependencies.
 */
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { isBuiltin } from "node:module";
import { dirname, join, relative, resolve, sep } from "node:path";
import * as esbuild from "esbuild";
import ts from "typescript";

/** The repository's packages/ folder. */
export const PACKAGES_DIR = resolve(import.meta.dirname, "../..");

/** A module replaced by generated source when bundled (see {@link bundlePackage}). */
export interface Replacement {
  /** Absolute path of the file replaced, or a bare specifier replaced wherever it is imported. */
  target: string;
  contents: string;
  /** Set when the build ran into it; a replacement never used fails the build. */
  used?: boolean;
}

export interface BundleOptions {
  pkgDir: string;
  /** Output name (without .js) -> source file, relative to pkgDir. */
  entries: Record<string, string>;
  /** Bare specifiers bundled in (the private workspace packages); any other bare import stays one. */
  inline: (specifier: string) => boolean;
  /** Bare specifiers rewritten to another external one (e.g. `@weir/core` -> `@weir/sdk/core`). */
  alias?: Record<string, string>;
  replacements?: Replacement[];
  /** package.json imported as JSON is cut down to these fields. */
  packageJsonFields?: string[];
}

/** The npm package a bare specifier belongs to (`@scope/name` or `name`). */
export function packageName(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
}

/** Bundle the entries into pkgDir/dist (ES modules, shared code in dist/chunks). */
export async function bundlePackage(opts: BundleOptions): Promise<esbuild.Metafile> {
  const replacements = opts.replacements ?? [];
  const plugin: esbuild.Plugin = {
    name: "weir-publish",
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, (args) => {
        if (args.kind === "entry-point") return undefined;
        const virtual = replacements.find((r) => r.target === args.path);
        if (virtual) return { path: args.path, namespace: "weir-replaced" };
        if (isBuiltin(args.path)) return { path: args.path, external: true };
        const aliased = opts.alias?.[args.path];
        if (aliased) return { path: aliased, external: true };
        if (opts.inline(args.path)) return undefined;
        return { path: args.path, external: true };
      });
      build.onLoad({ filter: /.*/, namespace: "weir-replaced" }, (args) => {
        const r = replacements.find((x) => x.target === args.path)!;
        r.used = true;
        return { contents: r.contents, loader: "js" };
      });
      build.onLoad({ filter: /\.ts$/ }, (args) => {
        const r = replacements.find((x) => x.target === args.path);
        if (!r) return undefined;
        r.used = true;
        return { contents: r.contents, loader: "js" };
      });
      build.onLoad({ filter: /package\.json$/ }, (args) => {
        if (!opts.packageJsonFields) return undefined;
        const pkg = JSON.parse(readFileSync(args.path, "utf8")) as Record<string, unknown>;
        const kept = Object.fromEntries(opts.packageJsonFields.map((k) => [k, pkg[k]]));
        return { contents: JSON.stringify(kept), loader: "json" };
      });
    },
  };
  const outdir = join(opts.pkgDir, "dist");
  rmSync(outdir, { recursive: true, force: true });
  const result = await esbuild.build({
    entryPoints: Object.fromEntries(Object.entries(opts.entries).map(([k, v]) => [k, join(opts.pkgDir, v)])),
    outdir,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node22",
    chunkNames: "chunks/[name]-[hash]",
    metafile: true,
    logLevel: "silent",
    legalComments: "none",
    plugins: [plugin],
  });
  const unused = replacements.filter((r) => !r.used).map((r) => r.target);
  if (unused.length > 0)
    throw new Error(`replacements never used (did the source move?): ${unused.join(", ")}`);
  return result.metafile;
}

function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

/** The module specifiers of a declaration file with their places (comments and strings are not imports). */
function declarationImports(text: string): { spec: string; pos: number; end: number }[] {
  const info = ts.preProcessFile(text, true, true);
  return info.importedFiles.map((f) => {
    // `pos` is at the opening quote (or just before the name): find the name itself from there.
    const pos = text.indexOf(f.fileName, f.pos);
    if (pos < 0 || pos > f.pos + 1) throw new Error(`declarations: cannot place the import of ${f.fileName}`);
    return { spec: f.fileName, pos, end: pos + f.fileName.length };
  });
}

/** `text` with each import specifier replaced by what `rename` returns for it. */
function rewriteImports(text: string, rename: (spec: string) => string): string {
  let out = "";
  let at = 0;
  for (const { spec, pos, end } of declarationImports(text).sort((a, b) => a.pos - b.pos)) {
    out += text.slice(at, pos) + rename(spec);
    at = end;
  }
  return out + text.slice(at);
}

export interface DeclarationOptions {
  pkgDir: string;
  /** Source files whose declarations are the package's types, relative to pkgDir. */
  entries: string[];
  /**
   * Workspace packages whose declarations are copied in: specifier -> its source index, relative to
   * packages/ (resolved by tsc through `paths`, so their files are emitted too).
   */
  vendor?: Record<string, string>;
  /** Bare specifiers rewritten in the emitted files (e.g. `@weir/core` -> `@weir/sdk/core`). */
  alias?: Record<string, string>;
}

/**
 * Emit `.d.ts` files into pkgDir/dist/types/<path under packages/> (tsc with the repository's
 * compiler options), rewrite `.ts` specifiers to `.js`, vendored workspace packages to relative paths
 * and aliased ones to their new name, and keep only the files the entries reach. Returns the entries'
 * declaration paths, relative to pkgDir.
 */
export function emitDeclarations(opts: DeclarationOptions): string[] {
  const configPath = join(PACKAGES_DIR, "..", "tsconfig.base.json");
  const config = ts.parseJsonConfigFileContent(
    ts.readConfigFile(configPath, ts.sys.readFile).config,
    ts.sys,
    opts.pkgDir,
  );
  const outDir = join(opts.pkgDir, "dist", "types");
  rmSync(outDir, { recursive: true, force: true });
  const options: ts.CompilerOptions = {
    ...config.options,
    noEmit: false,
    declaration: true,
    emitDeclarationOnly: true,
    rootDir: PACKAGES_DIR,
    outDir,
    baseUrl: PACKAGES_DIR,
    paths: Object.fromEntries(Object.entries(opts.vendor ?? {}).map(([k, v]) => [k, [v]])),
  };
  const program = ts.createProgram(
    opts.entries.map((e) => join(opts.pkgDir, e)),
    options,
  );
  const emitted = program.emit();
  const diagnostics = [...ts.getPreEmitDiagnostics(program), ...emitted.diagnostics].filter(
    (d) => d.category === ts.DiagnosticCategory.Error,
  );
  if (diagnostics.length > 0) {
    throw new Error(
      ts.formatDiagnostics(diagnostics, {
        getCanonicalFileName: (f) => f,
        getCurrentDirectory: () => opts.pkgDir,
        getNewLine: () => "\n",
      }),
    );
  }
  const outOf = (src: string) => join(outDir, relative(PACKAGES_DIR, src)).replace(/\.ts$/, ".d.ts");
  const vendorOut = Object.fromEntries(
    Object.entries(opts.vendor ?? {}).map(([k, v]) => [k, outOf(join(PACKAGES_DIR, v))]),
  );
  const files = walk(outDir).filter((f) => f.endsWith(".d.ts"));
  const edges = new Map<string, string[]>();
  for (const file of files) {
    const deps: string[] = [];
    const text = rewriteImports(readFileSync(file, "utf8"), (spec) => {
      let next = spec;
      if (spec.startsWith(".")) next = spec.replace(/\.ts$/, ".js");
      else if (vendorOut[spec]) {
        next = relative(dirname(file), vendorOut[spec])
          .split(sep)
          .join("/")
          .replace(/\.d\.ts$/, ".js");
        if (!next.startsWith(".")) next = `./${next}`;
      } else if (opts.alias?.[spec]) next = opts.alias[spec];
      if (next.startsWith(".")) deps.push(resolve(dirname(file), next.replace(/\.js$/, ".d.ts")));
      return next;
    });
    writeFileSync(file, text);
    edges.set(file, deps);
  }
  const roots = opts.entries.map((e) => outOf(join(opts.pkgDir, e)));
  const reached = new Set<string>();
  const queue = [...roots];
  while (queue.length > 0) {
    const f = queue.pop()!;
    if (reached.has(f)) continue;
    if (!existsSync(f))
      throw new Error(`declarations: ${relative(opts.pkgDir, f)} is imported but was not emitted`);
    reached.add(f);
    queue.push(...(edges.get(f) ?? []));
  }
  for (const f of files) if (!reached.has(f)) rmSync(f);
  for (const f of walk(outDir)) if (!f.endsWith(".d.ts")) rmSync(f);
  removeEmptyDirs(outDir);
  return roots.map((r) => relative(opts.pkgDir, r));
}

function removeEmptyDirs(dir: string): void {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) removeEmptyDirs(p);
  }
  if (readdirSync(dir).length === 0) rmSync(dir, { recursive: true });
}

/**
 * What the published files import, checked: every bare import of dist/ (JavaScript, read back by
 * esbuild; declarations, read by TypeScript) is a Node builtin or a package among `dependencies` (not
 * a private workspace package); every relative one is in the package; no code refers to a `.ts` file
 * next to it at run time. Returns the packages imported.
 */
export async function checkPublished(pkgDir: string): Promise<string[]> {
  const pkg = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")) as {
    dependencies?: Record<string, string>;
  };
  const deps = pkg.dependencies ?? {};
  const problems: string[] = [];
  const imported = new Map<string, string>();
  const files = walk(join(pkgDir, "dist"));
  const js = files.filter((f) => f.endsWith(".js"));
  try {
    await esbuild.build({
      entryPoints: js,
      bundle: true,
      write: false,
      splitting: true,
      format: "esm",
      platform: "node",
      outdir: join(pkgDir, "dist-check"),
      logLevel: "silent",
      plugins: [
        {
          name: "weir-record-imports",
          setup(build) {
            build.onResolve({ filter: /^[^./]/ }, (args) => {
              if (args.kind === "entry-point") return undefined;
              if (!imported.has(args.path)) imported.set(args.path, relative(pkgDir, args.importer));
              return { path: args.path, external: true };
            });
          },
        },
      ],
    });
  } catch (err) {
    const messages = (err as { errors?: esbuild.Message[] }).errors ?? [];
    for (const m of messages) problems.push(`${m.location?.file ?? "?"}: ${m.text}`);
    if (messages.length === 0) throw err;
  }
  for (const file of files.filter((f) => f.endsWith(".d.ts"))) {
    for (const { spec } of declarationImports(readFileSync(file, "utf8"))) {
      if (spec.startsWith(".")) {
        if (!existsSync(resolve(dirname(file), spec.replace(/\.js$/, ".d.ts")))) {
          problems.push(`${relative(pkgDir, file)}: imports ${spec}, which is not in the package`);
        }
      } else if (!imported.has(spec)) imported.set(spec, relative(pkgDir, file));
    }
  }
  const used = new Set<string>();
  for (const [spec, where] of imported) {
    if (isBuiltin(spec)) continue;
    const name = packageName(spec);
    used.add(name);
    if (!(name in deps)) problems.push(`${where}: imports ${spec}, but ${name} is not in dependencies`);
    else if (String(deps[name]).startsWith("workspace:") && !/^@weir\/(sdk|cli)$/.test(name)) {
      problems.push(`${where}: imports the private workspace package ${name}`);
    }
  }
  for (const file of js) {
    if (/new URL\(\s*["']\.{1,2}\/[^"']*\.ts["']/.test(readFileSync(file, "utf8"))) {
      problems.push(
        `${relative(pkgDir, file)}: refers to a .ts file next to it (new URL("./x.ts", import.meta.url))`,
      );
    }
  }
  if (problems.length > 0)
    throw new Error(`the published files are not self-contained:\n  ${problems.join("\n  ")}`);
  return [...used].sort();
}

/** Sizes of dist/: files and bytes, for the build's closing line. */
export function distSize(pkgDir: string): { files: number; bytes: number } {
  const files = walk(join(pkgDir, "dist"));
  return { files: files.length, bytes: files.reduce((n, f) => n + statSync(f).size, 0) };
}
