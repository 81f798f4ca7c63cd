/**
 * One child process of a process sandbox: start it (with a deadline on the handshake), route its
 * IPC messages, read its RSS, kill it, and tell how it ended. A kill is always SIGKILL: the point
 * of the child is that nothing inside it has to cooperate for it to stop.
 */
import { type ChildProcess, fork } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { deserializeError, WeirError } from "@weir/core";
import type { ChildSandboxOptions, ToChild, ToParent } from "./protocol.ts";

const CHILD_ENTRY = fileURLToPath(new URL("./child.ts", import.meta.url));
/** How much of the child's stderr to keep for the crash report (V8 prints its fatal error there). */
const STDERR_TAIL = 4096;
/** After SIGKILL the exit event is prompt; this bounds the wait if it never comes. */
const EXIT_DEADLINE_MS = 5000;

/** Why the parent killed the child (undefined: it died by itself). */
export type KillReason = "timeout" | "memory" | "catastrophic" | "dispose";

/** How a child ended. */
export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  killedFor: KillReason | undefined;
  /** The call the kill was for, when there was one. */
  blame: number | undefined;
  /** V8's catastrophic-error message, when the child reported one. */
  catastrophic: string | undefined;
  /** The last few KB the child wrote to stderr. */
  stderrTail: string;
}

export interface HostOptions {
  execArgv: string[];
  /** Deadline for the child to start and load the handler. */
  startupTimeoutMs: number;
}

export class ChildHost {
  /** Messages other than the handshake go here. */
  onMessage: (message: ToParent) => void = () => {};
  /** Resolves once the child is gone (or declared gone after a kill whose exit never came). */
  readonly exited: Promise<ChildExit>;
  private exit: ChildExit | undefined;
  private killedFor: KillReason | undefined;
  private blame: number | undefined;
  private catastrophic: string | undefined;
  private stderrTail = "";
  private settle: (exit: ChildExit) => void = () => {};
  private readonly proc: ChildProcess;

  private constructor(proc: ChildProcess) {
    this.proc = proc;
    this.exited = new Promise((resolve) => {
      this.settle = resolve;
    });
    proc.stderr?.on("data", (chunk: Buffer) => {
      process.stderr.write(chunk);
      this.stderrTail = (this.stderrTail + chunk.toString()).slice(-STDERR_TAIL);
    });
    proc.on("message", (message: ToParent) => this.onMessage(message));
    proc.on("exit", (code, signal) => this.markExited(code, signal));
    // A failed spawn emits `error` without `exit`.
    proc.on("error", () => this.markExited(null, null));
  }

  /** Fork a child and load the handler in it; rejects with the load error or a crash/timeout. */
  static start(opts: ChildSandboxOptions, host: HostOptions): Promise<ChildHost> {
    const proc = fork(CHILD_ENTRY, [], {
      execArgv: host.execArgv,
      serialization: "advanced",
      stdio: ["ignore", "ignore", "pipe", "ipc"],
      env: { ...process.env, NODE_OPTIONS: "" },
    });
    const child = new ChildHost(proc);
    return new Promise<ChildHost>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill("timeout");
        reject(
          new WeirError(
            "HANDLER_TIMEOUT",
            `the sandbox process did not load the handler within ${host.startupTimeoutMs} ms`,
          ),
        );
      }, host.startupTimeoutMs);
      child.onMessage = (message) => {
        if (message.type === "ready") {
          clearTimeout(timer);
          child.onMessage = () => {};
          resolve(child);
        } else if (message.type === "load_failed") {
          clearTimeout(timer);
          child.kill("dispose");
          reject(deserializeError(message.error));
        } else if (message.type === "catastrophic") {
          child.catastrophic = message.message;
          child.kill("catastrophic");
        }
      };
      void child.exited.then((exit) => {
        clearTimeout(timer);
        reject(
          new WeirError(
            "HANDLER_CRASH",
            `the sandbox process died while loading the handler (${describeExit(exit)})`,
            { details: crashDetails(exit) },
          ),
        );
      });
      child.send({ type: "init", opts });
    });
  }

  get alive(): boolean {
    return this.exit === undefined;
  }

  send(message: ToChild): void {
    if (!this.alive || !this.proc.connected) return; // the exit event reports the loss
    try {
      this.proc.send(message);
    } catch {
      // the channel closed under us: same as above
    }
  }

  /** Record a catastrophic error the child reported (the caller then kills it). */
  noteCatastrophic(message: string): void {
    this.catastrophic ??= message;
  }

  /** SIGKILL the child; the first reason (and blamed call) is the one reported. */
  kill(reason: KillReason, blame?: number): void {
    if (!this.alive) return;
    if (this.killedFor === undefined) {
      this.killedFor = reason;
      this.blame = blame;
    }
    this.proc.kill("SIGKILL");
    setTimeout(() => this.markExited(null, "SIGKILL"), EXIT_DEADLINE_MS).unref();
  }

  /** The child's resident set size in bytes (Linux /proc), or undefined when it cannot be read. */
  rssBytes(): number | undefined {
    if (!this.alive || this.proc.pid === undefined) return undefined;
    try {
      const status = readFileSync(`/proc/${this.proc.pid}/status`, "latin1");
      const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1];
      return kb === undefined ? undefined : Number(kb) * 1024;
    } catch {
      return undefined;
    }
  }

  private markExited(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.exit) return;
    this.exit = {
      code,
      signal,
      killedFor: this.killedFor,
      blame: this.blame,
      catastrophic: this.catastrophic,
      stderrTail: this.stderrTail,
    };
    this.proc.removeAllListeners("message");
    this.settle(this.exit);
  }
}

/** "signal SIGTRAP" / "exit code 3", plus V8's fatal line when it printed one. */
export function describeExit(exit: ChildExit): string {
  const how = exit.signal
    ? `signal ${exit.signal}`
    : exit.code !== null
      ? `exit code ${exit.code}`
      : "no exit status";
  const fatal = /(Fatal JavaScript|FATAL ERROR|Fatal process|Catastrophic)[^\n]*/
    .exec(exit.stderrTail)?.[0]
    ?.trim();
  return fatal ? `${how}: ${fatal}` : how;
}

/** Structured details of a crash, for the error's `details`. */
export function crashDetails(exit: ChildExit): Record<string, unknown> {
  const details: Record<string, unknown> = { signal: exit.signal, exit_code: exit.code };
  if (exit.catastrophic) details.catastrophic = exit.catastrophic;
  return details;
}
