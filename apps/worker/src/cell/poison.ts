/**
 * Poison messages inside a chunk: the runner passes only the other messages to the sandbox and
 * puts a failed result (stage handler, the supervisor's code and reason) in each poison message's slot,
 * so it is dead-lettered and committed past like any handler failure.
 */
import type { RunResult } from "@weir/sandbox";
import type { PoisonEntry } from "./protocol.ts";

/** Indexes of the messages to run, and the poison entry of each message that must not run. */
export function splitPoison(
  offsets: readonly string[],
  lookup: (offset: string) => PoisonEntry | undefined,
): { runnable: number[]; poisoned: Map<number, PoisonEntry> } {
  const runnable: number[] = [];
  const poisoned = new Map<number, PoisonEntry>();
  for (let i = 0; i < offsets.length; i++) {
    const p = lookup(offsets[i]!);
    if (p) poisoned.set(i, p);
    else runnable.push(i);
  }
  return { runnable, poisoned };
}

/** Results in the chunk's order: the sandbox's for runnable messages, a failure for poison ones. */
export function mergeResults(
  length: number,
  runnable: readonly number[],
  ran: readonly RunResult[],
  poisoned: ReadonlyMap<number, PoisonEntry>,
): RunResult[] {
  const out = new Array<RunResult>(length);
  runnable.forEach((i, k) => {
    out[i] = ran[k]!;
  });
  for (const [i, p] of poisoned) {
    out[i] = {
      ok: false,
      error: { name: "WeirError", code: p.code, message: p.message, retryable: false },
      durationMs: 0,
      logs: [],
    };
  }
  return out;
}
