/**
 * A rolling, bounded, in-memory history of worker reports per pipeline, for the console's charts
 * (`GET /v1/pipelines/:id/history`). Each report updates that worker's latest counters and lag for
 * the pipeline; the pipeline's point for the current time bucket is then the sum over the workers
 * that reported within the stale window (counters are cumulative per worker since it started, so
 * a client draws rates from the difference of two points; a drop means a worker restarted or left).
 * Lag is summed per topic/partition, the newest report of a partition winning (during a rebalance
 * two workers may both report one).
 *
 * Bounded three ways: points older than `maxAgeMs`, at most `maxPoints` points per pipeline, and at
 * most `maxPipelines` pipelines (the one updated longest ago is dropped first). Nothing is stored on
 * disk: an API restart starts an empty history.
 */
import type { Counters, HistoryPoint, PartitionLag } from "@weir/core";

export type { HistoryPoint };

export interface HistoryOptions {
  /** Width of a time bucket: reports within one bucket update one point. */
  bucketMs: number;
  /** Points older than this are dropped. */
  maxAgeMs: number;
  /** Points kept per pipeline. */
  maxPoints: number;
  /** Pipelines kept. */
  maxPipelines: number;
  /** A worker whose last report for the pipeline is older than this no longer counts. */
  staleMs: number;
}

export const DEFAULT_HISTORY: HistoryOptions = {
  bucketMs: 5_000,
  maxAgeMs: 60 * 60_000,
  maxPoints: 720,
  maxPipelines: 2_000,
  staleMs: 30_000,
};

/** One pipeline as a worker reports it (the fields of the worker status body that matter here). */
export interface ReportedPipeline {
  pipeline_id: string;
  counters: Counters;
  lag: PartitionLag[];
}

interface Latest {
  at: number;
  counters: Counters;
  lag: PartitionLag[];
}

interface Series {
  workers: Map<string, Latest>;
  points: HistoryPoint[];
  updatedAt: number;
}

const COUNTER_KEYS = ["messages_in", "rows_out", "dropped", "failed", "dlq", "retries"] as const;

export class ReportHistory {
  readonly options: HistoryOptions;
  private readonly series = new Map<string, Series>();

  constructor(options: Partial<HistoryOptions> = {}) {
    this.options = { ...DEFAULT_HISTORY, ...options };
  }

  /** Take one worker report (its pipelines) into the history. */
  record(workerId: string, pipelines: readonly ReportedPipeline[], now = Date.now()): void {
    const { bucketMs, maxAgeMs, maxPoints, staleMs } = this.options;
    for (const p of pipelines) {
      let s = this.series.get(p.pipeline_id);
      if (s) {
        // Re-insert: the map's order is least recently updated first, for eviction.
        this.series.delete(p.pipeline_id);
      } else {
        s = { workers: new Map(), points: [], updatedAt: now };
      }
      this.series.set(p.pipeline_id, s);
      s.updatedAt = now;
      s.workers.set(workerId, { at: now, counters: p.counters, lag: p.lag });
      const point: HistoryPoint = {
        t: Math.floor(now / bucketMs) * bucketMs,
        workers: 0,
        messages_in: 0,
        rows_out: 0,
        dropped: 0,
        failed: 0,
        dlq: 0,
        retries: 0,
        lag: 0,
      };
      const lag = new Map<string, { at: number; lag: number }>();
      for (const [id, w] of s.workers) {
        if (w.at < now - staleMs) {
          s.workers.delete(id);
          continue;
        }
        point.workers++;
        for (const k of COUNTER_KEYS) point[k] += w.counters[k];
        for (const l of w.lag) {
          const key = `${l.topic}\u0000${l.partition}`;
          const seen = lag.get(key);
          if (!seen || seen.at <= w.at) lag.set(key, { at: w.at, lag: l.lag });
        }
      }
      for (const l of lag.values()) point.lag += l.lag;
      const last = s.points[s.points.length - 1];
      if (last && last.t === point.t) s.points[s.points.length - 1] = point;
      else s.points.push(point);
      const oldest = now - maxAgeMs;
      let drop = 0;
      while (drop < s.points.length && s.points[drop]!.t < oldest) drop++;
      drop = Math.max(drop, s.points.length - maxPoints);
      if (drop > 0) s.points.splice(0, drop);
    }
    this.evict(now);
  }

  /** The pipeline's points, oldest first, optionally from `since` (epoch ms) on. */
  points(pipelineId: string, since = 0, now = Date.now()): HistoryPoint[] {
    const s = this.series.get(pipelineId);
    if (!s) return [];
    const from = Math.max(since, now - this.options.maxAgeMs);
    return s.points.filter((p) => p.t >= from);
  }

  /** Forget a pipeline (deleted). */
  forget(pipelineId: string): void {
    this.series.delete(pipelineId);
  }

  /** Pipelines held (for tests and metrics). */
  get size(): number {
    return this.series.size;
  }

  private evict(now: number): void {
    const { maxAgeMs, maxPipelines } = this.options;
    for (const [id, s] of this.series) {
      // Least recently updated first: stop at the first one still in use.
      if (this.series.size > maxPipelines || s.updatedAt < now - maxAgeMs) this.series.delete(id);
      else break;
    }
  }
}

/**
 * What the worker status route calls after storing a report: `recordReport(ctx.history, r.worker_id, own, now)`
 * with the report's pipelines that belong to the worker's pool.
 */
export function recordReport(
  history: ReportHistory,
  workerId: string,
  pipelines: readonly ReportedPipeline[],
  now = Date.now(),
): void {
  history.record(workerId, pipelines, now);
}
