#!/usr/bin/env node
/**
 * The `weir` executable. The first Ctrl-C stops a follow or wait cleanly (the command decides the
 * exit code); a second one exits at once with 130.
 */
import { run } from "./index.ts";

const controller = new AbortController();
process.on("SIGINT", () => {
  if (controller.signal.aborted) process.exit(130);
  controller.abort();
});

const code = await run(process.argv.slice(2), { signal: controller.signal });
process.exitCode = code;
