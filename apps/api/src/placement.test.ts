/**
 * Placement: the rendezvous rule (balance, minimal movement) and the API placing pipelines on live
 * workers that poll desired state with their id: each worker gets only its pipelines, a worker that
 * stops heartbeating loses them to the others, a joining one takes a share without other moves,
 * replicas follow the spec or the reported partitions, and status tells the truth when no worker is left.
 */
import type { DesiredStateResponse } from "@weir/core";
import { waitFor } from "@weir/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rendezvous, replicasFor } from "./placement.ts";
import { ADMIN, type Harness, seedSpec, startApi } from "./test-helpers.ts";

describe("rendezvous rule", () => {
  const ids = Array.from({ length: 3000 }, (_, i) => `pl_${i.toString(16).padStart(8, "0")}`);
  const place = (workers: string[]) => new Map(ids.map((id) => [id, rendezvous(id, workers, 1)[0]!]));

  it("spreads pipelines evenly and moves only what a join or a leave must", () => {
    const three = place(["w1", "w2", "w3"]);
    const counts = ["w1", "w2", "w3"].map((w) => [...three.values()].filter((x) => x === w).length);
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(120);

    // A fourth worker: only pipelines that now rank it first move, all to it, about a quarter.
    const four = place(["w1", "w2", "w3", "w4"]);
    const moved = ids.filter((id) => three.get(id) !== four.get(id));
    expect(moved.every((id) => four.get(id) === "w4")).toBe(true);
    expect(moved.length / ids.length).toBeGreaterThan(0.2);
    expect(moved.length / ids.length).toBeLessThan(0.3);

    // w2 leaves: only its pipelines move.
    const two = place(["w1", "w3"]);
    const movedOff = ids.filter((id) => three.get(id) !== two.get(id));
    expect(movedOff.every((id) => three.get(id) === "w2")).toBe(true);
    expect(movedOff.length).toBe(counts[1]);
  });

  it("adds workers without moving any when replicas grow, and caps replicas at the live workers", () => {
    for (const id of ids.slice(0, 200)) {
      const one = rendezvous(id, ["a", "b", "c", "d"], 1);
      const three = rendezvous(id, ["a", "b", "c", "d"], 3);
      expect(three[0]).toBe(one[0]);
    }
    expect(replicasFor(null, null, 3)).toBe(1);
    expect(replicasFor(null, 6, 3)).toBe(3);
    expect(replicasFor(null, 2, 3)).toBe(2);
    expect(replicasFor(5, 1, 3)).toBe(3);
    expect(replicasFor(null, 4, 0)).toBe(0);
  });
});

describe("placement through the API", () => {
  let h: Harness;
  /** Fake workers that heartbeat every 200 ms (real workers poll every second). */
  const beating = new Set<string>();
  let beat: NodeJS.Timeout;
  beforeAll(async () => {
    h = await startApi(undefined, { WEIR_PLACEMENT_DEAD_MS: 1500, WEIR_PLACEMENT_TICK_MS: 100 });
    beat = setInterval(() => {
      for (const w of beating) void h.worker.heartbeat(w).catch(() => {});
    }, 200);
  });
  afterAll(async () => {
    clearInterval(beat);
    await h.close();
  });

  const etags = new Map<string, string>();
  /** One poll of worker `id`: the ids of the pipelines it is given. */
  async function poll(id: string): Promise<string[]> {
    beating.add(id);
    const r: DesiredStateResponse = await h.worker.desiredState(undefined, undefined, {
      workerId: id,
      ...(etags.has(id) ? { etag: etags.get(id)! } : {}),
    });
    if (r.etag) etags.set(id, r.etag);
    if (!r.changed) return [...(last.get(id) ?? [])];
    const got = r.pipelines.map((p) => p.id).sort();
    last.set(id, got);
    return got;
  }
  const last = new Map<string, string[]>();

  it("places each pipeline on one live worker, moves a silent worker's share and gives a joiner a share", async () => {
    const status0 = await h.admin.createPipeline(seedSpec("placement-orphan"));
    expect(status0.status).toMatchObject({
      state: "stalled",
      last_error: { code: "NO_WORKERS" },
      placement: { workers: [], pool: "default", replicas: "auto" },
    });

    for (const w of ["w1", "w2", "w3"]) await poll(w);
    const ids = [status0.id];
    for (let i = 0; i < 29; i++) ids.push((await h.admin.createPipeline(seedSpec(`placement-${i}`))).id);
    const owner = async () => {
      const got = new Map<string, string[]>();
      for (const w of ["w1", "w2", "w3", "w4"]) if (beating.has(w)) got.set(w, await poll(w));
      const of = new Map<string, string[]>();
      for (const [w, list] of got) for (const id of list) of.set(id, [...(of.get(id) ?? []), w]);
      return of;
    };
    const before = await owner();
    // Every pipeline on exactly one worker; every worker got some.
    expect(ids.every((id) => before.get(id)?.length === 1)).toBe(true);
    for (const w of ["w1", "w2", "w3"]) expect(last.get(w)!.length).toBeGreaterThan(0);
    const st = await h.admin.getPipelineStatus(status0.id);
    expect(st.state).not.toBe("stalled");
    expect(st.placement!.workers.map((w) => w.worker_id)).toEqual(before.get(status0.id));
    // The orphan went to the first worker that came, then followed the joiners; later pipelines were placed once.
    expect(st.placement!.history.at(-1)!.reason).toBe("placed on w1");
    const later = await h.admin.getPipelineStatus(ids[1]!);
    expect(later.placement!.history.map((x) => x.reason)).toEqual([`placed on ${before.get(ids[1]!)![0]}`]);

    // A worker that polls for nothing else still gets no change: the etag holds.
    const again = await h.worker.desiredState(undefined, undefined, {
      workerId: "w1",
      etag: etags.get("w1")!,
    });
    expect(again.changed).toBe(false);

    // w3 goes silent: after the dead window its pipelines move to w1/w2, nothing else moves.
    const w3had = last.get("w3")!;
    beating.delete("w3");
    await waitFor(
      async () => {
        const ws = (await h.admin.listWorkers()).items;
        return (
          ws.find((w) => w.id === "w3")?.live === false && ws.find((w) => w.id === "w3")?.pipelines === 0
        );
      },
      { what: "w3's pipelines moved", timeoutMs: 10_000 },
    );
    last.delete("w3");
    const after = await owner();
    for (const id of ids) {
      expect(after.get(id)?.length).toBe(1);
      if (!w3had.includes(id)) expect(after.get(id)).toEqual(before.get(id));
    }
    const moved = await h.admin.getPipelineStatus(w3had[0]!);
    expect(moved.placement!.history[0]!.reason).toContain("w3 stopped heartbeating");

    // w4 joins: pipelines that move, move to w4 only.
    await poll("w4");
    const joined = await owner();
    const movedToW4 = ids.filter((id) => joined.get(id)![0] !== after.get(id)![0]);
    expect(movedToW4.length).toBeGreaterThan(0);
    expect(movedToW4.every((id) => joined.get(id)![0] === "w4")).toBe(true);
    const j = await h.admin.getPipelineStatus(movedToW4[0]!);
    expect(j.placement!.history[0]!.reason).toContain("w4 joined the pool");

    // w4 leaves (SIGTERM): its pipelines move at once, not after the dead window.
    beating.delete("w4");
    await h.worker.leave("w4");
    const ws = (await h.admin.listWorkers()).items;
    expect(ws.find((w) => w.id === "w4")).toMatchObject({ live: false, pipelines: 0 });
    const left = await h.admin.getPipelineStatus(movedToW4[0]!);
    expect(left.placement!.history[0]!.reason).toContain("w4 left");
    expect(left.placement!.workers.map((w) => w.worker_id)).toEqual([after.get(movedToW4[0]!)![0]]);
  });

  it("runs `replicas` workers when set, or as many as the reported partitions allow", async () => {
    for (const w of ["r1", "r2", "r3"]) await poll(w);
    const fixed = await h.admin.createPipeline(seedSpec("placement-fixed", { replicas: 2 }));
    expect(fixed.status.placement!.workers).toHaveLength(2);
    expect(fixed.status.placement!.replicas).toBe(2);

    const auto = await h.admin.createPipeline(seedSpec("placement-auto"));
    expect(auto.status.placement!.workers).toHaveLength(1);
    const w = auto.status.placement!.workers[0]!.worker_id;
    await h.worker.sendStatus({
      worker_id: w,
      started_at: Date.now(),
      pipelines: [
        {
          pipeline_id: auto.id,
          revision: auto.revision,
          state: "running",
          last_error: null,
          counters: { messages_in: 0, rows_out: 0, dropped: 0, failed: 0, dlq: 0, retries: 0 },
          lag: [],
          handler_version: null,
          partitions: 6,
        },
      ],
    });
    const grown = await h.admin.getPipelineStatus(auto.id);
    const live = (await h.admin.listWorkers()).items.filter((x) => x.live).length;
    expect(grown.placement!.partitions).toBe(6);
    expect(grown.placement!.workers.length).toBe(Math.min(6, live));
    expect(grown.placement!.workers.map((x) => x.worker_id)).toContain(w); // the first one stays
    expect(grown.placement!.history[0]!.reason).toMatch(/replicas 1 -> \d/);
  });

  it("refuses bad replicas with the field named, and hides the worker list from project tokens", async () => {
    await expect(h.admin.createPipeline(seedSpec("placement-bad", { replicas: 0 }))).rejects.toMatchObject({
      code: "VALIDATION",
      message: expect.stringContaining("/replicas"),
      details: expect.objectContaining({ status: 400 }),
    });
    await expect(
      h.admin.createPipeline(seedSpec("placement-bad", { replicas: "many" })),
    ).rejects.toMatchObject({
      details: expect.objectContaining({ status: 400 }),
    });
    const t = await h
      .client(ADMIN)
      .createToken({ name: "viewer", kind: "project", role: "viewer", project: "default" });
    await expect(h.client(t.token).listWorkers()).rejects.toMatchObject({
      details: expect.objectContaining({ status: 403 }),
    });
  });
});
