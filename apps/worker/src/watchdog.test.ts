/** The supervisor's verdicts on a cell, from its last report: each rule, its bound and its order. */
import type { DesiredPipeline } from "@weir/core";
import { describe, expect, it } from "vitest";
import type { CellReport } from "./cells.ts";
import { inspect, rssBudget, stallWindow, type WatchdogSettings } from "./watchdog.ts";

const settings: WatchdogSettings = {
  hangMs: 15_000,
  graceMs: 2000,
  stallMs: 30_000,
  controlMs: 15_000,
  headroomMb: 384,
  pipelineOverheadMb: 384,
  isolates: 2,
};
const NOW = 1_000_000;

function pipeline(id: string, timeoutMs = 1000, memoryMb = 128): DesiredPipeline {
  return {
    id,
    spec: { limits: { timeout_ms: timeoutMs, memory_mb: memoryMb } },
  } as unknown as DesiredPipeline;
}

function report(over: Partial<CellReport> = {}): CellReport {
  return {
    type: "report",
    pipelines: [],
    inflight: [],
    progress: [],
    changes: [],
    members: [],
    metrics: [],
    ...over,
  };
}

/** The fields of a Cell the watchdog reads (a real Cell forks a process). */
function cell(last: CellReport | null, lastReportAt = NOW, pipelines = [pipeline("p1")]) {
  return { last, lastReportAt, pipelines: new Map(pipelines.map((p) => [p.id, p])) } as never;
}

const call = { pipeline: "p1", topic: "t", partition: 0, offset: "42", timeoutMs: 1000 };

describe("watchdog", () => {
  it("passes a healthy cell", () => {
    expect(inspect(cell(report()), NOW, settings, 100 * 1048576)).toBeNull();
  });

  it("calls a cell hung when it has not reported for hangMs", () => {
    expect(inspect(cell(report(), NOW - 15_001), NOW, settings, 0)).toMatchObject({ kind: "hung" });
    expect(inspect(cell(report(), NOW - 14_999), NOW, settings, 0)).toBeNull();
  });

  it("kills at timeout_ms + grace, not before, and names the message", () => {
    const late = report({ inflight: [{ ...call, startedAt: NOW - 3001 }] });
    expect(inspect(cell(late), NOW, settings, 0)).toMatchObject({
      kind: "deadline",
      call: { offset: "42" },
      detail: expect.stringContaining("t/0@42"),
    });
    const onTime = report({ inflight: [{ ...call, startedAt: NOW - 2999 }] });
    expect(inspect(cell(onTime), NOW, settings, 0)).toBeNull();
  });

  it("reports a partition with lag and no progress as stalled, but not one held by sink retries", () => {
    const progress = {
      pipeline: "p1",
      topic: "t",
      partition: 1,
      lag: 5,
      lastProgressAt: NOW - 30_001,
      paused: false,
    };
    expect(inspect(cell(report({ progress: [progress] })), NOW, settings, 0)).toMatchObject({
      kind: "stalled",
      pipeline: "p1",
    });
    expect(inspect(cell(report({ progress: [{ ...progress, paused: true }] })), NOW, settings, 0)).toBeNull();
    expect(inspect(cell(report({ progress: [{ ...progress, lag: 0 }] })), NOW, settings, 0)).toBeNull();
  });

  it("never calls a stall before the hard deadline could have fired", () => {
    expect(stallWindow(settings, 1000)).toBe(30_000);
    expect(stallWindow(settings, 60_000)).toBe(63_000);
  });

  it("bounds a start/swap/pause/delete by controlMs", () => {
    const slow = report({ changes: [{ pipeline: "p1", since: NOW - 15_001 }] });
    expect(inspect(cell(slow), NOW, settings, 0)).toMatchObject({ kind: "control", pipeline: "p1" });
  });

  it("recycles a cell over its RSS budget: isolates x memory_mb plus the overhead per pipeline, plus headroom", () => {
    const pipelines = [pipeline("p1", 1000, 128), pipeline("p2", 1000, 64)];
    const c = cell(report(), NOW, pipelines);
    const budgetMb = 384 + (2 * 128 + 384) + (2 * 64 + 384);
    expect(rssBudget(settings, pipelines)).toBe(budgetMb * 1048576);
    expect(inspect(c, NOW, settings, budgetMb * 1048576 + 1)).toMatchObject({ kind: "memory" });
    expect(inspect(c, NOW, settings, budgetMb * 1048576)).toBeNull();
  });

  it("puts a hang before a deadline (a hung cell's last report is stale)", () => {
    const late = report({ inflight: [{ ...call, startedAt: NOW - 60_000 }] });
    expect(inspect(cell(late, NOW - 20_000), NOW, settings, 0)).toMatchObject({ kind: "hung" });
  });
});
