import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GOOD_HANDLER, type Harness, seedSpec, startApi } from "./test-helpers.js";

let h: Harness;
beforeAll(async () => {
  h = await startApi();
});
afterAll(() => h.close());

describe("smoke", () => {
  it("creates a pipeline and uploads a handler", async () => {
    expect(await h.anon.health()).toEqual({ ok: true });
    const p = await h.admin.createPipeline(seedSpec("smoke"));
    expect(p.status.state).toBe("deploying");
    const v = await h.admin.uploadHandler(p.id, GOOD_HANDLER);
    expect(v.version).toBe(1);
    const run = await h.admin.testRun(p.id, [{ spans: [{ traceId: "t", spanId: "s" }] }]);
    expect(run.results[0]?.rows).toHaveLength(1);
  });
});
