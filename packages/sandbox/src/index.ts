/**
 * @weir/sandbox: compile an uploaded TypeScript handler, then run it in an isolated-vm isolate
 * with memory, wall-clock, output and log limits. See README.md for the handler's globals and
 * every limit.
 */
import type { Sandbox as SandboxApi, SandboxOptions as SandboxOpts } from "./types.ts";

export { type CompileOptions, type CompileResult, compileHandler, type Diagnostic } from "./compile.ts";
export { isBinaryFormat, sandboxFormat } from "./format.ts";
export { RETRY_AFTER_MAX_MS } from "./isolate/protocol.ts";
export { DEFAULT_LIMITS, resolveLimits } from "./limits.ts";
export { preloadRuntime } from "./preload.ts";
export { createProcessSandbox, type ProcessSandboxOptions } from "./process/sandbox.ts";
export type {
  InflightCall,
  MessageFormat,
  MessageMeta,
  RunErrorCode,
  RunResult,
  Sandbox,
  SandboxMessage,
  SandboxOptions,
  SandboxStats,
} from "./types.ts";

/**
 * Load a compiled handler into a fresh isolate in this process (see sandbox.ts). isolated-vm is
 * imported on first use, so a process that only compiles handlers or uses
 * {@link createProcessSandbox} (the API) never loads it.
 */
export async function createSandbox(opts: SandboxOpts): Promise<SandboxApi> {
  const { createSandbox: create } = await import("./sandbox.ts");
  return create(opts);
}
