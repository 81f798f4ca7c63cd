/**
 * cgroup v2 placement of cells, where the machine allows it: a child group per cell under the
 * worker's own group with cpu.weight (cordoned cells get less) and memory.max. Probed once at
 * start; when it is not possible the reason is logged once and shown on /healthz.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = "/sys/fs/cgroup";

export interface CgroupSupport {
  enabled: boolean;
  /** Where cell groups are made, when enabled. */
  base?: string;
  /** Why not, when disabled. */
  reason?: string;
}

/** Can this process make child cgroups with cpu and memory controllers? */
export function probeCgroup(): CgroupSupport {
  try {
    if (!existsSync(join(ROOT, "cgroup.controllers"))) {
      return { enabled: false, reason: `${ROOT} is not a cgroup v2 hierarchy (cgroup v1 or none)` };
    }
    const line = readFileSync("/proc/self/cgroup", "utf8")
      .split("\n")
      .find((l) => l.startsWith("0::"));
    const own = join(ROOT, line?.slice(3) ?? "/");
    const controllers = readFileSync(join(own, "cgroup.controllers"), "utf8");
    if (!/\bcpu\b/.test(controllers) || !/\bmemory\b/.test(controllers)) {
      return { enabled: false, reason: `cpu and memory controllers not delegated to ${own}` };
    }
    // A group with processes cannot enable controllers for children ("no internal processes"):
    // cells go in a sibling subtree made for them.
    const base = join(own, `weir-cells-${process.pid}`);
    mkdirSync(base, { recursive: true });
    writeFileSync(join(base, "cgroup.subtree_control"), "+cpu +memory");
    return { enabled: true, base };
  } catch (err) {
    return { enabled: false, reason: `cgroup v2 not writable: ${(err as Error).message}` };
  }
}

/** Put a cell's process into its own group; returns what was applied, or null if it failed. */
export function placeCell(
  support: CgroupSupport,
  cellId: string,
  pid: number,
  cpuWeight: number,
  memoryMaxBytes: number,
): string | null {
  if (!support.enabled || !support.base) return null;
  try {
    const dir = join(support.base, cellId);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "cpu.weight"), String(cpuWeight));
    writeFileSync(join(dir, "memory.max"), String(memoryMaxBytes));
    writeFileSync(join(dir, "cgroup.procs"), String(pid));
    return `cpu.weight=${cpuWeight} memory.max=${memoryMaxBytes}`;
  } catch {
    return null;
  }
}

/** Remove a dead cell's group (best effort; the kernel refuses while processes remain). */
export function removeCellGroup(support: CgroupSupport, cellId: string): void {
  if (!support.enabled || !support.base) return;
  try {
    rmdirSync(join(support.base, cellId));
  } catch {
    // still populated or already gone
  }
}
