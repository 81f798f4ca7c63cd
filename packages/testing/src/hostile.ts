/**
 * Hostile handler sources (TypeScript, as a user would upload them) for containment tests of the
 * sandbox, the worker and the API. Each one defeats a different in-process defence; the comment
 * says what it does on Node 24.22.3 + isolated-vm 6.2.0 with memory_mb 128 and timeout_ms 1000.
 */

/**
 * Grows a Map past the isolate's heap: the rehash asks V8 for one allocation beyond the limit, a
 * true V8 out-of-memory. In-process, isolated-vm calls the catastrophic-error handler and the
 * isolate's thread then hangs for good: the call never settles, the watchdog's dispose does not
 * end it and the process cannot exit (measured: still hung after 30 s). Issue 19's reproducer.
 * Which comes first is a race of the heap limit against timeout_ms: with memory_mb 64 the thread
 * hung in 5 of 5 runs (timeout_ms 500-3000); with 128 the soft timeout won at 500 and 3000 ms
 * (HANDLER_TIMEOUT, isolate recycled in-process). Tests that need the hang use memory_mb 64.
 */
export const mapGrowth =
  "export function handler(): any { const m = new Map(); for (let i = 0; i < 5e7; i++) m.set(i, i); return { n: m.size }; }";

/**
 * Compares a 20 MB string with a copy of itself plus one char, 1000 times: every iteration
 * allocates and flattens another 20 MB string next to ICU's collation work, at the edge of a 128 MB
 * heap. The isolate never answers the in-process timeout: measured on Node 24.22.3 + isolated-vm 6.2.0
 * with memory_mb 128, the call was still unsettled 12 s after timeout_ms 500 (and 3000) in 8 of 8 runs,
 * with and without the cell's --max-semi-space-size=16, where mapGrowth's outcome is a race. Only a
 * process kill ends it. The deterministic wedge for tests of the hard deadline.
 */
export const localeCompareWedge =
  'export function handler(): any { const s = "\u00e4".repeat(1e7); let n = 0; for (let i = 0; i < 1000; i++) n += s.localeCompare(s + "b"); return { n }; }';

/** A synchronous infinite loop: stopped by isolated-vm's timeout / the watchdog (HANDLER_TIMEOUT). */
export const neverYield = "export function handler(): any { while (true) {} }";

/** A promise that never settles: only the wall-clock watchdog ends it (HANDLER_TIMEOUT). */
export const neverSettles = "export function handler(): Promise<unknown> { return new Promise(() => {}); }";

/** Loops forever after an await, escaping isolated-vm's synchronous timeout (HANDLER_TIMEOUT). */
export const loopAfterAwait =
  "export async function handler(): Promise<unknown> { await Promise.resolve(); while (true) {} }";

/**
 * Aborts V8, killing the whole process: `Array(2**28 + 1).join("x")` builds a 256 Mi-char string
 * cheaply (no guard covers join), then `split("")` asks for a FixedArray of 2^28 elements, above
 * V8's maximum length. V8 does not throw or report an out-of-memory: it prints
 * "Fatal JavaScript invalid size error 268435456 (see crbug.com/1201626)" and a native stack to
 * stderr and aborts with SIGTRAP (exit status 133 from a shell) within ~0.6 s, whatever
 * onCatastrophicError is set to.
 */
export const v8Abort =
  'export function handler(): any { return { n: new Array(2 ** 28 + 1).join("x").split("").length }; }';

/** Gradual growth of an array past memory_mb: isolated-vm's memory limit stops it (HANDLER_MEMORY). */
export const arrayGrowth =
  "export function handler(): any { const a: number[][] = []; for (;;) a.push(new Array(1e5).fill(1)); }";

/** Top-level code that never ends: the handler cannot load (HANDLER_TIMEOUT at load). */
export const loadNeverEnds = "while (true) {}\nexport function handler(): any { return null; }";

/** A well-behaved handler to check the neighbours and the survivor: echoes the message as a row. */
export const echo = "export function handler(data: unknown): any { return { data }; }";
