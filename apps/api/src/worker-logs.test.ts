/** Worker interface (desired state, status, heartbeats, log batches) and the logs API with its live tail. */
import type { LogRecord, PipelineReport } from "@weir/core";
import { waitFor } from "@weir/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, GOOD_HANDLER, type Harness, seedSpec, startApi } from "./test-helpers.ts";

let h: Harness;
beforeAll(async () => {
  h = await startApi(undefined, { WEIR_WORKER_STALE_MS: 1000, WEIR_LOG_RETENTION_LINES: 50 });
});
afterAll(() => h.close());

const counters = (n: number) => ({
  messages_in: n,
  rows_out: 2 * n,
  dropped: 0,
  failed: 0,
  dlq: 0,
  retries: 0,
});

function report(id: string, revision: number, over: Partial<PipelineReport> = {}): PipelineReport {
  return {
    pipeline_id: id,
    revision,
    state: "running",
    last_error: null,
    counters: counters(10),
    lag: [{ topic: "otel-traces-raw", partition: 0, committed: "5", high_watermark: "7", lag: 2 }],
    handler_version: "1",
    ...over,
  };
}

describe("worker interface", () => {
  it("serves desired state with only-changed semantics and compiled handlers", async () => {
    const first = await h.worker.desiredState();
    if (!first.changed) throw new Error("expected full state");
    expect(await h.worker.desiredState(first.revision)).toEqual({
      changed: false,
      revision: first.revision,
      egress: { allow: [], deny: [] },
    });
    const p = await h.admin.createPipeline(seedSpec("desired"));
    const s1 = await h.worker.desiredState(first.revision);
    if (!s1.changed) throw new Error("expected a change");
    expect(s1.revision).toBeGreaterThan(first.revision);
    expect(s1.pipelines.find((x) => x.id === p.id)).toMatchObject({
      desired: "running",
      handler: null,
      revision: p.revision,
    });
    await h.admin.uploadHandler(p.id, GOOD_HANDLER);
    await h.admin.pausePipeline(p.id);
    const s2 = await h.worker.desiredState(s1.revision);
    if (!s2.changed) throw new Error("expected a change");
    const dp = s2.pipelines.find((x) => x.id === p.id);
    expect(dp).toMatchObject({ desired: "paused", handler: { version: 1, sha256: expect.any(String) } });
    expect(dp?.handler?.code).toContain("__weir_define");
    await h.admin.deletePipeline(p.id);
    const s3 = await h.worker.desiredState(s2.revision);
    if (!s3.changed) throw new Error("expected a change");
    expect(s3.pipelines.find((x) => x.id === p.id)).toBeUndefined();
  });

  it("derives state from reports: deploying, running, failing, paused, and stale workers stop counting", async () => {
    const p = await h.admin.createPipeline(seedSpec("status"));
    expect((await h.admin.getPipelineStatus(p.id)).state).toBe("stalled"); // no worker yet: NO_WORKERS
    const startedAt = Date.now();
    await h.worker.sendStatus({
      worker_id: "w-a",
      started_at: startedAt,
      pipelines: [report(p.id, p.revision - 1)],
    });
    expect((await h.admin.getPipelineStatus(p.id)).state).toBe("deploying"); // old revision
    await h.worker.sendStatus({
      worker_id: "w-a",
      started_at: startedAt,
      pipelines: [report(p.id, p.revision)],
    });
    await h.worker.sendStatus({
      worker_id: "w-b",
      started_at: startedAt,
      pipelines: [
        report(p.id, p.revision, {
          lag: [{ topic: "otel-traces-raw", partition: 1, committed: null, high_watermark: "3", lag: 3 }],
        }),
      ],
    });
    const running = await h.admin.getPipelineStatus(p.id);
    expect(running.state).toBe("running");
    expect(running.counters).toEqual(counters(20));
    expect(running.lag.map((l) => [l.partition, l.lag])).toEqual([
      [0, 2],
      [1, 3],
    ]);
    expect(running.workers.map((w) => w.worker_id).sort()).toEqual(["w-a", "w-b"]);

    await h.worker.sendStatus({
      worker_id: "w-b",
      started_at: startedAt,
      pipelines: [
        report(p.id, p.revision, {
          state: "failing",
          last_error: { name: "WeirError", message: "sink down", code: "SINK_RETRYABLE", retryable: true },
        }),
      ],
    });
    const failing = await h.admin.getPipeline(p.id);
    expect(failing.status).toMatchObject({
      state: "failing",
      last_error: { code: "SINK_RETRYABLE", message: "sink down" },
    });

    // w-b goes quiet; w-a keeps heartbeating. After the stale window only w-a counts.
    await new Promise((r) => setTimeout(r, 1100));
    await h.worker.heartbeat("w-a");
    const after = await h.admin.getPipelineStatus(p.id);
    expect(after.state).toBe("running");
    expect(after.workers.map((w) => w.worker_id)).toEqual(["w-a"]);
    expect(after.counters.messages_in).toBe(10);

    const paused = await h.admin.pausePipeline(p.id);
    expect(paused.status.state).toBe("paused");
    const resumed = await h.admin.resumePipeline(p.id);
    expect(resumed.status.state).toBe("deploying"); // new revision not reported yet
  });
});

describe("logs", () => {
  it("stores batches, filters by level and time, pages newest first with a cursor, and prunes by count", async () => {
    const p = await h.admin.createPipeline(seedSpec("logs"));
    const t0 = Date.now() - 10_000;
    const levels = ["debug", "info", "warn", "error"] as const;
    const records: LogRecord[] = Array.from({ length: 40 }, (_, i) => ({
      time: t0 + i,
      level: levels[i % 4]!,
      message: `line ${i}`,
      source: "handler",
      topic: "otel-traces-raw",
      partition: 0,
      offset: String(100 + i),
      fields: { i },
    }));
    expect(await h.worker.sendLogs({ worker_id: "w1", pipeline_id: p.id, records, dropped: 0 })).toEqual({
      accepted: 40,
    });
    const newest = await h.admin.getLogs(p.id, { limit: 5 });
    expect(newest.items.map((l) => l.message)).toEqual([
      "line 39",
      "line 38",
      "line 37",
      "line 36",
      "line 35",
    ]);
    expect(newest.items[0]).toMatchObject({
      level: "error",
      topic: "otel-traces-raw",
      partition: 0,
      offset: "139",
      fields: { i: 39 },
      worker_id: "w1",
    });
    const next = await h.admin.getLogs(p.id, { limit: 5, cursor: newest.next_cursor ?? "" });
    expect(next.items[0]?.message).toBe("line 34");
    const errors = await h.admin.getLogs(p.id, { level: "warn", limit: 100 });
    expect(errors.items).toHaveLength(20);
    expect(errors.items.every((l) => l.level === "warn" || l.level === "error")).toBe(true);
    const window = await h.admin.getLogs(p.id, { since: t0 + 10, until: new Date(t0 + 19), limit: 100 });
    expect(window.items.map((l) => l.message)).toEqual(
      Array.from({ length: 10 }, (_, i) => `line ${19 - i}`),
    );

    // Retention: 50 lines per pipeline; plus a "dropped" notice for lines the worker dropped.
    await h.worker.sendLogs({
      worker_id: "w1",
      pipeline_id: p.id,
      records: records.map((r) => ({ ...r, time: r.time + 1000 })),
      dropped: 7,
    });
    const all = await h.admin.getLogs(p.id, { limit: 1000 });
    expect(all.items).toHaveLength(50);
    expect(all.items.some((l) => l.message === "7 log lines dropped (rate limit or buffer full)")).toBe(true);
  });

  it("streams new lines over server-sent events, filtered by level", async () => {
    const p = await h.admin.createPipeline(seedSpec("tail"));
    const controller = new AbortController();
    const got: string[] = [];
    const reading = (async () => {
      for await (const line of h.admin.tailLogs(p.id, { level: "info", signal: controller.signal })) {
        got.push(`${line.level}:${line.message}`);
        if (got.length === 2) controller.abort();
      }
    })();
    await new Promise((r) => setTimeout(r, 200));
    const now = Date.now();
    await h.worker.sendLogs({
      worker_id: "w1",
      pipeline_id: p.id,
      dropped: 0,
      records: [
        { time: now, level: "debug", message: "hidden", source: "handler" },
        { time: now, level: "info", message: "first", source: "handler" },
        { time: now, level: "error", message: "second", source: "worker" },
      ],
    });
    await waitFor(() => got.length >= 2, { timeoutMs: 5000, what: "tail lines" });
    await reading;
    expect(got).toEqual(["info:first", "error:second"]);
  });

  it("resumes a tail after the last line seen: stored lines first, oldest first, then live, no repeat", async () => {
    const p = await h.admin.createPipeline(seedSpec("tail-resume"));
    const t0 = Date.now();
    const line = (i: number, level: LogRecord["level"] = "info") => ({
      // Times deliberately out of insertion order: a resume follows ids, not timestamps.
      time: t0 - i * 10,
      level,
      message: `line ${i}`,
      source: "handler" as const,
    });
    await h.worker.sendLogs({
      worker_id: "w1",
      pipeline_id: p.id,
      dropped: 0,
      records: [line(0), line(1), line(2, "debug"), line(3), line(4)],
    });
    const stored = (await h.admin.getLogs(p.id, { limit: 100 })).items;
    const byMessage = new Map(stored.map((l) => [l.message, l.id]));
    const afterId = byMessage.get("line 1")!;

    const controller = new AbortController();
    const got: string[] = [];
    const reading = (async () => {
      for await (const l of h.admin.tailLogs(p.id, { level: "info", afterId, signal: controller.signal })) {
        got.push(l.message);
        if (got.length === 3) controller.abort();
      }
    })();
    // The backfill (line 3, line 4; line 2 is below the level) arrives before anything live.
    await waitFor(() => got.length >= 2, { timeoutMs: 5000, what: "the backfilled lines" });
    await h.worker.sendLogs({ worker_id: "w1", pipeline_id: p.id, dropped: 0, records: [line(5)] });
    await waitFor(() => got.length >= 3, { timeoutMs: 5000, what: "the live line" });
    await reading;
    expect(got).toEqual(["line 3", "line 4", "line 5"]);

    // EventSource's reconnect header, with the event id the tail sent (`<time>-<id>`).
    const res = await fetch(`${h.url}/v1/pipelines/${p.id}/logs/tail`, {
      headers: { authorization: `Bearer ${ADMIN}`, "last-event-id": `${t0 - 30}-${byMessage.get("line 3")}` },
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let text = "";
    while (!text.includes("line 5")) text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    const messages = [...text.matchAll(/"message":"([^"]+)"/g)].map((m) => m[1]);
    expect(messages).toEqual(["line 4", "line 5"]);
  });

  it("refuses a malformed Last-Event-ID with 400 naming the header", async () => {
    const p = await h.admin.createPipeline(seedSpec("tail-bad-id"));
    const res = await fetch(`${h.url}/v1/pipelines/${p.id}/logs/tail`, {
      headers: { authorization: `Bearer ${ADMIN}`, "last-event-id": "yesterday" },
    });
    expect(res.status).toBe(400);
    expect(JSON.stringify(await res.json())).toContain("last-event-id");
  });

  it("keeps the API responsive under a flood of log lines", async () => {
    const p = await h.admin.createPipeline(seedSpec("flood"));
    const batch = Array.from({ length: 5000 }, (_, i) => ({
      time: Date.now(),
      level: "info" as const,
      message: `m${i}`,
      source: "handler" as const,
    }));
    const started = Date.now();
    await Promise.all(
      Array.from({ length: 4 }, () =>
        h.worker.sendLogs({ worker_id: "w1", pipeline_id: p.id, records: batch, dropped: 0 }),
      ),
    );
    const t = Date.now();
    await h.anon.health();
    expect(Date.now() - t).toBeLessThan(1000);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect((await h.admin.getLogs(p.id, { limit: 1000 })).items).toHaveLength(50);
  });
});
