/**
 * Which cell runs which pipeline. Placement is sticky (a pipeline stays in its cell while it
 * exists) so adding or removing one pipeline never restarts its neighbours; new pipelines fill the
 * first cell with room. A cell holds `cellSize` pipelines, more when the worker has more than
 * `cellSize x maxCells` of them (then ceil(pipelines / maxCells)): a process per few pipelines
 * contains faults best, a bounded number of processes keeps a thousand idle pipelines cheap. A
 * cordoned pipeline gets a cell of its own until its revision changes.
 */
import type { DesiredPipeline } from "@weir/core";

export const CORDON_PREFIX = "cordon-";

export class Placement {
  private readonly where = new Map<string, string>();
  /** Cordoned pipelines and the revision they were cordoned at. */
  readonly cordoned = new Map<string, number>();
  private readonly cellSize: number;
  private readonly maxCells: number;
  constructor(cellSize: number, maxCells = Number.POSITIVE_INFINITY) {
    this.cellSize = cellSize;
    this.maxCells = maxCells;
  }

  cordon(pipeline: string, revision: number): void {
    this.cordoned.set(pipeline, revision);
  }

  /** Cell id -> its pipelines, for the desired pipelines given. */
  assign(pipelines: readonly DesiredPipeline[]): Map<string, DesiredPipeline[]> {
    const ids = new Set(pipelines.map((p) => p.id));
    for (const id of [...this.where.keys()]) if (!ids.has(id)) this.where.delete(id);
    for (const [id, rev] of [...this.cordoned]) {
      // Un-cordon rule: a new revision (new handler, spec change, pause/resume) gets a fresh chance.
      const p = pipelines.find((x) => x.id === id);
      if (!p || p.revision !== rev) this.cordoned.delete(id);
    }
    const load = new Map<string, number>();
    const out = new Map<string, DesiredPipeline[]>();
    const shared = pipelines.filter((p) => !this.cordoned.has(p.id)).length;
    const capacity = Math.max(this.cellSize, Math.ceil(shared / this.maxCells));
    const put = (cell: string, p: DesiredPipeline) => {
      this.where.set(p.id, cell);
      load.set(cell, (load.get(cell) ?? 0) + 1);
      out.set(cell, [...(out.get(cell) ?? []), p]);
    };
    const rest: DesiredPipeline[] = [];
    for (const p of pipelines) {
      if (this.cordoned.has(p.id)) put(`${CORDON_PREFIX}${p.id}`, p);
      else {
        const cell = this.where.get(p.id);
        if (cell && !cell.startsWith(CORDON_PREFIX) && (load.get(cell) ?? 0) < capacity) put(cell, p);
        else rest.push(p);
      }
    }
    for (const p of rest) {
      let n = 0;
      while ((load.get(`cell-${n}`) ?? 0) >= capacity) n++;
      put(`cell-${n}`, p);
    }
    return out;
  }

  cellOf(pipeline: string): string | undefined {
    return this.where.get(pipeline);
  }
}
