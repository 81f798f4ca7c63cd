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
  // Passed on as SIGTERM, so that a signal sent to this process alone stops the child too. Ctrl-C on
  // a terminal reaches both (one process group): the child counts only SIGINTs as Ctrl-C presses, so
  // the copy passed on, however late it arrives on a busy machine, is never taken for a second press.
  // A child that had already stopped (a terminal's Ctrl-C reached it too) and was exiting when that
  // SIGTERM came ends by the signal itself: after a stop was asked, that is the stop, exit 0.
  let stopAsked = false;
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const)
    process.on(sig, () => {
      stopAsked = true;
      child.kill("SIGTERM");
    });
  child.on("exit", (code, signal) => {
    if (code !== null) process.exitCode = code;
    else process.exitCode = signal === "SIGTERM" && stopAsked ? 0 : signal === "SIGINT" ? 130 : 1;
  });
} else {
  const controller = new AbortController();
  let firstAt = 0;
  process.on("SIGINT", () => {
    // A second Ctrl-C exits at once (a terminal may deliver one press twice in quick succession).
    if (controller.signal.aborted) {
      if (Date.now() - firstAt > 300) process.exit(130);
      return;
    }
    firstAt = Date.now();
    controller.abort();
  });
  // `weir dev` re-run under --no-node-snapshot: its parent passes every stop on as SIGTERM, which
  // stops it the same orderly way and never counts as a second press. (Other commands keep the
  // default SIGTERM: an immediate exit.)
  if (commandName(argv) === "dev")
    process.on("SIGTERM", () => {
      if (controller.signal.aborted) return;
      firstAt = Date.now();
      controller.abort();
    });
  process.exitCode = await run(argv, { signal: controller.signal });
}
