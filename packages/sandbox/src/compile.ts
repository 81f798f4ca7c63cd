/**
 * Build-time half of the sandbox: turn one uploaded TypeScript file into the script the isolate
 * loads. Imports are refused here, with a fix-it message, rather than failing at run time: a
 * handler is a single file and the isolate has neither Node nor a module loader.
 */
import { builtinModules } from "node:module";
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
  /** `MISSING_HANDLER_EXPORT` when the file compiles but exports no `handler`; else `COMPILE_ERROR`. */
  code: "COMPILE_ERROR" | "MISSING_HANDLER_EXPORT";
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
    return `cannot import "${path}": a handler is uploaded as one file. Inline the imported code into the handler file.`;
  }
  return `cannot import package "${path}": a handler is uploaded as one file and packages are not installed in the sandbox. Copy the code you need into the handler file (or bundle it in before uploading).`;
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

function toDiagnostics(messages: esbuild.Message[]): Diagnostic[] {
  return messages.map((m) => ({
    line: m.location?.line ?? 0,
    column: m.location ? m.location.column + 1 : 0,
    message: m.text,
    code: "COMPILE_ERROR" as const,
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
  const common: esbuild.BuildOptions = {
    stdin: { contents: source, loader: "ts", sourcefile },
    bundle: true,
    write: false,
    platform: "neutral",
    target: "es2022",
    logLevel: "silent",
    plugins: [refuseImports],
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
      sourcesContent: false,
      banner: { js: BANNER },
      footer: { js: FOOTER },
    });
    const js = out.outputFiles?.find((f) => f.path.endsWith(".js"));
    const map = out.outputFiles?.find((f) => f.path.endsWith(".map"));
    if (!js || !map) return failure(new Error("esbuild produced no output"));
    return { ok: true, code: js.text, sourceMap: map.text };
  } catch (err) {
    return failure(err);
  }
}
