/**
 * The control plane runs no user code: test runs of hostile handlers (a V8 out-of-memory that
 * wedges an isolate, an endless loop, a promise that never settles, an allocation that aborts V8)
 * answer within a bound with the right per-event code, in a real API process that then still
 * answers, never loads isolated-vm itself, and obeys SIGTERM during such a run.
 */
import { readFileSync } from "node:fs";
import { WeirClient } from "@weir/sdk";
import { type ApiProcess, hostile, startApi } from "@weir/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GOOD_HANDLER, seedSpec } from "./test-helpers.ts";

const TIMEOUT_MS = 1000;
/** timeout_ms + grace + a fresh child + slack on a busy 2-core machine. */
const BOUND_MS = TIMEOUT_MS + 5000;

let api: ApiProcess;
let admin: WeirClient;

beforeAll(async () => {
  api = await startApi();
  admin = new WeirClient({ baseUrl: api.url, token: api.adminToken });
});

afterAll(async () => {
  await api?.kill("SIGKILL");
});

async function pipelineWith(name: string, source: string, limits: Record<string, number>) {
  const p = await admin.createPipeline(seedSpec(`${name}-${Date.now().toString(36)}`, { limits }));
  await admin.uploadHandler(p.id, source);
  return p.id;
}

/** The handler fails on `bad` events with the hostile body and echoes the others. */
function badOnFlag(hostileSource: string): string {
  const body = /handler\([^)]*\)[^{]*\{([\s\S]*)\}\s*$/.exec(hostileSource)?.[1];
  if (!body) throw new Error("cannot extract the handler body");
  return `export function handler(d: { id: number; bad?: boolean }): any { if (d.bad) { ${body} } return { id: d.id }; }`;
}

/** Child pids of a process (Linux). */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8")
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/** Running (a zombie waiting for its new parent to reap it counts as gone). */
function alive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return false;
  }
}

describe("test runs of hostile handlers", () => {
  // The Map case races V8's heap limit against timeout_ms (a loaded box saw the timeout win even at
  // 5000 ms): either code is right, what matters is an answer within the bound. The wedge case is
  // deterministic: the isolate never answers, only killing the sandbox's child process ends it.
  const cases = [
    ["a Map grown past memory_mb (V8 out-of-memory)", hostile.mapGrowth, /^HANDLER_(MEMORY|TIMEOUT)$/, 5000],
    [
      "an isolate that never answers the timeout",
      hostile.localeCompareWedge,
      /^HANDLER_TIMEOUT$/,
      TIMEOUT_MS,
    ],
    ["while (true) {}", hostile.neverYield, /^HANDLER_TIMEOUT$/, TIMEOUT_MS],
    ["a promise that never settles", hostile.neverSettles, /^HANDLER_TIMEOUT$/, TIMEOUT_MS],
    ["an allocation that aborts V8", hostile.v8Abort, /^HANDLER_CRASH$/, TIMEOUT_MS],
  ] as const;

  for (const [what, source, code, timeoutMs] of cases) {
    it(`${what}: answers within the bound with ${code.source}, the other events ok`, async () => {
      const id = await pipelineWith("hostile", badOnFlag(source), { memory_mb: 128, timeout_ms: timeoutMs });
      const t0 = Date.now();
      const run = await admin.testRun(id, [{ id: 1 }, { id: 2, bad: true }, { id: 3 }]);
      expect(Date.now() - t0).toBeLessThan(timeoutMs + 5000);
      expect(run.results.map((r) => r.error?.code ?? null)).toEqual([
        null,
        expect.stringMatching(code),
        null,
      ]);
      expect(run.results.filter((r) => r.ok).flatMap((r) => r.rows)).toEqual([{ id: 1 }, { id: 3 }]);
    });
  }

  it("the handler alone (issue 19's reproducer) fails with a code, not a hang", async () => {
    const id = await pipelineWith("mapgrowth", hostile.mapGrowth, { memory_mb: 128 });
    const t0 = Date.now();
    const run = await admin.testRun(id, [{}]);
    expect(Date.now() - t0).toBeLessThan(BOUND_MS);
    expect(run.results[0]?.error?.code).toMatch(/^HANDLER_(MEMORY|TIMEOUT)$/);
  });

  it("afterwards the API still answers /readyz and a normal test run, and never loaded isolated-vm", async () => {
    expect((await fetch(`${api.url}/readyz`)).ok).toBe(true);
    const id = await pipelineWith("good", GOOD_HANDLER, {});
    const run = await admin.testRun(id, [{ spans: [{ traceId: "t", spanId: "s" }] }]);
    expect(run.results[0]).toMatchObject({ ok: true, row_count: 1, rows: [{ trace_id: "t", span_id: "s" }] });
    // The native addon is mapped into every process that loads it: the API's own memory has none.
    const maps = readFileSync(`/proc/${api.proc.pid}/maps`, "utf8");
    expect(maps).not.toMatch(/isolated[-_]vm/);
  });

  it("SIGTERM during a hostile test run ends the API within 30 s and leaves no sandbox process", async () => {
    const victim = await startApi();
    const client = new WeirClient({ baseUrl: victim.url, token: victim.adminToken });
    try {
      const p = await client.createPipeline(
        seedSpec(`sigterm-${Date.now().toString(36)}`, { limits: { timeout_ms: 3000 } }),
      );
      await client.uploadHandler(p.id, hostile.neverSettles);
      const running = client.testRun(p.id, [{}, {}, {}]).catch((err: unknown) => err);
      let children: number[] = [];
      const t0 = Date.now();
      while (children.length === 0 && Date.now() - t0 < 10_000) {
        await new Promise((r) => setTimeout(r, 100));
        children = childrenOf(victim.proc.pid!);
      }
      expect(children.length).toBeGreaterThan(0);
      const t1 = Date.now();
      const exit = await Promise.race([
        victim.kill("SIGTERM"),
        new Promise((r) => setTimeout(() => r("still running"), 30_000)),
      ]);
      expect(exit).toBe(0);
      expect(Date.now() - t1).toBeLessThan(30_000);
      await running;
      // Orphans notice the closed IPC channel (the sandbox child) or stdin (esbuild) and exit.
      const t2 = Date.now();
      while (children.some(alive) && Date.now() - t2 < 10_000) await new Promise((r) => setTimeout(r, 100));
      expect(children.filter(alive)).toEqual([]);
    } finally {
      await victim.kill("SIGKILL");
    }
  });
});
