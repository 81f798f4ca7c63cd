import { describe, expect, it } from "vitest";
import { sandboxFor } from "./test-helpers.ts";
import type { Sandbox } from "./types.ts";

/** Busy-waits `ms` of wall clock (the sandbox has no timers). */
const SLOW =
  "export function handler(d: { ms: number }): any { const t = Date.now(); while (Date.now() - t < d.ms) {} return null; }";

/** Polls inflight() until `pred` holds (or 3 s pass); returns the last reading. */
async function waitInflight(sandbox: Sandbox, pred: (x: ReturnType<Sandbox["inflight"]>) => boolean) {
  const t0 = Date.now();
  let seen = sandbox.inflight();
  while (!pred(seen) && Date.now() - t0 < 3000) {
    await new Promise((r) => setTimeout(r, 10));
    seen = sandbox.inflight();
  }
  return seen;
}

describe("inflight()", () => {
  it("reports the index within the call of the message in progress and when it started", async () => {
    const sandbox = await sandboxFor(SLOW, { limits: { timeout_ms: 5000 } });
    try {
      expect(sandbox.inflight()).toEqual([]);
      const t0 = Date.now();
      const running = sandbox.runBatch([
        { value: '{"ms":1}' },
        { value: '{"ms":1}' },
        { value: '{"ms":800}' },
      ]);
      const seen = await waitInflight(sandbox, (x) => x[0]?.index === 2);
      expect(seen).toEqual([{ index: 2, startedAt: expect.any(Number) }]);
      expect(seen[0]!.startedAt).toBeGreaterThanOrEqual(t0);
      expect(seen[0]!.startedAt).toBeLessThanOrEqual(Date.now());
      await running;
      expect(sandbox.inflight()).toEqual([]);
    } finally {
      sandbox.dispose();
    }
  });

  it("maps the index back to the caller's messages after a breach reran the rest", async () => {
    const source =
      "export function handler(d: { ms: number; loop?: boolean }): any { if (d.loop) while (true) {} const t = Date.now(); while (Date.now() - t < d.ms) {} return null; }";
    const sandbox = await sandboxFor(source, { limits: { timeout_ms: 200 } });
    try {
      const running = sandbox.runBatch([
        { value: '{"ms":1,"loop":true}' },
        { value: '{"ms":150}' },
        { value: '{"ms":150}' },
      ]);
      // After the first message's timeout, the fresh isolate gets messages 1 and 2 as 0 and 1.
      const seen = await waitInflight(sandbox, (x) => x[0]?.index === 2);
      expect(seen[0]?.index).toBe(2);
      await running;
    } finally {
      sandbox.dispose();
    }
  });

  it("lists one entry per call running on a pool of isolates", async () => {
    const sandbox = await sandboxFor(SLOW, { isolates: 2, limits: { timeout_ms: 5000 } });
    try {
      const a = sandbox.runBatch([{ value: '{"ms":600}' }]);
      const b = sandbox.runBatch([{ value: '{"ms":1}' }, { value: '{"ms":600}' }]);
      const seen = await waitInflight(sandbox, (x) => x.length === 2 && x.some((c) => c.index === 1));
      expect(seen.map((c) => c.index).sort()).toEqual([0, 1]);
      await Promise.all([a, b]);
      expect(sandbox.inflight()).toEqual([]);
    } finally {
      sandbox.dispose();
    }
  });
});
