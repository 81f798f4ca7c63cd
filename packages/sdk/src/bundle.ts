/**
 * Bundling a handler on the user's machine, as `weir handler upload` does before it uploads: the
 * entry, its relative imports and its npm dependencies, with esbuild, into one ES module plus a source
 * map whose sources are the original files (contents embedded, so the API can map stack traces to
 * them), and a manifest of what went in (every file with its sha256, the npm packages with the
 * versions in their package.json). Imported as `@weir/sdk/bundle`, so that the client alone does not
 * load esbuild.
 *
 * The sandbox has no Node, file system, network or native code, so these are refused here, each
 * with the import chain that leads to it (`index.ts -> lib/a.ts -> some-pkg/index.js -> fs`): Node
 * builtins (`node:*`, `fs`, `http`, ...), `.node` addons and packages with native bindings (a
 * binding.gyp, `gypfile`, node-gyp-build/bindings/prebuild-install/napi-rs), and whatever esbuild
 * cannot load. Packages resolve as for a browser or web worker (`worker` and `browser` export
 * conditions, the `browser` field), whose builds need no Node; `process.env.NODE_ENV` is
 * "production" and `global` is `globalThis`.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { isBuiltin } from "node:module";
import { dirname, join, relative, resolve, sep } from "node:path";
import { type HandlerManifest, WeirError } from "@weir/core";
import * as esbuild from "esbuild";

export interface BundleOptions {
  /** Folder a relative `entry` is resolved against (default: the process's working directory). */
  cwd?: string;
}

/** What {@link bundleHandler} made: the three parts of a bundled upload. */
export interface HandlerBundle {
  /** One ES module with no import left, exporting `handler`. */
  bundle: string;
  /** Source map v3 of `bundle`; sources named as in the manifest, contents embedded. */
  sourceMap: string;
  manifest: HandlerManifest;
  /** Wall time of the bundling, in ms. */
  durationMs: number;
}

/** One reason a bundle could not be made. `line` is 1-based, `column` 0-based (as esbuild reports). */
export interface BundleProblem {
  /** The file the problem is in, named as in the manifest ("" when not tied to a file). */
  file: string;
  line: number;
  column: number;
  message: string;
  /** Entry first, then each importer down to what was refused (empty when not tied to an import). */
  chain: string[];
}

/** Helper packages that load compiled addons: depending on one means native code. */
const NATIVE_LOADERS = [
  "bindings",
  "node-gyp-build",
  "node-gyp-build-optional-packages",
  "prebuild-install",
  "node-pre-gyp",
  "@mapbox/node-pre-gyp",
  "@napi-rs/cli",
  "nan",
  "node-addon-api",
  "cmake-js",
];

const CHECK_PLUGIN = "weir-bundle-check";

interface PackageInfo {
  dir: string;
  name: string;
  version: string;
  /** What it does with native code ("builds a native addon (binding.gyp)"), or undefined. */
  native: string | undefined;
}

/** The package folder holding `file` (the last `node_modules/<name>` or `node_modules/@scope/<name>`). */
function packageDirOf(file: string): string | undefined {
  const parts = file.split(sep);
  const at = parts.lastIndexOf("node_modules");
  if (at < 0 || at + 1 >= parts.length - 1) return undefined;
  const scoped = parts[at + 1]?.startsWith("@");
  return parts.slice(0, at + (scoped ? 3 : 2)).join(sep);
}

function readPackage(dir: string, cache: Map<string, PackageInfo | undefined>): PackageInfo | undefined {
  if (cache.has(dir)) return cache.get(dir);
  let info: PackageInfo | undefined;
  try {
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as Record<string, unknown>;
    const deps = {
      ...(pkg.dependencies as Record<string, string> | undefined),
      ...(pkg.optionalDependencies as Record<string, string> | undefined),
    };
    const loader = NATIVE_LOADERS.find((n) => n in deps);
    const native =
      pkg.gypfile === true || existsSync(join(dir, "binding.gyp"))
        ? "builds a native addon (binding.gyp)"
        : pkg.napi !== undefined
          ? "loads a native addon built with napi-rs"
          : (pkg.binary as { module_name?: unknown } | undefined)?.module_name !== undefined
            ? "downloads a native addon (node-pre-gyp)"
            : loader
              ? `loads a native addon (it depends on ${loader})`
              : undefined;
    info = {
      dir,
      name: typeof pkg.name === "string" ? pkg.name : dir.split(sep).slice(-1)[0]!,
      version: typeof pkg.version === "string" ? pkg.version : "",
      native,
    };
  } catch {
    info = undefined;
  }
  cache.set(dir, info);
  return info;
}

const sha256 = (bytes: Uint8Array | string) => createHash("sha256").update(bytes).digest("hex");

/** The deepest folder holding every path. */
function commonDir(paths: string[]): string {
  let common = dirname(paths[0]!).split(sep);
  for (const p of paths.slice(1)) {
    const parts = dirname(p).split(sep);
    let i = 0;
    while (i < common.length && i < parts.length && common[i] === parts[i]) i++;
    common = common.slice(0, i);
  }
  return common.join(sep) || sep;
}

/**
 * Bundle the handler at `entry` (TypeScript or JavaScript). Resolves with the bundle, its source map
 * and manifest; rejects with a WeirError `COMPILE_ERROR` whose `details.diagnostics` lists every
 * {@link BundleProblem} (refused imports name their import chain in the message).
 */
export async function bundleHandler(entry: string, opts: BundleOptions = {}): Promise<HandlerBundle> {
  const started = performance.now();
  const entryPath = resolve(opts.cwd ?? process.cwd(), entry);
  if (!existsSync(entryPath)) {
    throw new WeirError("VALIDATION", `${entry}: no such file`, {
      details: { issues: [{ path: "entry", message: "no such file" }] },
    });
  }
  const entryDir = dirname(entryPath);
  /** Resolved file -> the file that first imported it: the import chains. */
  const parents = new Map<string, string>();
  const packages = new Map<string, PackageInfo | undefined>();
  const pkgOf = (file: string) => {
    const dir = packageDirOf(file);
    return dir ? readPackage(dir, packages) : undefined;
  };

  const check: esbuild.Plugin = {
    name: CHECK_PLUGIN,
    setup(build) {
      build.onResolve({ filter: /.*/ }, async (args) => {
        if (args.kind === "entry-point" || args.pluginData === CHECK_PLUGIN) return undefined;
        const builtin = isBuiltin(args.path);
        const resolved = await build.resolve(args.path, {
          kind: args.kind,
          importer: args.importer,
          resolveDir: args.resolveDir,
          pluginData: CHECK_PLUGIN,
        });
        // A bare builtin name that resolves anyway is an npm package of that name (`events`,
        // `buffer`, ...) or is switched off by a `browser` field: pure JavaScript, allowed.
        if (builtin && (args.path.startsWith("node:") || resolved.errors.length > 0)) {
          return { errors: [{ text: refusal(args.path, "builtin") }] };
        }
        if (resolved.errors.length > 0) return undefined; // esbuild reports it, with the chain added below
        const file = resolved.path;
        if (file && !parents.has(file) && file !== entryPath) parents.set(file, args.importer);
        if (file.endsWith(".node")) {
          return { errors: [{ text: refusal(args.path, "addon") }] };
        }
        const pkg = file ? pkgOf(file) : undefined;
        if (pkg?.native) {
          return { errors: [{ text: refusal(args.path, "native", pkg) }] };
        }
        return undefined;
      });
    },
  };

  const options = (root: string): esbuild.BuildOptions => ({
    entryPoints: [entryPath],
    absWorkingDir: root,
    outfile: join(root, "bundle.js"),
    bundle: true,
    write: false,
    format: "esm",
    platform: "browser",
    conditions: ["worker"],
    target: "es2022",
    define: { "process.env.NODE_ENV": '"production"', global: "globalThis" },
    sourcemap: "external",
    sourcesContent: true,
    metafile: true,
    logLevel: "silent",
  });

  let result: esbuild.BuildResult & { metafile: esbuild.Metafile; outputFiles: esbuild.OutputFile[] };
  try {
    result = (await esbuild.build({ ...options(entryDir), plugins: [check] })) as typeof result;
  } catch (err) {
    const messages = (err as { errors?: esbuild.Message[] }).errors;
    if (!Array.isArray(messages)) throw err;
    const local = [entryPath, ...parents.keys(), ...parents.values()].filter((f) => !packageDirOf(f));
    const namer = names(commonDir(local), pkgOf);
    throw bundleError(entry, messages, entryDir, entryPath, parents, namer);
  }

  // Name files relative to the deepest folder holding all the handler's own files, so that
  // `import "../shared/x.ts"` is `shared/x.ts`, not `../shared/x.ts`; build again there if it differs
  // (the paths in the bundle's comments and map are relative to the working folder).
  const inputs = Object.keys(result.metafile.inputs)
    .filter((k) => !k.includes(":"))
    .map((k) => resolve(entryDir, k));
  const root = commonDir(inputs.filter((f) => !packageDirOf(f)));
  if (root !== entryDir) {
    result = (await esbuild.build(options(root))) as typeof result;
  }
  const name = names(root, pkgOf);
  const js = result.outputFiles.find((f) => f.path.endsWith(".js"));
  const map = result.outputFiles.find((f) => f.path.endsWith(".map"));
  if (!js || !map) throw new WeirError("INTERNAL", "esbuild produced no output");
  const sourceMap = JSON.parse(map.text) as { sources: string[] };
  sourceMap.sources = sourceMap.sources.map((s) => name(resolve(root, s)));
  // esbuild heads each module with a `// path` comment relative to the working folder (through the
  // package manager's layout for packages); name them as the manifest does, line for line, so the
  // bundle is the same on every machine and the map stays valid.
  const renamed = new Map(
    Object.keys(result.metafile.inputs).map((k) => [`// ${k}`, `// ${name(resolve(root, k))}`]),
  );
  const bundle = js.text
    .split("\n")
    .map((line) => (line.startsWith("// ") ? (renamed.get(line) ?? line) : line))
    .join("\n");

  const files = inputs
    .map((file) => {
      const bytes = readFileSync(file);
      return { path: name(file), sha256: sha256(bytes), bytes: bytes.length };
    })
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const pkgs = new Map<string, { name: string; version: string }>();
  for (const file of inputs) {
    const pkg = pkgOf(file);
    if (pkg) pkgs.set(`${pkg.name}@${pkg.version}`, { name: pkg.name, version: pkg.version });
  }
  return {
    bundle,
    sourceMap: JSON.stringify(sourceMap),
    manifest: {
      entry: name(entryPath),
      files,
      packages: [...pkgs.values()].sort((a, b) =>
        a.name < b.name ? -1 : a.name > b.name ? 1 : a.version < b.version ? -1 : 1,
      ),
      bundler: { name: "esbuild", version: esbuild.version },
    },
    durationMs: performance.now() - started,
  };
}

/**
 * The run-time imports of one TypeScript or JavaScript file, unresolved (type-only imports are erased,
 * as the API's compiler erases them), or undefined when the file does not parse. `weir handler
 * upload` sends a file without imports as is and bundles the others.
 */
export async function importsOf(file: string): Promise<string[] | undefined> {
  const found: string[] = [];
  try {
    await esbuild.build({
      stdin: {
        contents: readFileSync(file, "utf8"),
        loader: /\.[cm]?js$/.test(file) ? "js" : "ts",
        resolveDir: dirname(file),
      },
      bundle: true,
      write: false,
      format: "esm",
      platform: "neutral",
      logLevel: "silent",
      plugins: [
        {
          name: "weir-imports",
          setup(build) {
            build.onResolve({ filter: /.*/ }, (args) => {
              found.push(args.path);
              return { path: args.path, external: true };
            });
          },
        },
      ],
    });
  } catch {
    return undefined;
  }
  return found;
}

/**
 * How files are named in the manifest, the source map and messages: the handler's own files relative
 * to `root`; a package's files as `node_modules/<name>/<path in the package>` (whatever the package
 * manager's layout on disk).
 */
function names(root: string, pkgOf: (file: string) => PackageInfo | undefined): (file: string) => string {
  return (file) => {
    const pkg = pkgOf(file);
    const path = pkg ? `node_modules/${pkg.name}/${relative(pkg.dir, file)}` : relative(root, file);
    return path.split(sep).join("/");
  };
}

function refusal(specifier: string, why: "builtin" | "addon" | "native", pkg?: PackageInfo): string {
  if (why === "builtin") {
    const bare = specifier.replace(/^node:/, "");
    const hint =
      bare === "crypto"
        ? "Use the sandbox's `hash.md5/sha1/sha256(text)` instead."
        : bare === "buffer"
          ? "Use `TextEncoder`/`TextDecoder` and `btoa`/`atob` instead of Buffer."
          : "The sandbox has no Node modules, file system, network or timers: remove the import, or use a package that works in a browser or web worker.";
    return `cannot import "${specifier}", a Node builtin. ${hint}`;
  }
  if (why === "addon") {
    return `cannot import "${specifier}", a native addon (.node file): the sandbox runs JavaScript only.`;
  }
  return `cannot import "${specifier}": package ${pkg?.name}@${pkg?.version} ${pkg?.native}, and the sandbox runs JavaScript only. Use a pure-JavaScript package instead.`;
}

function bundleError(
  entry: string,
  messages: esbuild.Message[],
  workDir: string,
  entryPath: string,
  parents: Map<string, string>,
  name: (file: string) => string,
): WeirError {
  const chainTo = (file: string): string[] => {
    const chain: string[] = [];
    const seen = new Set<string>();
    for (let f: string | undefined = file; f && !seen.has(f); f = parents.get(f)) {
      seen.add(f);
      chain.unshift(name(f));
      if (f === entryPath) break;
    }
    return chain;
  };
  const problems: BundleProblem[] = messages.map((m) => {
    const importer = m.location ? resolve(workDir, m.location.file) : undefined;
    // The refused or unresolvable import, as quoted by our refusal or esbuild's message.
    const target =
      m.pluginName === CHECK_PLUGIN
        ? /^cannot import "([^"]+)"/.exec(m.text)?.[1]
        : /^Could not resolve "([^"]+)"/.exec(m.text)?.[1];
    const chain = importer ? [...chainTo(importer), ...(target ? [target] : [])] : [];
    const message =
      chain.length > 1 && target
        ? `${m.text.replace(/\.?$/, ".")} Import chain: ${chain.join(" -> ")}.`
        : m.text;
    return {
      file: importer ? name(importer) : "",
      line: m.location?.line ?? 0,
      column: m.location?.column ?? 0,
      message,
      chain: target ? chain : [],
    };
  });
  const first = problems[0];
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : "";
  return new WeirError(
    "COMPILE_ERROR",
    `cannot bundle ${entry}: ${first?.message ?? "esbuild failed"}${more}`,
    {
      details: { diagnostics: problems },
    },
  );
}
