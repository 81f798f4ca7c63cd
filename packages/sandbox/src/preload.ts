/**
 * For processes that run handlers but never compile one (the worker's cells): bundle the isolate
 * runtime now and stop esbuild's service process (~15 MB RSS that would otherwise live as long as
 * the process). A later esbuild call would start a new service.
 */
import * as esbuild from "esbuild";
import { runtimeSource } from "./runtime-bundle.ts";

export async function preloadRuntime(): Promise<void> {
  await runtimeSource();
  await esbuild.stop();
}
