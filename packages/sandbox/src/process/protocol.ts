/**
 * Messages between a process sandbox (the parent) and its child process over Node's IPC channel
 * (`serialization: "advanced"`, so Uint8Array values and Error-free plain objects cross as is).
 * Only control data and the messages of a call cross; nothing here is trusted to arrive.
 */
import type { LogRecord, SerializedError } from "@weir/core";
import type { RunResult, SandboxMessage, SandboxOptions, SandboxStats } from "../types.ts";

/** The options the child needs: SandboxOptions minus the callback (functions cannot cross). */
export type ChildSandboxOptions = Omit<SandboxOptions, "onCatastrophicError">;

/** Parent -> child. */
export type ToChild =
  /** Load the handler: one in-process sandbox per isolate. Answered by `ready` or `load_failed`. */
  | { type: "init"; opts: ChildSandboxOptions }
  /** Run a call on a free isolate. Answered by `result` (or `failed` if the sandbox rejected). */
  | { type: "run"; id: number; messages: SandboxMessage[] };

/** Child -> parent. */
export type ToParent =
  | { type: "ready" }
  | { type: "load_failed"; error: SerializedError }
  /**
   * The message in progress of call `id` changed: its index within the call's messages and when it
   * started (Date.now() of the child; same machine clock). Sent on change, polled by the child.
   */
  | { type: "progress"; id: number; index: number; startedAt: number }
  | {
      type: "result";
      id: number;
      results: RunResult[];
      /** Log lines dropped since the last drain (the records themselves ride on the results). */
      dropped: number;
      stats: SandboxStats;
    }
  | { type: "failed"; id: number; error: SerializedError }
  /** V8 reported a catastrophic error in the isolate running call `id` (if any): kill me. */
  | { type: "catastrophic"; id: number | undefined; message: string };

/** Cumulative log records, bounded like the in-process sandbox's buffer. */
export interface LogBuffer {
  records: LogRecord[];
  dropped: number;
}
