/** Glue between commander and the commands: per-invocation context and shared option parsers. */
import type { Command } from "commander";
import type { Ctx, GlobalFlags } from "../context.ts";

/** Builds the context for the command being run (set by `run`). */
export type CtxFactory = (cmd: Command) => Ctx;

/**
 * Wrap an action so it receives the context first. Commander passes positional arguments, then the
 * command's options, then the command itself.
 */
export function action<A extends unknown[]>(
  makeCtx: CtxFactory,
  fn: (ctx: Ctx, ...args: A) => Promise<void>,
): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    await fn(makeCtx(cmd), ...(args.slice(0, -1) as A));
  };
}

export type { GlobalFlags };

/** Wait `ms`, or less if `signal` aborts first (no rejection: callers check `signal.aborted`). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((ok) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      ok();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
