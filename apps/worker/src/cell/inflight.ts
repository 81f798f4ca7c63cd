/**
 * Which message is in the handler right now. The runner records each chunk it hands the sandbox
 * (offsets, start time); the sandbox's `inflight()` says, per call, the index in progress and when
 * it started. With several calls at once (one per partition) an entry belongs to the latest chunk
 * that started before it. Without `inflight()` (older sandbox) the chunk's first offset stands in.
 */
import type { Sandbox } from "@weir/sandbox";
import type { InflightReport } from "./protocol.ts";

/** A chunk handed to the sandbox and not yet returned. */
export interface ChunkInFlight {
  topic: string;
  partition: number;
  /** Offsets of the messages actually passed to runBatch, in order. */
  offsets: string[];
  startedAt: number;
}

export function locateInflight(
  sandbox: Sandbox | null,
  chunks: ReadonlySet<ChunkInFlight>,
  pipeline: string,
  timeoutMs: number,
): InflightReport[] {
  if (chunks.size === 0) return [];
  const list = [...chunks];
  const calls = typeof sandbox?.inflight === "function" ? sandbox.inflight() : null;
  if (!calls) {
    return list.map((c) => ({
      pipeline,
      topic: c.topic,
      partition: c.partition,
      offset: c.offsets[0]!,
      startedAt: c.startedAt,
      timeoutMs,
    }));
  }
  const out: InflightReport[] = [];
  for (const call of calls) {
    let best: ChunkInFlight | undefined;
    for (const c of list) {
      if (c.startedAt > call.startedAt || call.index >= c.offsets.length) continue;
      if (!best || c.startedAt > best.startedAt) best = c;
    }
    if (!best) continue;
    out.push({
      pipeline,
      topic: best.topic,
      partition: best.partition,
      offset: best.offsets[call.index]!,
      startedAt: call.startedAt,
      timeoutMs,
    });
  }
  return out;
}
