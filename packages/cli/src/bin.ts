#!/usr/bin/env node
/**
 * The `weir` executable. The first Ctrl-C stops a follow, wait or dev loop cleanly (the command
 * decides the exit code); a second one exits at once with 130. `weir dev` loads the sandbox
 * (isolated-vm), which needs Node's `--no-node-snapshot`: without it, the command re-runs itself
 * with the flag (and passes signals on to it).
 */
import { spawn } from "node:child_process";
import { run } from "./index.ts";

const argv = process.argv.slice(2);

// `weir ... | head`: the reader went away; stop quietly rather than with a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code !== "EPIPE") throw err;
    process.exit(typeof process.exitCode === "number" ? process.exitCode : 0);
  });
}

/** The command's name: the first argument that is neither a global option nor its value. */
function commandName(args: readonly string[]): string | undefined {
  const withValue = new Set(["--api", "--token", "--project"]);
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (withValue.has(a)) i++;
    else if (!a.startsWith("-")) return a;
  }
  return undefined;
}

const flags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? "").split(/\s+/)];
if (commandName(argv) === "dev" && !flags.includes("--no-node-snapshot") && process.argv[1]) {
  const child = spawn(
    process.execPath,
    ["--no-node-snapshot", ...process.execArgv, process.argv[1], ...argv],
    {
      stdio: "inherit",
    },
  );
  // Passed on, so that a signal sent to this process alone stops the child too; Ctrl-C on a terminal
  // reaches both (one process group), and the child takes the two as one (below).
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(sig, () => child.kill(sig));
  child.on("exit", (code, signal) => {
    process.exitCode = code ?? (signal === "SIGINT" ? 130 : 1);
  });
} else {
  const controller = new AbortController();
  let firstAt = 0;
  process.on("SIGINT", () => {
    // A second Ctrl-C exits at once; the copy a re-running parent passes on right after is the same one.
    if (controller.signal.aborted) {
      if (Date.now() - firstAt > 300) process.exit(130);
      return;
    }
    firstAt = Date.now();
    controller.abort();
  });
  process.exitCode = await run(argv, { signal: controller.signal });
}
