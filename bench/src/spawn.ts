/** Start a measuring child (src/child/*.ts; Node strips the types) with the flags the worker runs with, and talk to it. */
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { ChildOptions, ChildResult, ToParent } from "./child/harness.ts";

/** The child scripts under src/child/ ("weir-cell": the same pipeline as "weir", through the worker's supervisor and a cell). */
export type ChildName = "weir" | "weir-cell" | "weir-cells" | "plain" | "plain-platformatic" | "consume";

export interface RunningChild {
  proc: ChildProcess;
  ready: Promise<void>;
  result: Promise<ChildResult>;
  /** Latest progress report. */
  progress: { messages: number; rows: number };
  stop(): void;
}

export function startChild(name: ChildName, opts: ChildOptions): RunningChild {
  const script = fileURLToPath(new URL(`./child/${name}.ts`, import.meta.url));
  const proc = fork(script, [JSON.stringify(opts)], {
    execArgv: ["--no-node-snapshot", ...opts.nodeFlags],
    env: { ...process.env, KAFKAJS_NO_PARTITIONER_WARNING: "1" },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const progress = { messages: 0, rows: 0 };
  let onReady: () => void = () => undefined;
  const ready = new Promise<void>((r) => {
    onReady = r;
  });
  const result = new Promise<ChildResult>((resolve, reject) => {
    proc.on("message", (m: ToParent) => {
      if (m.type === "ready") onReady();
      else if (m.type === "progress") Object.assign(progress, { messages: m.messages, rows: m.rows });
      else if (m.type === "done") resolve(m.result);
      else if (m.type === "error") reject(new Error(`${name} child failed: ${m.message}`));
    });
    // 'close', not 'exit': the exit can be seen before the last IPC message (the result) is read.
    proc.on("close", (code, signal) =>
      reject(new Error(`${name} child exited (${code ?? signal}) before reporting a result`)),
    );
  });
  return {
    proc,
    ready,
    result,
    progress,
    stop: () => {
      if (proc.connected) proc.send({ type: "stop" });
    },
  };
}
