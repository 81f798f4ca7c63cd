/**
 * What Weir's process model costs: the same pipeline run in-process (the "weir" child: the runner in
 * the measured process) and through the worker's supervisor and a cell process (the "weir-cell"
 * child), in pairs whose order alternates, compared per pair and over all pairs (one run of each is
 * at the mercy of a shared VM's speed, which moves by more than the 5% looked for from run to run).
 */
import type { ConsumerFigures, ProcessModelFigures } from "./measure.ts";
import { round } from "./measure.ts";

export type InProcessRun = ConsumerFigures & { verifiedRows: number };
export type SupervisedRun = ConsumerFigures & { verifiedRows: number; processModel: ProcessModelFigures };

export interface ProcessModelPair {
  order: "in-process first" | "supervised first";
  inProcess: InProcessRun;
  supervised: SupervisedRun;
  /** Supervised / in-process: CPU per row over the whole run (start-up included, the cell's boot too). */
  cpuPerRow: number;
  /** Supervised / in-process: CPU per row between the 10% and 90% marks (steady state). */
  cpuPerRowSustained: number | null;
  /** Supervised / in-process: sustained rows/s. */
  throughput: number;
}

export interface ProcessModelResults {
  pairs: ProcessModelPair[];
  /**
   * Over all pairs: the mean of the supervised runs' figure over the mean of the in-process runs'.
   * With an even number of pairs each kind runs first and second equally often and at the same mean
   * position, so an effect of the order and a steady drift of the box's speed cancel out.
   */
  overall: { cpuPerRow: number; cpuPerRowSustained: number | null; throughput: number };
  /** Lowest and highest per-pair ratio of sustained CPU per row (null when a run lacked the marks). */
  sustainedRange: [number, number] | null;
  /**
   * The supervisor's own CPU over its wall time, mean of the supervised runs: a fixed cost per
   * worker (desired-state polls, status reports, the watchdog, receiving the cells' reports),
   * whatever the rows.
   */
  supervisorCores: number;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export function processModelResults(pairs: ProcessModelPair[]): ProcessModelResults {
  const ratioOfMeans = (f: (r: InProcessRun | SupervisedRun) => number) =>
    round(mean(pairs.map((p) => f(p.supervised))) / mean(pairs.map((p) => f(p.inProcess))), 3);
  const sustained = pairs.map((p) => p.cpuPerRowSustained);
  const complete = sustained.every((x) => x !== null);
  return {
    pairs,
    overall: {
      cpuPerRow: ratioOfMeans((r) => r.cpuSecondsPerMillionRows),
      cpuPerRowSustained: complete ? ratioOfMeans((r) => r.cpuSecondsPerMillionRowsSustained ?? 0) : null,
      throughput: ratioOfMeans((r) => r.rowsPerSec),
    },
    sustainedRange: complete
      ? [Math.min(...(sustained as number[])), Math.max(...(sustained as number[]))]
      : null,
    supervisorCores: round(
      mean(pairs.map((p) => p.supervised.processModel.supervisorCpuSeconds / p.supervised.wallSeconds)),
      3,
    ),
  };
}

export function pair(
  order: ProcessModelPair["order"],
  inProcess: InProcessRun,
  supervised: SupervisedRun,
): ProcessModelPair {
  const a = inProcess.cpuSecondsPerMillionRowsSustained;
  const b = supervised.cpuSecondsPerMillionRowsSustained;
  return {
    order,
    inProcess,
    supervised,
    cpuPerRow: round(supervised.cpuSecondsPerMillionRows / inProcess.cpuSecondsPerMillionRows, 3),
    cpuPerRowSustained: a && b ? round(b / a, 3) : null,
    throughput: round(supervised.rowsPerSec / inProcess.rowsPerSec, 3),
  };
}
