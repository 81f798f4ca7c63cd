/**
 * The supervisor's checks of one cell, pure so they read in one place: a hung cell, a handler call
 * past its hard deadline, a stalled partition, a control change past its bound, RSS over budget.
 * The first verdict wins; the supervisor kills the cell and acts on the verdict.
 */

import type { DesiredPipeline } from "@weir/core";
import type { InflightReport } from "./cell/protocol.ts";
import type { Cell } from "./cells.ts";

export interface WatchdogSettings {
  hangMs: number;
  graceMs: number;
  stallMs: number;
  controlMs: number;
  headroomMb: number;
  /** Per pipeline, beyond its isolates' memory_mb (WEIR_WORKER_PIPELINE_OVERHEAD_MB). */
  pipelineOverheadMb: number;
  isolates: number;
}

export type Verdict =
  | { kind: "hung"; detail: string }
  | { kind: "deadline"; call: InflightReport; detail: string }
  | { kind: "stalled"; pipeline: string; detail: string }
  | { kind: "control"; pipeline: string; detail: string }
  | { kind: "memory"; detail: string };

/** The stall window of a pipeline: the setting, but always beyond its hard deadline. */
export function stallWindow(s: WatchdogSettings, timeoutMs: number): number {
  return Math.max(s.stallMs, timeoutMs + s.graceMs + 1000);
}

/**
 * The RSS budget of a cell, bytes: per pipeline its isolates at their memory limit plus the
 * pipeline overhead (fetch buffers, batches, young generations), plus the cell's headroom.
 */
export function rssBudget(s: WatchdogSettings, pipelines: Iterable<DesiredPipeline>): number {
  let mb = s.headroomMb;
  for (const p of pipelines) mb += p.spec.limits.memory_mb * s.isolates + s.pipelineOverheadMb;
  return mb * 1024 * 1024;
}

export function inspect(cell: Cell, now: number, s: WatchdogSettings, rss: number): Verdict | null {
  if (now - cell.lastReportAt > s.hangMs) {
    return { kind: "hung", detail: `no report for ${now - cell.lastReportAt} ms` };
  }
  const r = cell.last;
  if (!r) return null;
  for (const call of r.inflight) {
    const age = now - call.startedAt;
    if (age > call.timeoutMs + s.graceMs) {
      return {
        kind: "deadline",
        call,
        detail: `handler call on ${call.topic}/${call.partition}@${call.offset} still running after ${age} ms (timeout_ms ${call.timeoutMs} + grace ${s.graceMs}); its cell was killed`,
      };
    }
  }
  for (const p of r.progress) {
    const timeoutMs = cell.pipelines.get(p.pipeline)?.spec.limits.timeout_ms ?? 0;
    const idle = now - p.lastProgressAt;
    if (p.lag > 0 && !p.paused && idle > stallWindow(s, timeoutMs)) {
      return {
        kind: "stalled",
        pipeline: p.pipeline,
        detail: `partition ${p.topic}/${p.partition} has lag ${p.lag} and made no progress for ${Math.round(idle / 1000)} s; its cell was recycled`,
      };
    }
  }
  for (const c of r.changes) {
    if (now - c.since > s.controlMs) {
      return {
        kind: "control",
        pipeline: c.pipeline,
        detail: `a start/swap/pause/delete of ${c.pipeline} did not finish within ${s.controlMs} ms; cell restarted with the new state`,
      };
    }
  }
  const budget = rssBudget(s, cell.pipelines.values());
  if (rss > budget) {
    return {
      kind: "memory",
      detail: `cell RSS ${Math.round(rss / 1048576)} MB over its budget ${Math.round(budget / 1048576)} MB; recycled`,
    };
  }
  return null;
}
