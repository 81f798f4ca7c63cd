/** Cell placement: sticky, cellSize per cell up to maxCells, then cells grow; cordoned pipelines alone. */
import type { DesiredPipeline } from "@weir/core";
import { describe, expect, it } from "vitest";
import { Placement } from "./placement.ts";

const pipes = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => ({ id: `p${from + i}`, revision: 1 }) as DesiredPipeline);
const sizes = (m: Map<string, DesiredPipeline[]>) => [...m.values()].map((ps) => ps.length);

describe("cell placement", () => {
  it("fills cells of cellSize until maxCells, then grows them instead of adding processes", () => {
    const pl = new Placement(8, 4);
    expect(sizes(pl.assign(pipes(20)))).toEqual([8, 8, 4]);
    const many = pl.assign(pipes(333));
    expect(many.size).toBe(4);
    expect(Math.max(...sizes(many))).toBe(84);
    // Sticky: the first 20 stayed where they were.
    for (let i = 0; i < 20; i++)
      expect(pl.cellOf(`p${i}`)).toBe(i < 8 ? "cell-0" : i < 16 ? "cell-1" : "cell-2");
  });

  it("gives a cordoned pipeline a cell of its own outside the cap", () => {
    const pl = new Placement(8, 2);
    pl.cordon("p3", 1);
    const m = pl.assign(pipes(40));
    expect(m.get("cordon-p3")?.map((p) => p.id)).toEqual(["p3"]);
    expect([...m.keys()].filter((c) => !c.startsWith("cordon-"))).toHaveLength(2);
  });
});
