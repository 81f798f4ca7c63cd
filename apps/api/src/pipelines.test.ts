/** Pipelines, handler versions, test runs, types and operations routes, through the SDK. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GOOD_HANDLER, type Harness, seedSpec, startApi, tempDir } from "./test-helpers.ts";

let h: Harness;
const dir = tempDir();
beforeAll(async () => {
  h = await startApi(dir);
});
afterAll(() => h.close());

describe("pipelines", () => {
  it("accepts the seed article's pipeline as written (minus space_id) and fills defaults", async () => {
    const p = await h.admin.createPipeline(seedSpec("otel-traces-to-clickhouse"));
    expect(p.id).toMatch(/^pl_[0-9a-f]{16}$/);
    expect(p.spec.source.config).toMatchObject({ topic: "otel-traces-raw", format: "json" });
    expect(p.spec.sink).toMatchObject({ type: "webhook", config: { format: "json", timeout_ms: 10_000 } });
    expect(p.spec.dead_letter).toEqual({ type: "kafka", topic: "otel-traces-raw.dlq" });
    expect(p.spec.limits.memory_mb).toBe(128);
    expect(p.current_version).toBeNull();
    // No worker has ever polled this API: nothing runs it, and the status says why.
    expect(p.status).toMatchObject({
      state: "stalled",
      desired: "running",
      counters: { messages_in: 0 },
      last_error: { code: "NO_WORKERS", message: expect.stringContaining("no live worker in pool default") },
      placement: { pool: "default", replicas: "auto", workers: [] },
    });
    expect(await h.admin.getPipeline(p.id)).toMatchObject({ id: p.id, name: p.name });
  });

  it("lists with cursor pagination, updates, pauses, resumes and deletes, bumping the revision", async () => {
    const made = [];
    for (const n of ["page-a", "page-b", "page-c"]) made.push(await h.admin.createPipeline(seedSpec(n)));
    const all = await h.admin.listAllPipelines(2);
    expect(all.map((p) => p.name)).toEqual(expect.arrayContaining(["page-a", "page-b", "page-c"]));
    const first = await h.admin.listPipelines({ limit: 2 });
    expect(first.items).toHaveLength(2);
    expect(first.next_cursor).toBeTypeOf("string");
    const second = await h.admin.listPipelines({ limit: 2, cursor: first.next_cursor ?? "" });
    expect(second.items.map((p) => p.id)).not.toContain(first.items[0]?.id);

    const a = made[0]!;
    const updated = await h.admin.updatePipeline(a.id, seedSpec("page-a-renamed", { env: { K: "v" } }));
    expect(updated.name).toBe("page-a-renamed");
    expect(updated.spec.env).toEqual({ K: "v" });
    expect(updated.revision).toBeGreaterThan(a.revision);

    const paused = await h.admin.pausePipeline(a.id);
    expect(paused.status.state).toBe("paused");
    expect((await h.admin.pausePipeline(a.id)).revision).toBe(paused.revision); // idempotent
    const resumed = await h.admin.resumePipeline(a.id);
    expect(resumed.status.desired).toBe("running");
    expect(resumed.revision).toBeGreaterThan(paused.revision);

    await h.admin.deletePipeline(made[2]!.id);
    await expect(h.admin.getPipeline(made[2]!.id)).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect((await h.admin.getPipelineStatus(a.id)).state).toBe("stalled"); // no worker
  });
});

describe("handlers", () => {
  it("uploads raw and multipart, lists versions, shows source, rolls back, dedupes identical uploads", async () => {
    const p = await h.admin.createPipeline(seedSpec("versions"));
    const v1 = await h.admin.uploadHandler(p.id, GOOD_HANDLER, { filename: "spans.ts" });
    expect(v1).toMatchObject({ version: 1, filename: "spans.ts", current: true });
    expect(v1.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(v1.size).toBe(Buffer.byteLength(GOOD_HANDLER));
    const again = await h.admin.uploadHandler(p.id, GOOD_HANDLER, { filename: "spans.ts" });
    expect(again.id).toBe(v1.id);
    const src2 = `export const handler = (d: { x: number }) => ({ x: d.x * 2 });\n`;
    const v2 = await h.admin.uploadHandler(p.id, src2, { multipart: true, filename: "double.ts" });
    expect(v2).toMatchObject({ version: 2, filename: "double.ts", current: true });
    const v3 = await h.admin.uploadHandler(p.id, `export function handler(d: unknown) { return null; }`, {
      contentType: "text/plain",
    });
    expect(v3.version).toBe(3);

    const list = await h.admin.listVersions(p.id);
    expect(list.items.map((v) => [v.version, v.current])).toEqual([
      [3, true],
      [2, false],
      [1, false],
    ]);
    const shown = await h.admin.getVersion(p.id, 2);
    expect(shown.source).toBe(src2);
    expect(shown.code).toContain("__weir_define");
    expect(shown.source_map).toBeTypeOf("string");

    const before = await h.admin.getPipeline(p.id);
    const rolled = await h.admin.rollback(p.id, 1);
    expect(rolled.current_version).toMatchObject({ id: v1.id, version: 1 });
    expect(rolled.revision).toBeGreaterThan(before.revision);
    expect((await h.admin.listVersions(p.id)).items.find((v) => v.current)?.version).toBe(1);
  });

  it("test-runs events through the real sandbox with the current or a given version", async () => {
    const p = await h.admin.createPipeline(seedSpec("testrun", { env: { FACTOR: "3" } }));
    await h.admin.uploadHandler(p.id, GOOD_HANDLER);
    await h.admin.uploadHandler(
      p.id,
      `export function handler(d: { n: number }, log: any) {
         if (d.n < 0) throw new Error("negative");
         log.warn("scaled", { n: d.n });
         return [{ v: d.n * Number(env.FACTOR) }];
       }`,
    );
    const run = await h.admin.testRun(p.id, [{ n: 1 }, { n: -1 }, { n: 2 }]);
    expect(run.version).toBe(2);
    expect(run.results.map((r) => r.ok)).toEqual([true, false, true]);
    expect(run.results[0]).toMatchObject({ rows: [{ v: 3 }], row_count: 1, error: null });
    expect(run.results[0]?.logs[0]).toMatchObject({ level: "warn", message: "scaled", fields: { n: 1 } });
    expect(run.results[1]?.error).toMatchObject({
      code: "HANDLER_ERROR",
      message: expect.stringContaining("negative"),
    });
    expect(run.results[2]?.duration_ms).toBeTypeOf("number");

    const old = await h.admin.testRun(p.id, [{ spans: [{ traceId: "a", spanId: "b" }] }], { version: 1 });
    expect(old.version).toBe(1);
    expect(old.results[0]?.rows[0]).toMatchObject({
      trace_id: "a",
      span_id: "b",
      fp: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
    // Nothing was persisted by the test run: no versions, no logs.
    expect((await h.admin.listVersions(p.id)).items).toHaveLength(2);
    expect((await h.admin.getLogs(p.id)).items).toHaveLength(0);
  });

  it("serves handler type definitions", async () => {
    const dts = await h.admin.handlerTypes();
    expect(dts).toContain("export interface Log");
    expect(dts).toContain("export type Handler");
    expect(dts).toContain("OtlpExportTraceServiceRequest");
    expect(dts).toContain("declare global");
  });
});

describe("operations", () => {
  it("serves health, readiness, metrics and OpenAPI without a token", async () => {
    expect(await h.anon.ready()).toEqual({ ok: true });
    const metrics = await h.anon.metrics();
    expect(metrics).toContain("weir_api_http_requests_total");
    expect(metrics).toMatch(/weir_api_pipelines \d+/);
    const doc = await h.anon.openapi();
    const paths = Object.keys(doc.paths as object);
    for (const p of [
      "/v1/pipelines",
      "/v1/pipelines/{id}",
      "/v1/pipelines/{id}/handler",
      "/v1/pipelines/{id}/test",
      "/v1/pipelines/{id}/logs",
      "/v1/pipelines/{id}/dlq",
      "/v1/worker/desired-state",
    ]) {
      expect(paths).toContain(p);
    }
    const ui = await fetch(`${h.url}/docs`, { redirect: "follow" });
    expect(ui.status).toBe(200);
  });
});

describe("persistence", () => {
  it("keeps pipelines, versions, tokens and secrets across a restart on the same file", async () => {
    const p = await h.admin.createPipeline(
      seedSpec("persist", {
        sink: {
          type: "clickhouse",
          config: { url: "http://127.0.0.1:8123", table: "t", password: { secret: "pw-persist-1" } },
        },
      }),
    );
    await h.admin.uploadHandler(p.id, GOOD_HANDLER);
    const { token } = await h.admin.createToken({
      name: "ci",
      kind: "project",
      project: "default",
      role: "editor",
    });
    await h.close();

    h = await startApi(dir);
    const again = await h.admin.getPipeline(p.id);
    expect(again).toMatchObject({ name: "persist", current_version: { version: 1 } });
    expect((await h.client(token).listPipelines()).items.length).toBeGreaterThan(0);
    const state = await h.worker.desiredState();
    if (!state.changed) throw new Error("expected a full state");
    const wp = state.pipelines.find((x) => x.id === p.id);
    expect(wp?.spec.sink.config).toMatchObject({ password: "pw-persist-1" });
    expect(wp?.handler?.version).toBe(1);
  });
});
