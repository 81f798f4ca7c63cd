/** Run one measuring child to completion and turn its raw result into the reported figures. */
import type { ChildOptions, ChildResult } from "./child/harness.js";
import { startChild } from "./spawn.js";
import { type LatencySummary, summarize, sustainedRate } from "./stats.js";

export interface ConsumerFigures {
  messages: number;
  rows: number;
  /** Rows per second between the 10% and 90% marks of the rows written. */
  rowsPerSec: number;
  /** Rows over the whole run, group join included. */
  rowsPerSecWall: number;
  messagesPerSec: number;
  cpuSeconds: number;
  cpuSecondsPerMillionRows: number;
  /** Busy cores on average: CPU seconds over wall seconds. */
  cores: number;
  peakRssMB: number;
  wallSeconds: number;
  latencyMs: LatencySummary;
}

export function figures(r: ChildResult, fromTimestamp = 0): ConsumerFigures {
  const wall = (r.endedAt - r.startedAt) / 1000;
  const lat =
    fromTimestamp > 0 ? r.latencies.filter((_, i) => r.timestamps[i]! >= fromTimestamp) : r.latencies;
  const messageLog: [number, number][] = r.writes;
  return {
    messages: r.messages,
    rows: r.rows,
    rowsPerSec: Math.round(sustainedRate(messageLog)),
    rowsPerSecWall: Math.round(r.rows / wall),
    messagesPerSec: Math.round(r.messages / wall),
    cpuSeconds: round(r.cpuMs / 1000, 2),
    cpuSecondsPerMillionRows: round(r.cpuMs / 1000 / (r.rows / 1e6), 2),
    cores: round(r.cpuMs / 1000 / wall, 2),
    peakRssMB: Math.round(r.peakRssBytes / 2 ** 20),
    wallSeconds: round(wall, 2),
    latencyMs: roundAll(summarize(lat)),
  };
}

export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function roundAll(s: LatencySummary): LatencySummary {
  return {
    messages: s.messages,
    p50: Math.round(s.p50),
    p95: Math.round(s.p95),
    p99: Math.round(s.p99),
    max: Math.round(s.max),
    mean: Math.round(s.mean),
  };
}

/** Run a child until it has written `opts.expectedMessages`; fail if it stalls for `stallMs`. */
export async function runToCompletion(
  name: "weir" | "plain" | "consume",
  opts: ChildOptions,
  label: string,
  stallMs = 120_000,
): Promise<ChildResult> {
  const child = startChild(name, opts);
  let last = -1;
  let lastChange = Date.now();
  const ticker = setInterval(() => {
    const m = child.progress.messages;
    if (m !== last) {
      last = m;
      lastChange = Date.now();
      process.stderr.write(
        `  ${label}: ${m}/${opts.expectedMessages} messages, ${child.progress.rows} rows\n`,
      );
    } else if (Date.now() - lastChange > stallMs) {
      child.proc.kill("SIGKILL");
    }
  }, 2000);
  try {
    return await child.result;
  } finally {
    clearInterval(ticker);
  }
}
