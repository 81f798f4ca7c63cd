/**
 * The one line of figures each scenario prints, and the same figures in results/latest.json (one
 * entry per scenario, rewritten by each run) so a run can be compared with the last one.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { LONG } from "./scale.ts";

export interface Figures {
  /** Messages acknowledged by the broker. */
  sent: number;
  /** Rows the expected key set holds. */
  expected: number;
  /** Distinct expected keys found at the sink. */
  landed: number;
  /** Keys present more than once after deduplication (FINAL / idempotency key): must be 0. */
  dup_after_dedup: number;
  /** Extra rows at rest before deduplication (replays the platform allows). */
  raw_dups: number;
  dlq: number;
  /** Time from the end of the fault until the pipeline delivered again; null when not measured. */
  recovery_ms: number | null;
  [extra: string]: number | string | null | boolean;
}

const resultsFile = join(dirname(fileURLToPath(import.meta.url)), "../../results/latest.json");

/** Print `[faults] <scenario>: k=v ...` and record the figures under the scenario's name. */
export function report(scenario: string, figures: Figures): void {
  const line = Object.entries(figures)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
  console.log(`[faults] ${scenario}: ${line}`);
  let all: Record<string, unknown> = {};
  try {
    all = JSON.parse(readFileSync(resultsFile, "utf8")) as Record<string, unknown>;
  } catch {
    // first run
  }
  all[scenario] = { ...figures, mode: LONG ? "long" : "ci", at: new Date().toISOString() };
  mkdirSync(dirname(resultsFile), { recursive: true });
  writeFileSync(resultsFile, `${JSON.stringify(all, null, 2)}\n`);
}
