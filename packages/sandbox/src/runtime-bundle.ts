/**
 * The in-isolate runtime (src/isolate/*.ts) bundled into one script, once per process. Writing it
 * as TypeScript modules keeps it typechecked and testable; bundling at first use (~10 ms) avoids a
 * generated file that could drift from its source.
 */
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

/** Filename of the runtime script in isolate stack traces (frames from it are hidden). */
export const RUNTIME_FILENAME = "weir-runtime.js";

let bundle: Promise<string> | undefined;

/** The runtime script's source. */
export function runtimeSource(): Promise<string> {
  bundle ??= esbuild
    .build({
      entryPoints: [fileURLToPath(new URL("./isolate/runtime.ts", import.meta.url))],
      bundle: true,
      write: false,
      format: "iife",
      platform: "neutral",
      target: "es2022",
      logLevel: "silent",
    })
    .then((out) => {
      const js = out.outputFiles[0];
      if (!js) throw new Error("esbuild produced no runtime bundle");
      return js.text;
    })
    .catch((err: unknown) => {
      bundle = undefined; // let the next sandbox try again
      throw err;
    });
  return bundle;
}
