/** Small helpers shared by the views. */
import { useEffect, useRef } from "preact/hooks";
import type { PipelineView } from "./api.ts";

/** Run `fn` now and every `ms` while mounted (the latest `fn`, not the first). */
export function usePoll(fn: () => void | Promise<void>, ms: number, deps: unknown[] = []): void {
  const ref = useRef(fn);
  ref.current = fn;
  useEffect(() => {
    let alive = true;
    let timer: ReturnType<typeof setTimeout>;
    const tick = async () => {
      try {
        await ref.current();
      } finally {
        if (alive) timer = setTimeout(tick, ms);
      }
    };
    void tick();
    return () => {
      alive = false;
      clearTimeout(timer);
    };
  }, deps);
}

export function fmt(n: number): string {
  if (!Number.isFinite(n)) return "-";
  if (Math.abs(n) >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (Math.abs(n) >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

export function time(ms: number): string {
  return new Date(ms).toLocaleTimeString();
}

export function totalLag(p: PipelineView): number {
  return p.status.lag.reduce((n, l) => n + l.lag, 0);
}

/** The reason shown next to a failing or stalled state. */
export function stateReason(p: Pick<PipelineView, "status">): string | null {
  const s = p.status;
  if ((s.state === "failing" || s.state === "stalled") && s.last_error)
    return `${s.last_error.code}: ${s.last_error.message}`;
  return null;
}

export function StateBadge({ state }: { state: string }) {
  return <span class={`state state-${state}`}>{state}</span>;
}
