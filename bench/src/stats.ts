/** Small measurement helpers shared by the parent and the child processes. */
import { readFileSync } from "node:fs";

/** Nearest-rank percentile of an ascending-sorted array (NaN when empty). */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export interface LatencySummary {
  messages: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/** Percentiles of per-message latencies (ms). */
export function summarize(latenciesMs: number[]): LatencySummary {
  const sorted = Float64Array.from(latenciesMs).sort();
  const sum = latenciesMs.reduce((a, b) => a + b, 0);
  return {
    messages: sorted.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1]! : Number.NaN,
    mean: sorted.length ? sum / sorted.length : Number.NaN,
  };
}

/** Peak resident set size of this process (VmHWM), in bytes; falls back to the current RSS. */
export function peakRssBytes(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.memoryUsage().rss;
}

/** User + system CPU of this process (all threads, isolates included), in ms. */
export function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * Sustained rate from a cumulative log of (time ms, count): the count between the 10% and 90% marks
 * over the time between them, so start-up (group join, first fetch) and the drain of the last
 * partitions do not count. Falls back to the whole log when it is too short.
 */
export function sustainedRate(log: [number, number][]): number {
  if (log.length < 2) return Number.NaN;
  const total = log[log.length - 1]![1];
  const at = (share: number) => log.find(([, n]) => n >= total * share) ?? log[log.length - 1]!;
  let a = at(0.1);
  let b = at(0.9);
  if (b[0] - a[0] <= 0 || b[1] - a[1] <= 0) {
    a = log[0]!;
    b = log[log.length - 1]!;
  }
  return ((b[1] - a[1]) / (b[0] - a[0])) * 1000;
}
