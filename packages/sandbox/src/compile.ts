/**
 * Build-time half of the sandbox: turn one uploaded TypeScript file, or one bundle made on the user's
 * machine (`weir handler upload`, @weir/sdk/bundle), into the script the isolate loads. Imports are
 * refused here, with a fix-it message, rather than failing at run time: the isolate has neither Node
 * nor a module loader, so what runs is one file.
 */
import { builtinModules } from "node:module";
import { originalPositionFor, TraceMap } from "@jridgewell/trace-mapping";
import * as esbuild from "esbuild";

/** Where a handler compiles to; the in-isolate runtime defines `__weir_define` for one call. */
export const HANDLER_FILENAME = "handler.js";
const BANNER = "__weir_define(function (module, exports) {";
const FOOTER = "});";

/** One problem with an uploaded handler. `line` and `column` are 1-based; 0 when not tied to a place. */
export interface Diagnostic {
  line: number;
  column: number;
  message: string;
  /**
   * `MISSING_HANDLER_EXPORT` when the file compiles but exports no `handler`; for a bundle,
   * `BUNDLE_IMPORT` (an import is left in it) or `BUNDLE_GLOBAL` (it uses a CommonJS module global);
   * else `COMPILE_ERROR`.
   */
  code: "COMPILE_ERROR" | "MISSING_HANDLER_EXPORT" | "BUNDLE_IMPORT" | "BUNDLE_GLOBAL";
}

export type CompileResult =
  | { ok: true; code: string; sourceMap: string }
  | {
      ok: false;
      diagnostics: Diagnostic[];
      /** True when the only problem is that `handler` is not exported (code MISSING_HANDLER_EXPORT). */
      missingExport: boolean;
    };

export interface CompileOptions {
  /** Name of the uploaded file, as it appears in diagnostics and mapped stack traces. */
  filename?: string;
  /**
   * Compile a bundle instead of a TypeScript file: the source is one self-contained ES module
   * (JavaScript) and `sourceMap` its source map, whose sources (with their contents) become the
   * result's, so stacks name the original files and lines. A bundle may import nothing (diagnostic
   * `BUNDLE_IMPORT`) and may not use `require`, `__dirname` or `__filename` (`BUNDLE_GLOBAL`) other
   * than under `typeof`.
   */
  bundle?: { sourceMap: string };
}

const NODE_BUILTINS = new Set(builtinModules.map((m) => m.replace(/^node:/, "")));

function importFixIt(path: string): string {
  const bare = path.replace(/^node:/, "");
  if (bare === "crypto" || path.startsWith("node:crypto")) {
    return `cannot import "${path}": handlers run in a sandbox without Node. Use the global \`hash.md5(text)\`, \`hash.sha1(text)\` or \`hash.sha256(text)\` (hex digests) instead.`;
  }
  if (bare === "buffer") {
    return `cannot import "${path}": handlers run in a sandbox without Node. Use the globals \`TextEncoder\`/\`TextDecoder\` and \`base64.encode\`/\`base64.decode\` instead of Buffer.`;
  }
  if (NODE_BUILTINS.has(bare.split("/")[0] ?? bare)) {
    return `cannot import "${path}": handlers run in a sandbox without Node modules, file system, network or timers. Remove the import; the globals hash, base64, TextEncoder, TextDecoder, structuredClone, env and console are available.`;
  }
  if (path.startsWith(".") || path.startsWith("/")) {
    return `cannot import "${path}": a raw upload is one file. Upload with \`weir handler upload\` (or @weir/sdk's deployHandler), which bundles the imports in, or inline the imported code into the handler file.`;
  }
  return `cannot import package "${path}": a raw upload is one file and packages are not installed in the sandbox. Upload with \`weir handler upload\` (or @weir/sdk's deployHandler), which bundles the package in, or copy the code you need into the handler file.`;
}

/** Refuses every import: type-only imports never reach here, since esbuild erases them first. */
const refuseImports: esbuild.Plugin = {
  name: "weir-refuse-imports",
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) =>
      args.kind === "entry-point" ? undefined : { errors: [{ text: importFixIt(args.path) }] },
    );
  },
};

const BUNDLE_IMPORT_PLUGIN = "weir-refuse-bundle-imports";

/** The same for a bundle, whose imports should all have been bundled in on the user's machine. */
const refuseBundleImports: esbuild.Plugin = {
  name: BUNDLE_IMPORT_PLUGIN,
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) =>
      args.kind === "entry-point"
        ? undefined
        : {
            errors: [
              {
                text: `the bundle still imports "${args.path}" (${args.kind}): a bundle must be one self-contained ES module. Bundle the import in (\`weir handler upload\` does) or remove it.`,
              },
            ],
          },
    );
  },
};

/** CommonJS module globals a bundle may not use: they exist in neither an ES module nor the isolate. */
const BUNDLE_FORBIDDEN_GLOBALS = ["require", "__dirname", "__filename"];
const MARKER = "__weir_forbidden_global_";
const MARKER_USE = new RegExp(`(typeof\\s+)?${MARKER}(\\w+)`, "g");

/**
 * Uses of a forbidden global in the compiled code (esbuild replaced each free one by a marker), except
 * as the operand of `typeof`, with their place in the original files when the map knows it. The
 * `__require` shim esbuild writes for a `require(name)` it could not resolve at build time is
 * reported at the calls of the shim, not inside it.
 */
function forbiddenGlobals(code: string, sourceMap: string): Diagnostic[] {
  const found = new Map<string, Diagnostic>();
  let map: TraceMap | undefined;
  const at = (index: number) => {
    const before = code.slice(0, index);
    const line = before.split("\n").length;
    const column = index - before.lastIndexOf("\n");
    map ??= new TraceMap(sourceMap);
    const pos = originalPositionFor(map, { line, column: column - 1 });
    return pos.source && pos.line !== null ? `${pos.source}:${pos.line}:${pos.column + 1}: ` : "";
  };
  const add = (message: string) => {
    if (found.size < 10) found.set(message, { line: 0, column: 0, code: "BUNDLE_GLOBAL", message });
  };
  const shimStart = code.indexOf("var __require = ");
  const shimEnd = shimStart < 0 ? -1 : code.indexOf("\n});", shimStart);
  const inShim = (i: number) => shimStart >= 0 && i >= shimStart && i <= shimEnd;
  for (const m of code.matchAll(MARKER_USE)) {
    if (m[1] || inShim(m.index)) continue;
    add(
      `${at(m.index)}the bundle uses \`${m[2]}\`, a CommonJS module global that neither an ES module nor the sandbox has. Bundle the module as ESM (its imports resolved at build time) or guard the use with \`typeof ${m[2]}\`.`,
    );
  }
  if (shimStart >= 0) {
    for (const m of code.matchAll(/\b__require\(/g)) {
      if (inShim(m.index)) continue;
      add(
        `${at(m.index)}the bundle calls \`require()\` with a module name known only at run time, and the sandbox cannot load modules. Import the module statically so that the bundler includes it.`,
      );
    }
  }
  return [...found.values()];
}

function toDiagnostics(messages: esbuild.Message[]): Diagnostic[] {
  return messages.map((m) => ({
    line: m.location?.line ?? 0,
    column: m.location ? m.location.column + 1 : 0,
    message: m.text,
    code: m.pluginName === BUNDLE_IMPORT_PLUGIN ? ("BUNDLE_IMPORT" as const) : ("COMPILE_ERROR" as const),
  }));
}

function failure(err: unknown): CompileResult {
  const messages = (err as { errors?: esbuild.Message[] }).errors;
  if (Array.isArray(messages) && messages.length > 0) {
    return { ok: false, diagnostics: toDiagnostics(messages), missingExport: false };
  }
  return {
    ok: false,
    diagnostics: [{ line: 0, column: 0, message: String(err), code: "COMPILE_ERROR" }],
    missingExport: false,
  };
}

/**
 * Compile an uploaded TypeScript handler. On success, `code` is the script {@link createSandbox}
 * loads and `sourceMap` maps it back to the upload (for stack traces). On failure, diagnostics
 * carry 1-based line/column; a file without an exported `handler` gives one diagnostic with code
 * `MISSING_HANDLER_EXPORT` and `missingExport: true`. Types are stripped, not checked.
 */
export async function compileHandler(source: string, opts: CompileOptions = {}): Promise<CompileResult> {
  const sourcefile = opts.filename ?? "handler.ts";
  const bundle = opts.bundle;
  const input: esbuild.BuildOptions = bundle
    ? {
        // The bundle's own map, inline: esbuild composes it into the output map, so the result maps
        // to the original files (named as the map names them) rather than to the bundle.
        stdin: {
          contents: `${source}\n//# sourceMappingURL=data:application/json;base64,${Buffer.from(bundle.sourceMap).toString("base64")}\n`,
          loader: "js",
          sourcefile: "bundle.js",
        },
        define: Object.fromEntries(BUNDLE_FORBIDDEN_GLOBALS.map((g) => [g, `${MARKER}${g}`])),
        plugins: [refuseBundleImports],
      }
    : { stdin: { contents: source, loader: "ts", sourcefile }, plugins: [refuseImports] };
  const common: esbuild.BuildOptions = {
    ...input,
    bundle: true,
    write: false,
    platform: "neutral",
    target: "es2022",
    logLevel: "silent",
  };
  // Pass 1 (esm) only to learn the export names: esbuild's metafile lists them for esm output.
  let exports: string[];
  try {
    const esm = await esbuild.build({ ...common, format: "esm", metafile: true, outfile: "check.js" });
    exports = Object.values(esm.metafile?.outputs ?? {}).flatMap((o) => o.exports);
  } catch (err) {
    return failure(err);
  }
  if (!exports.includes("handler")) {
    return {
      ok: false,
      missingExport: true,
      diagnostics: [
        {
          line: 0,
          column: 0,
          code: "MISSING_HANDLER_EXPORT",
          message:
            exports.length === 0
              ? "the file exports nothing; add `export function handler(data, log) { ... }`"
              : `the file exports ${exports.map((e) => `\`${e}\``).join(", ")} but no \`handler\`; add \`export function handler(data, log) { ... }\``,
        },
      ],
    };
  }
  // Pass 2: the loadable form, a CommonJS body wrapped in a call the runtime answers once.
  try {
    const out = await esbuild.build({
      ...common,
      format: "cjs",
      outfile: HANDLER_FILENAME,
      sourcemap: "external",
      // A bundle's map carries its original files (the only copy the API keeps); a raw upload's
      // source is stored as is.
      sourcesContent: bundle !== undefined,
      banner: { js: BANNER },
      footer: { js: FOOTER },
    });
    const js = out.outputFiles?.find((f) => f.path.endsWith(".js"));
    const map = out.outputFiles?.find((f) => f.path.endsWith(".map"));
    if (!js || !map) return failure(new Error("esbuild produced no output"));
    if (bundle) {
      const globals = forbiddenGlobals(js.text, map.text);
      if (globals.length > 0) return { ok: false, diagnostics: globals, missingExport: false };
    }
    return { ok: true, code: js.text, sourceMap: map.text };
  } catch (err) {
    return failure(err);
  }
}
