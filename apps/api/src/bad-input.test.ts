/** Every class of bad input returns a 4xx naming the field and the reason, stores nothing, never a 500. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, GOOD_HANDLER, type Harness, seedSpec, startApi } from "./test-helpers.ts";

let h: Harness;
let pid: string;
beforeAll(async () => {
  h = await startApi(undefined, { WEIR_MAX_HANDLER_BYTES: 4096, WEIR_API_BODY_LIMIT: 64 * 1024 });
  pid = (await h.admin.createPipeline(seedSpec("existing"))).id;
  await h.admin.uploadHandler(pid, GOOD_HANDLER);
});
afterAll(() => h.close());

async function send(
  method: string,
  path: string,
  body?: string | Uint8Array | FormData,
  contentType?: string,
) {
  const headers: Record<string, string> = { authorization: `Bearer ${ADMIN}` };
  if (contentType) headers["content-type"] = contentType;
  const res = await fetch(`${h.url}${path}`, { method, headers, body: body as never });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** Snapshot of what is stored, to check a refused request changed nothing. */
async function stored() {
  const pipelines = await h.admin.listAllPipelines();
  const versions = await h.admin.listVersions(pid);
  return JSON.stringify({
    pipelines: pipelines.map((p) => [p.id, p.name, p.revision]),
    versions: versions.items.length,
  });
}

function issuePaths(body: { error: { details?: { issues?: { path: string }[] } } }) {
  return (body.error.details?.issues ?? []).map((i) => i.path);
}

describe("bad input", () => {
  it("rejects malformed JSON, empty bodies and wrong content types", async () => {
    const before = await stored();
    const bad = await send("POST", "/v1/pipelines", '{"name": "x", ', "application/json");
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: "VALIDATION", message: expect.stringMatching(/JSON/i) });
    expect((await send("POST", "/v1/pipelines", "", "application/json")).status).toBe(400);
    expect((await send("POST", "/v1/pipelines", "name=x", "application/x-www-form-urlencoded")).status).toBe(
      415,
    );
    expect((await send("POST", "/v1/pipelines", "[1,2]", "application/json")).status).toBe(400);
    expect(await stored()).toBe(before);
  });

  it("names the field for unknown connector types, missing, wrong-typed and unknown fields", async () => {
    const before = await stored();
    const cases: [unknown, string, RegExp][] = [
      [seedSpec("c1", { sink: { type: "s3", config: {} } }), "/sink/type", /unknown connector type "s3"/],
      [seedSpec("c2", { source: { type: "rabbitmq", config: {} } }), "/source/type", /expected one of kafka/],
      [{ ...seedSpec("c3"), name: undefined }, "/body/name", /required/i],
      [{ ...seedSpec("c4"), name: 42 }, "/body/name", /string/i],
      [
        seedSpec("c5", { sink: { type: "clickhouse", config: { url: "http://x:8123" } } }),
        "/sink/config/table",
        /required/i,
      ],
      [seedSpec("c6", { limits: { memory_mb: "lots" } }), "/limits/memory_mb", /integer/i],
      [seedSpec("c7", { retry: { max_attempts: 0 } }), "/retry/max_attempts", /greater|>=|minimum/i],
      [{ ...seedSpec("c8"), space_id: "x" }, "/body/space_id", /unexpected|additional|not allowed/i],
      [seedSpec("c9", { env: { "1BAD": "v" } }), "/env/1BAD", /.+/],
      [seedSpec("bad name!"), "/name", /pattern|match/i],
    ];
    for (const [body, path, message] of cases) {
      const r = await send("POST", "/v1/pipelines", JSON.stringify(body), "application/json");
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.code).toBe("VALIDATION");
      const issues = r.body.error.details.issues as { path: string; message: string }[];
      const hit = issues.find((i) => i.path === path || i.path.endsWith(path));
      expect(hit, `${path} in ${JSON.stringify(issues)}`).toBeDefined();
      expect(hit?.message).toMatch(message);
    }
    expect(await stored()).toBe(before);
  });

  it("rejects oversized bodies with 413", async () => {
    const before = await stored();
    const big = JSON.stringify(seedSpec("big", { description: "x".repeat(100_000) }));
    const r = await send("POST", "/v1/pipelines", big, "application/json");
    expect(r.status).toBe(413);
    expect(r.body.error.code).toBe("PAYLOAD_TOO_LARGE");
    const handler = `export function handler(d: unknown) { return null; }\n//${"x".repeat(5000)}`;
    await expect(h.admin.uploadHandler(pid, handler)).rejects.toMatchObject({
      code: "PAYLOAD_TOO_LARGE",
      details: { status: 413 },
    });
    await expect(h.admin.uploadHandler(pid, handler, { multipart: true })).rejects.toMatchObject({
      code: "PAYLOAD_TOO_LARGE",
      details: { status: 413 },
    });
    expect(await stored()).toBe(before);
  });

  it("rejects files that are not TypeScript, handlers without the export, and syntax errors with line and column", async () => {
    const before = await stored();
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]);
    await expect(
      h.admin.uploadHandler(pid, png, { contentType: "application/octet-stream" }),
    ).rejects.toMatchObject({
      code: "VALIDATION",
      details: {
        status: 400,
        issues: [{ path: "/body", message: expect.stringMatching(/not a text file/) }],
      },
    });
    const pngType = await send("PUT", `/v1/pipelines/${pid}/handler`, png, "image/png");
    expect(pngType.status).toBe(415);
    await expect(h.admin.uploadHandler(pid, GOOD_HANDLER, { filename: "handler.py" })).rejects.toMatchObject({
      code: "VALIDATION",
      details: { issues: [{ path: "/querystring/filename" }] },
    });
    await expect(
      h.admin.uploadHandler(pid, GOOD_HANDLER, { filename: "notes.txt", multipart: true }),
    ).rejects.toMatchObject({
      code: "VALIDATION",
      details: { issues: [{ path: "/body/file" }] },
    });
    await expect(
      h.admin.uploadHandler(pid, "def handler(data, log):\n    return data\n"),
    ).rejects.toMatchObject({
      code: "COMPILE_ERROR",
      details: {
        status: 400,
        diagnostics: [{ line: 1, column: expect.any(Number), message: expect.any(String) }],
      },
    });
    const syntax = "export function handler(d: unknown) {\n  return { a: 1 ;\n}\n";
    const err = await h.admin.uploadHandler(pid, syntax).catch((e) => e);
    expect(err.code).toBe("COMPILE_ERROR");
    expect(err.details.diagnostics[0]).toMatchObject({ line: 2 });
    expect(err.message).toMatch(/handler\.ts:2:\d+/);
    await expect(
      h.admin.uploadHandler(pid, "export function transform(d: unknown) { return d; }"),
    ).rejects.toMatchObject({
      code: "MISSING_HANDLER_EXPORT",
      details: { status: 400 },
      message: expect.stringMatching(/handler/),
    });
    await expect(h.admin.uploadHandler(pid, "")).rejects.toMatchObject({ code: "VALIDATION" });
    expect(await stored()).toBe(before);
  });

  it("answers 404 for ids that do not exist", async () => {
    const before = await stored();
    const missing = "pl_0000000000000000";
    for (const call of [
      () => h.admin.getPipeline(missing),
      () => h.admin.getPipelineStatus(missing),
      () => h.admin.updatePipeline(missing, seedSpec("nope")),
      () => h.admin.deletePipeline(missing),
      () => h.admin.pausePipeline(missing),
      () => h.admin.resumePipeline(missing),
      () => h.admin.uploadHandler(missing, GOOD_HANDLER),
      () => h.admin.listVersions(missing),
      () => h.admin.getVersion(pid, 99),
      () => h.admin.rollback(pid, 99),
      () => h.admin.testRun(pid, [{}], { version: 99 }),
      () => h.admin.getLogs(missing),
      () => h.admin.listDlq(missing),
      () => h.admin.deleteToken("tok_missing"),
    ]) {
      await expect(call()).rejects.toMatchObject({ code: "NOT_FOUND", details: { status: 404 } });
    }
    const noRoute = await send("GET", "/v1/nothing-here");
    expect(noRoute.status).toBe(404);
    const fresh = await h.admin.createPipeline(seedSpec("no-handler-yet"));
    await expect(h.admin.testRun(fresh.id, [{}])).rejects.toMatchObject({
      code: "NOT_FOUND",
      message: expect.stringMatching(/no handler/),
    });
    await h.admin.deletePipeline(fresh.id);
    expect(await stored()).toBe(before);
  });

  it("refuses duplicate names on create and on rename with 409", async () => {
    const other = await h.admin.createPipeline(seedSpec("taken"));
    const before = await stored();
    const dup = await h.admin.createPipeline(seedSpec("taken")).catch((e) => e);
    expect(dup).toMatchObject({ code: "CONFLICT", details: { status: 409, issues: [{ path: "/name" }] } });
    await expect(h.admin.updatePipeline(pid, seedSpec("taken"))).rejects.toMatchObject({ code: "CONFLICT" });
    expect(await stored()).toBe(before);
    await h.admin.deletePipeline(other.id);
  });

  it("validates query strings, params and other bodies", async () => {
    const before = await stored();
    const cases: [string, string, string | undefined, string][] = [
      ["GET", "/v1/pipelines?limit=0", undefined, "/querystring/limit"],
      ["GET", "/v1/pipelines?limit=abc", undefined, "/querystring/limit"],
      ["GET", "/v1/pipelines?cursor=garbage", undefined, "/querystring/cursor"],
      ["GET", `/v1/pipelines/${pid}/logs?level=loud`, undefined, "/querystring/level"],
      ["GET", `/v1/pipelines/${pid}/logs?since=20&until=10`, undefined, "/querystring/since"],
      ["GET", `/v1/pipelines/${pid}/versions/first`, undefined, "/params/version"],
      ["POST", `/v1/pipelines/${pid}/rollback`, JSON.stringify({ version: "1" }), "/body/version"],
      ["POST", `/v1/pipelines/${pid}/test`, JSON.stringify({ events: [] }), "/body/events"],
      ["POST", `/v1/pipelines/${pid}/dlq/replay`, JSON.stringify({ ids: ["x"] }), "/body/ids/0"],
      ["POST", `/v1/pipelines/${pid}/dlq/replay`, JSON.stringify({}), "/body/ids"],
      ["POST", "/v1/tokens", JSON.stringify({ name: "x", kind: "root" }), "/body/kind"],
    ];
    for (const [m, path, body, field] of cases) {
      const r = await send(m, path, body, body ? "application/json" : undefined);
      expect(r.status, `${m} ${path}`).toBe(400);
      expect(issuePaths(r.body), `${m} ${path}`).toContain(field);
    }
    expect(await stored()).toBe(before);
  });
});
