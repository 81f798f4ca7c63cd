import { describe, expect, it } from "vitest";
// Relative, not @weir/testing: that package depends on this one.
import * as hostile from "../../../testing/src/hostile.ts";
import { compileHandler } from "../compile.ts";
import { rowsOf } from "../test-helpers.ts";
import type { RunResult } from "../types.ts";
import { createProcessSandbox, type ProcessSandboxOptions } from "./sandbox.ts";

async function processSandboxFor(source: string, opts: Omit<ProcessSandboxOptions, "code"> = {}) {
  const compiled = await compileHandler(source, { filename: "handler.ts" });
  if (!compiled.ok) throw new Error(`compile failed: ${JSON.stringify(compiled.diagnostics)}`);
  return createProcessSandbox({ ...opts, code: compiled.code, sourceMap: compiled.sourceMap });
}

/** A handler that behaves unless the message says `bad`, then runs the hostile body. */
function badOnFlag(hostileSource: string): string {
  const body = /handler\([^)]*\)[^{]*\{([\s\S]*)\}\s*$/.exec(hostileSource)?.[1];
  if (!body) throw new Error("cannot extract the handler body");
  return `export function handler(d: { id: number; bad?: boolean }, log: any): any {
    if (d.bad) { ${body} }
    log.info("ok", { id: d.id });
    return { id: d.id };
  }`;
}

const batch = [{ value: '{"id":1}' }, { value: '{"id":2,"bad":true}' }, { value: '{"id":3}' }];

function codeOf(r: RunResult): string | undefined {
  return r.ok ? undefined : r.error.code;
}

describe("createProcessSandbox", () => {
  it("runs a batch in a child process with rows, logs and stats like the in-process sandbox", async () => {
    const sandbox = await processSandboxFor(badOnFlag(hostile.neverYield), { pipelineId: "p-proc-ok" });
    try {
      const results = await sandbox.runBatch([{ value: '{"id":1}' }, { value: '{"id":2}' }]);
      expect(results.flatMap(rowsOf)).toEqual([{ id: 1 }, { id: 2 }]);
      expect(results[0]!.logs.map((l) => l.message)).toEqual(["ok"]);
      expect(sandbox.drainLogs().records).toHaveLength(2);
      expect(sandbox.stats().recycles).toBe(0);
      expect(sandbox.stats().cpuTimeMs).toBeGreaterThan(0);
      expect(sandbox.inflight()).toEqual([]);
    } finally {
      sandbox.dispose();
    }
  });

  it("passes bytes through IPC for binary formats", async () => {
    const sandbox = await processSandboxFor("export function handler(d: string): any { return { d }; }", {
      format: "text",
    });
    try {
      expect(rowsOf(await sandbox.run("plain text"))).toEqual([{ d: "plain text" }]);
    } finally {
      sandbox.dispose();
    }
  });

  it("fails a V8 abort with HANDLER_CRASH naming the signal, and serves the rest from a fresh child", async () => {
    const sandbox = await processSandboxFor(badOnFlag(hostile.v8Abort));
    try {
      const results = await sandbox.runBatch(batch);
      expect(results.map(codeOf)).toEqual([undefined, "HANDLER_CRASH", undefined]);
      const error = (results[1] as RunResult & { ok: false }).error;
      expect(error.message).toMatch(/signal SIGTRAP.*invalid size/);
      expect(error.details).toMatchObject({ signal: "SIGTRAP" });
      expect(results.filter((r) => r.ok).flatMap(rowsOf)).toEqual([{ id: 1 }, { id: 3 }]);
      expect(sandbox.stats().recycles).toBe(1);
      expect(rowsOf(await sandbox.run('{"id":4}'))).toEqual([{ id: 4 }]);
    } finally {
      sandbox.dispose();
    }
  });

  it("kills the child on a V8 out-of-memory that wedges the isolate (HANDLER_MEMORY)", async () => {
    // A long timeout_ms so the out-of-memory (~0.5-1 s of CPU) always comes first on a loaded machine.
    const sandbox = await processSandboxFor(badOnFlag(hostile.mapGrowth), {
      limits: { memory_mb: 128, timeout_ms: 10_000 },
    });
    try {
      const t0 = Date.now();
      const results = await sandbox.runBatch(batch);
      // Ended by the out-of-memory path, not by timeout_ms (a CI box under load took 5.06 s).
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect(results.map(codeOf)).toEqual([undefined, "HANDLER_MEMORY", undefined]);
      expect(results.filter((r) => r.ok).flatMap(rowsOf)).toEqual([{ id: 1 }, { id: 3 }]);
    } finally {
      sandbox.dispose();
    }
  });

  it("keeps the in-process soft timeout for a never-settling promise, without killing the child", async () => {
    const sandbox = await processSandboxFor(badOnFlag(hostile.neverSettles), { limits: { timeout_ms: 300 } });
    try {
      const results = await sandbox.runBatch(batch);
      expect(results.map(codeOf)).toEqual([undefined, "HANDLER_TIMEOUT", undefined]);
      expect((results[1] as RunResult & { ok: false }).error.message).toMatch(/isolate was recycled/);
    } finally {
      sandbox.dispose();
    }
  });

  it("SIGKILLs the child at the hard deadline when the message is still running", async () => {
    // A negative grace puts the parent's deadline (1 s) before the child's own watchdog (3 s).
    const sandbox = await processSandboxFor(badOnFlag(hostile.neverYield), {
      limits: { timeout_ms: 3000 },
      graceMs: -2000,
    });
    try {
      const results = await sandbox.runBatch(batch);
      expect(results.map(codeOf)).toEqual([undefined, "HANDLER_TIMEOUT", undefined]);
      expect((results[1] as RunResult & { ok: false }).error.message).toMatch(/process was killed/);
      expect(sandbox.stats().recycles).toBe(1);
    } finally {
      sandbox.dispose();
    }
  });

  it("SIGKILLs the child above its RSS backstop (HANDLER_MEMORY)", async () => {
    const sandbox = await processSandboxFor(badOnFlag(hostile.neverSettles), {
      limits: { timeout_ms: 3000 },
      maxRssBytes: 1, // any child is above it: the first check while a call runs kills it
    });
    try {
      const [result] = await sandbox.runBatch([batch[1]!]);
      expect(codeOf(result!)).toBe("HANDLER_MEMORY");
      expect((result as RunResult & { ok: false }).error.message).toMatch(/memory backstop/);
    } finally {
      sandbox.dispose();
    }
  });

  it("reports the message in progress through inflight()", async () => {
    const slow =
      "export function handler(d: { ms: number }): any { const t = Date.now(); while (Date.now() - t < d.ms) {} return null; }";
    const sandbox = await processSandboxFor(slow, { limits: { timeout_ms: 5000 } });
    try {
      const t0 = Date.now();
      const running = sandbox.runBatch([{ value: '{"ms":10}' }, { value: '{"ms":1500}' }]);
      let seen: { index: number; startedAt: number }[] = [];
      while (Date.now() - t0 < 3000) {
        seen = sandbox.inflight();
        if (seen[0]?.index === 1) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(seen).toHaveLength(1);
      expect(seen[0]!.index).toBe(1);
      expect(seen[0]!.startedAt).toBeGreaterThanOrEqual(t0);
      await running;
      expect(sandbox.inflight()).toEqual([]);
    } finally {
      sandbox.dispose();
    }
  });

  it("rejects a handler that cannot load, like createSandbox", async () => {
    await expect(
      processSandboxFor('throw new Error("boom");\nexport function handler(): any { return null; }'),
    ).rejects.toMatchObject({ code: "HANDLER_ERROR", message: expect.stringMatching(/boom/) });
    await expect(processSandboxFor(hostile.loadNeverEnds)).rejects.toMatchObject({ code: "HANDLER_TIMEOUT" });
  });

  it("rejects calls in flight once disposed, promptly", async () => {
    const sandbox = await processSandboxFor(hostile.neverYield, { limits: { timeout_ms: 5000 } });
    const running = sandbox.run("{}");
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    sandbox.dispose();
    await expect(running).rejects.toMatchObject({ code: "SANDBOX_DISPOSED" });
    expect(Date.now() - t0).toBeLessThan(2000);
  });
});
