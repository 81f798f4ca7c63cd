/**
 * The rolling report history (history.ts), its route, and the console's static files
 * (routes/console.ts): sums over workers per time bucket, bounds, access like the pipeline's status.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Counters, PartitionLag } from "@weir/core";
import Fastify from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type HistoryPoint, type ReportedPipeline, ReportHistory, recordReport } from "./history.ts";
import { consoleRoutes } from "./routes/console.ts";
import { ADMIN, type Harness, seedSpec, startApi } from "./test-helpers.ts";

const counters = (n: number, extra: Partial<Counters> = {}): Counters => ({
  messages_in: n,
  rows_out: n,
  dropped: 0,
  failed: 0,
  dlq: 0,
  retries: 0,
  ...extra,
});
const lag = (topic: string, partition: number, n: number): PartitionLag => ({
  topic,
  partition,
  committed: "0",
  high_watermark: String(n),
  lag: n,
});
const report = (id: string, c: Counters, l: PartitionLag[] = []): ReportedPipeline => ({
  pipeline_id: id,
  counters: c,
  lag: l,
});

describe("ReportHistory", () => {
  const T0 = 1_700_000_000_000; // a multiple of 5 s

  it("sums the latest report of each live worker into the point of the current bucket", () => {
    const h = new ReportHistory({ bucketMs: 5000, staleMs: 10_000 });
    h.record("w1", [report("p", counters(10), [lag("t", 0, 5)])], T0);
    h.record("w2", [report("p", counters(20, { dlq: 2 }), [lag("t", 1, 7)])], T0 + 1000);
    // Same bucket: one point, both workers.
    expect(h.points("p", 0, T0 + 1000)).toEqual<HistoryPoint[]>([
      {
        t: T0,
        workers: 2,
        messages_in: 30,
        rows_out: 30,
        dropped: 0,
        failed: 0,
        dlq: 2,
        retries: 0,
        lag: 12,
      },
    ]);
    // Next bucket: w1 moved on; w2's latest still counts.
    h.record("w1", [report("p", counters(15), [lag("t", 0, 1)])], T0 + 6000);
    const pts = h.points("p", 0, T0 + 6000);
    expect(pts.map((p) => [p.t, p.messages_in, p.lag])).toEqual([
      [T0, 30, 12],
      [T0 + 5000, 35, 8],
    ]);
    // w2 silent past the stale window: it no longer counts.
    h.record("w1", [report("p", counters(16), [lag("t", 0, 0)])], T0 + 12_000);
    expect(h.points("p", 0, T0 + 12_000).at(-1)).toMatchObject({ workers: 1, messages_in: 16, lag: 0 });
  });

  it("counts a partition reported by two workers once, the newer report winning", () => {
    const h = new ReportHistory({ bucketMs: 5000, staleMs: 10_000 });
    h.record("old-owner", [report("p", counters(1), [lag("t", 0, 100)])], T0);
    h.record("new-owner", [report("p", counters(1), [lag("t", 0, 40), lag("t", 1, 3)])], T0 + 500);
    expect(h.points("p", 0, T0 + 500).at(-1)?.lag).toBe(43);
  });

  it("is bounded in points per pipeline, in age and in pipelines", () => {
    const h = new ReportHistory({
      bucketMs: 1000,
      maxPoints: 5,
      maxAgeMs: 60_000,
      maxPipelines: 3,
      staleMs: 1e9,
    });
    for (let i = 0; i < 20; i++) h.record("w", [report("p", counters(i))], T0 + i * 1000);
    const pts = h.points("p", 0, T0 + 19_000);
    expect(pts.map((p) => p.messages_in)).toEqual([15, 16, 17, 18, 19]);
    // Older than maxAgeMs: gone from the answer at once, and from memory on the next report.
    expect(h.points("p", 0, T0 + 77_000).map((p) => p.messages_in)).toEqual([17, 18, 19]);
    h.record("w", [report("p", counters(99))], T0 + 200_000);
    expect(h.points("p", 0, T0 + 200_000).map((p) => p.messages_in)).toEqual([99]);
    // Four pipelines into room for three: the one updated longest ago goes.
    for (const id of ["a", "b", "c"]) h.record("w", [report(id, counters(1))], T0 + 201_000);
    expect(h.size).toBe(3);
    expect(h.points("p", 0, T0 + 201_000)).toEqual([]);
    h.record("w", [report("a", counters(2))], T0 + 202_000);
    h.record("w", [report("d", counters(1))], T0 + 202_000);
    expect(["a", "b", "c", "d"].filter((id) => h.points(id, 0, T0 + 202_000).length > 0)).toEqual([
      "a",
      "c",
      "d",
    ]);
    // since= narrows the answer.
    expect(h.points("a", T0 + 202_000, T0 + 202_000).map((p) => p.messages_in)).toEqual([2]);
  });
});

describe("GET /v1/pipelines/:id/history", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startApi();
  });
  afterAll(async () => {
    await h.close();
  });

  const get = async (path: string, token: string) => {
    const res = await fetch(`${h.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };

  it("answers the recorded points with the bounds, to whoever may read the pipeline's status", async () => {
    const a = await h.admin.createPipeline(seedSpec("hist-a"));
    const b = await h.admin.createPipeline(seedSpec("hist-b"));
    const now = Date.now();
    recordReport(h.app.weir.history, "w1", [report(a.id, counters(5), [lag("t", 0, 9)])], now - 6000);
    recordReport(h.app.weir.history, "w1", [report(a.id, counters(8), [lag("t", 0, 4)])], now);

    const r = await get(`/v1/pipelines/${a.id}/history`, ADMIN);
    expect(r.status).toBe(200);
    expect(r.json.bucket_ms).toBe(5000);
    expect(r.json.max_age_ms).toBe(3_600_000);
    const points = r.json.points as HistoryPoint[];
    expect(points.map((p) => [p.rows_out, p.lag])).toEqual([
      [5, 9],
      [8, 4],
    ]);
    // By name too, like every pipeline route.
    expect((await get("/v1/pipelines/hist-a/history", ADMIN)).json.points).toEqual(points);
    expect((await get(`/v1/pipelines/${b.id}/history`, ADMIN)).json.points).toEqual([]);

    // A token for pipeline B reads B's history and cannot see A's.
    const tb = await h.admin.createToken({
      name: "hist-b-logs",
      kind: "pipeline",
      pipeline: b.id,
      actions: ["logs:read"],
    });
    expect((await get(`/v1/pipelines/${b.id}/history`, tb.token)).status).toBe(200);
    const hidden = await get(`/v1/pipelines/${a.id}/history`, tb.token);
    expect(hidden.status).toBe(404);
    expect((await get(`/v1/pipelines/${a.id}/history`, "nope")).status).toBe(401);
    expect((await fetch(`${h.url}/v1/pipelines/${a.id}/history`)).status).toBe(401);
  });

  it("serves /ui without a token (the console signs in itself)", async () => {
    const res = await fetch(`${h.url}/ui`);
    // 200 with the built console, 503 saying how to build it: never 401.
    expect([200, 503]).toContain(res.status);
    if (res.status === 503)
      expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/build/);
  });
});

describe("console static files", () => {
  const dir = join(mkdtempSync(join(tmpdir(), "weir-console-")), "dist");
  const app = Fastify();
  beforeAll(async () => {
    await app.register(consoleRoutes, { dir });
    await app.ready();
  });
  afterAll(() => app.close());

  it("answers 503 saying how to build the console while there is no build", async () => {
    const r = await app.inject({ url: "/ui" });
    expect(r.statusCode).toBe(503);
    expect(r.json().error.message).toContain("pnpm --filter @weir/console build");
  });

  it("serves files, index.html for every other path under /ui/, and nothing outside dist", async () => {
    mkdirSync(join(dir, "assets"), { recursive: true });
    writeFileSync(join(dir, "index.html"), "<!doctype html><title>console</title>");
    writeFileSync(join(dir, "assets", "app-1234.js"), "console.log(1)");
    writeFileSync(join(dir, "..", "secret.txt"), "outside");
    for (const url of ["/ui", "/ui/", "/ui/pipelines/x"]) {
      const r = await app.inject({ url });
      expect(r.statusCode, url).toBe(200);
      expect(r.headers["content-type"]).toBe("text/html; charset=utf-8");
      expect(r.headers["cache-control"]).toBe("no-cache");
      expect(r.headers["content-security-policy"]).toContain("frame-ancestors 'none'");
      expect(r.body).toContain("<title>console</title>");
    }
    const js = await app.inject({ url: "/ui/assets/app-1234.js" });
    expect(js.statusCode).toBe(200);
    expect(js.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(js.headers["cache-control"]).toContain("immutable");
    expect(js.body).toBe("console.log(1)");
    expect((await app.inject({ url: "/ui/assets/gone.js" })).statusCode).toBe(404);
    for (const url of ["/ui/../secret.txt", "/ui/%2e%2e/secret.txt", "/ui/..%2fsecret.txt"]) {
      const r = await app.inject({ url });
      expect(r.body, url).not.toContain("outside");
    }
  });
});
