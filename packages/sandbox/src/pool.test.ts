import { describe, expect, it } from "vitest";
import { SandboxPool } from "./pool.ts";
import { rowsOf, sandboxFor } from "./test-helpers.ts";

describe("isolates > 1", () => {
  it("runs concurrent batches on different isolates, each in order, and sums the stats", async () => {
    // Module-level state is per isolate: two isolates each count from 1.
    const sandbox = await sandboxFor(
      "let n = 0; export function handler(d: { id: number }) { n++; return { id: d.id, n }; }",
      { isolates: 2 },
    );
    try {
      const batch = (from: number) => Array.from({ length: 3 }, (_, i) => ({ value: `{"id":${from + i}}` }));
      const [a, b] = await Promise.all([sandbox.runBatch(batch(0)), sandbox.runBatch(batch(10))]);
      expect(a.flatMap(rowsOf)).toEqual([
        { id: 0, n: 1 },
        { id: 1, n: 2 },
        { id: 2, n: 3 },
      ]);
      expect(b.flatMap(rowsOf)).toEqual([
        { id: 10, n: 1 },
        { id: 11, n: 2 },
        { id: 12, n: 3 },
      ]);
      expect(sandbox.stats().recycles).toBe(0);
      expect(sandbox.stats().cpuTimeMs).toBeGreaterThan(0);
    } finally {
      sandbox.dispose();
    }
  });

  it("sums the log lines its isolates dropped, without reading their heaps", async () => {
    const sandbox = await sandboxFor(
      'export function handler(d: { n: number }, log: any) { for (let i = 0; i < d.n; i++) log.info("x"); return null; }',
      { isolates: 2, limits: { log_lines_per_second: 10 }, pipelineId: "p-pool-drops" },
    );
    try {
      const results = await Promise.all([
        sandbox.runBatch([{ value: '{"n":50}' }]),
        sandbox.runBatch([{ value: '{"n":50}' }]),
      ]);
      const kept = results.flat().reduce((n, r) => n + r.logs.length, 0);
      // Each concurrent call reserves its share of the pipeline's budget (10 lines/s) up front.
      expect(kept).toBeGreaterThanOrEqual(10);
      expect(kept).toBeLessThanOrEqual(20);
      expect(sandbox.droppedLogLines()).toBe(100 - kept);
      expect(sandbox.stats().droppedLogLines).toBe(100 - kept);
    } finally {
      sandbox.dispose();
    }
  });

  it("loads one isolate up front and another only when calls overlap", async () => {
    const sandbox = await sandboxFor("export function handler(d: { id: number }) { return d; }", {
      isolates: 3,
    });
    try {
      expect(sandbox).toBeInstanceOf(SandboxPool);
      const pool = sandbox as SandboxPool;
      for (let i = 0; i < 5; i++) await sandbox.runBatch([{ value: `{"id":${i}}` }]);
      expect(pool.size).toBe(1); // one call at a time (a one-partition pipeline): one isolate
      await Promise.all([0, 1, 2, 3].map((i) => sandbox.runBatch([{ value: `{"id":${i}}` }])));
      expect(pool.size).toBeGreaterThan(1);
      expect(pool.size).toBeLessThanOrEqual(3);
    } finally {
      sandbox.dispose();
    }
  });

  it("fails to create when the handler cannot load", async () => {
    await expect(
      sandboxFor("throw new Error('top-level'); export function handler() {}", { isolates: 2 }),
    ).rejects.toMatchObject({ code: "HANDLER_ERROR" });
  });
});
