/**
 * Bundled uploads through the real API (SQLite, the sandbox's compiler, the test-run sandbox): a
 * bundle made by @weir/sdk/bundle from a handler of two files and the `uuid` package is stored as an
 * immutable version with its manifest, runs with stacks naming the original files, and every
 * re-check (import left, size, source map, manifest, body shape) is a 400 naming its field.
 */
import { createHash } from "node:crypto";
import { bundleHandler, type HandlerBundle } from "@weir/sdk/bundle";
import { BUNDLE_FIXTURE_THROW, bundleFixtureEntry, bundleFixtureRow, uniqueName } from "@weir/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, GOOD_HANDLER, type Harness, seedSpec, startApi } from "./test-helpers.ts";

const MAX_BUNDLE = 48 * 1024;
let h: Harness;
let b: HandlerBundle;

beforeAll(async () => {
  h = await startApi(undefined, { WEIR_MAX_BUNDLE_BYTES: MAX_BUNDLE });
  b = await bundleHandler(bundleFixtureEntry());
});
afterAll(async () => {
  await h?.close();
});

const newPipeline = async () =>
  (await h.admin.createPipeline(seedSpec(uniqueName("bundle").replaceAll("_", "-")))).id;

/** PUT a bundled upload as any client would, returning status and body. */
async function put(pid: string, body: unknown) {
  const res = await fetch(`${h.url}/v1/pipelines/${pid}/handler`, {
    method: "PUT",
    headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/vnd.weir.handler-bundle+json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return {
    status: res.status,
    body: (await res.json()) as {
      error?: { code: string; message: string; details?: { issues?: { path: string; message: string }[] } };
    },
  };
}

const wire = (x: HandlerBundle) => ({ bundle: x.bundle, source_map: x.sourceMap, manifest: x.manifest });

describe("bundled handler upload", () => {
  it("stores the bundle as an immutable version with its manifest; the same bundle again is 200 unchanged", async () => {
    const pid = await newPipeline();
    const v = await h.admin.uploadBundle(pid, b);
    const sha = createHash("sha256").update(b.bundle).update("\0").update(b.sourceMap).digest("hex");
    expect(v).toMatchObject({
      version: 1,
      filename: "index.ts",
      sha256: sha,
      size: Buffer.byteLength(b.bundle),
      current: true,
      manifest: b.manifest,
    });
    expect(v.manifest?.packages).toEqual([{ name: "uuid", version: expect.stringMatching(/^\d+\./) }]);
    const again = await put(pid, wire(b));
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ id: v.id, version: 1 });

    const detail = await h.admin.getVersion(pid, 1);
    expect(detail.source).toBe(b.bundle);
    expect(detail.manifest).toEqual(b.manifest);
    const map = JSON.parse(detail.source_map ?? "{}") as { sources: string[]; sourcesContent: string[] };
    expect(map.sources).toEqual(
      expect.arrayContaining(["index.ts", "lib/rows.ts", "node_modules/uuid/dist/v5.js"]),
    );
    expect(map.sourcesContent[map.sources.indexOf("lib/rows.ts")]).toContain("throw new Error(`boom at");
    expect((await h.admin.listVersions(pid)).items[0]?.manifest).toEqual(b.manifest);

    // A raw single-file upload next to it: as before, no manifest.
    const raw = await h.admin.uploadHandler(pid, GOOD_HANDLER, { filename: "good.ts" });
    expect(raw).toMatchObject({ version: 2, filename: "good.ts", manifest: null });
    expect(raw.sha256).toBe(createHash("sha256").update(GOOD_HANDLER).digest("hex"));
  });

  it("runs the bundle: uuid's rows, and a throw in the imported module named by its original file and line", async () => {
    const pid = await newPipeline();
    await h.admin.uploadBundle(pid, b);
    const run = await h.admin.testRun(pid, [
      { id: 7, v: "x" },
      { id: 8, boom: true },
    ]);
    expect(run.results[0]).toMatchObject({ ok: true, rows: [bundleFixtureRow(7, "x")] });
    const failed = run.results[1];
    expect(failed?.ok).toBe(false);
    expect(failed?.error?.message).toBe("boom at 8");
    const frames = (failed?.error?.stack ?? "").split("\n").filter((l) => /^\s+at /.test(l));
    expect(frames[0]).toContain(`(${BUNDLE_FIXTURE_THROW})`);
    expect(frames[1]).toMatch(/\(index\.ts:\d+:\d+\)/);
  });

  it("rejects a bundle that still imports something, with 400 naming /body/bundle", async () => {
    const pid = await newPipeline();
    const left = { ...wire(b), bundle: `import { v5 } from "uuid";\n${b.bundle}` };
    const r = await put(pid, left);
    expect(r.status).toBe(400);
    expect(r.body.error?.code).toBe("VALIDATION");
    expect(r.body.error?.message).toMatch(/^\/body\/bundle: line 1:\d+: the bundle still imports "uuid"/);
    expect(r.body.error?.details?.issues?.[0]?.path).toBe("/body/bundle");
    const req = await put(pid, {
      ...wire(b),
      bundle: 'const x = "y";\nexport const handler = () => require(x);\n',
      source_map: '{"version":3,"sources":["index.ts"],"mappings":""}',
    });
    expect(req.status).toBe(400);
    expect(req.body.error?.details?.issues?.[0]).toMatchObject({
      path: "/body/bundle",
      message: expect.stringMatching(/the bundle uses `require`, a CommonJS module global/),
    });
    expect((await h.admin.listVersions(pid)).items).toEqual([]);
  });

  it("rejects an oversized bundle with 400 naming /body/bundle and the limit", async () => {
    const pid = await newPipeline();
    const big = { ...wire(b), bundle: `${b.bundle}\n// ${"x".repeat(MAX_BUNDLE)}\n` };
    const r = await put(pid, big);
    expect(r.status).toBe(400);
    expect(r.body.error?.details?.issues?.[0]).toEqual({
      path: "/body/bundle",
      message: expect.stringMatching(
        new RegExp(`^the bundle is \\d+ bytes; the limit is ${MAX_BUNDLE} \\(WEIR_MAX_BUNDLE_BYTES\\)`),
      ),
    });
    // Above the whole body's limit (5 x the bundle's + 1 MiB): 413 before anything is parsed.
    const huge = await put(pid, { ...wire(b), source_map: "x".repeat(5 * MAX_BUNDLE + 1024 * 1024) });
    expect(huge.status).toBe(413);
  });

  it("names the field of a bad source map, manifest or body", async () => {
    const pid = await newPipeline();
    const cases: [unknown, string, RegExp][] = [
      [{ ...wire(b), source_map: "{not json" }, "/body/source_map", /not JSON/],
      [{ ...wire(b), source_map: '{"version":2}' }, "/body/source_map", /not a source map v3/],
      [
        { ...wire(b), manifest: { ...b.manifest, entry: "main.ts" } },
        "/body/manifest/entry",
        /not among manifest\.files/,
      ],
      [
        { ...wire(b), manifest: { ...b.manifest, entry: "../index.ts" } },
        "/body/manifest/entry",
        /without "\.\." segments/,
      ],
      [{ bundle: b.bundle, source_map: b.sourceMap }, "/body/manifest", /./],
      [
        { ...wire(b), manifest: { ...b.manifest, files: [{ path: "index.ts", sha256: "xyz", bytes: 1 }] } },
        "/body/manifest/files/0/sha256",
        /./,
      ],
      ["[1,", "/body", /not JSON/],
    ];
    for (const [body, path, message] of cases) {
      const r = await put(pid, body);
      expect(r.status, path).toBe(400);
      expect(r.body.error?.details?.issues?.[0], path).toMatchObject({
        path,
        message: expect.stringMatching(message),
      });
    }
    expect((await h.admin.listVersions(pid)).items).toEqual([]);
  });
});
