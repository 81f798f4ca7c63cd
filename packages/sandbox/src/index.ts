/**
 * @weir/sandbox: compile an uploaded TypeScript handler, then run it in an isolated-vm isolate
 * with memory, wall-clock, output and log limits. See README.md for the handler's globals and
 * every limit.
 */
export { type CompileOptions, type CompileResult, compileHandler, type Diagnostic } from "./compile.ts";
export { isBinaryFormat, sandboxFormat } from "./format.ts";
export { DEFAULT_LIMITS, resolveLimits } from "./limits.ts";
export { createSandbox } from "./sandbox.ts";
export type {
  MessageFormat,
  MessageMeta,
  RunErrorCode,
  RunResult,
  Sandbox,
  SandboxMessage,
  SandboxOptions,
  SandboxStats,
} from "./types.ts";
