/**
 * The authorization matrix, on the real API (HTTP on loopback) over a real SQLite file: every user
 * route (read from the app itself, so a new route is covered or fails the coverage check) x every
 * kind of token (server admin; viewer, editor and admin of project A; the same of project B; a
 * pipeline token with one action and one with all; a worker token) x a target pipeline in A and in B.
 * A token may act only where its role or actions allow; another project's pipeline answers exactly
 * like a missing one; worker tokens of one pool never receive another pool's pipelines or secrets.
 * Then fast-check throws refs (ids, names, project/name, encodings) at project A's editor: nothing of
 * project B is ever returned.
 */

import { createKafka, DlqWriter } from "@weir/connectors";
import { ACTIONS, type Action, PIPELINE_ACTIONS, type PipelineAction, roleAllows } from "@weir/core";
import { kafkaBrokers } from "@weir/testing";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROUTES } from "./access.ts";
import { ADMIN, GOOD_HANDLER, type Harness, seedSpec, startApi, WORKER } from "./test-helpers.ts";

let h: Harness;
const routes: string[] = [];

interface Caller {
  label: string;
  token: string;
  /** Project of a project or pipeline token; null for the server admin and the worker. */
  project: "A" | "B" | null;
  role?: "viewer" | "editor" | "admin";
  /** Pipeline tokens: the pipeline (always project A's target) and the actions. */
  pipeline?: string;
  actions?: PipelineAction[];
  kind: "admin" | "project" | "pipeline" | "worker";
}

const callers: Caller[] = [];
const target: Record<"A" | "B", { id: string; name: string }> = {} as never;
const projectName = { A: "team-a", B: "team-b" };

async function call(method: string, path: string, token: string, body?: unknown) {
  // The live tail never ends: take its status and headers, then hang up.
  const stream = path.includes("/logs/tail");
  const ctl = new AbortController();
  const res = await fetch(`${h.url}${path}`, {
    signal: ctl.signal,
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  if (stream && res.ok) {
    ctl.abort();
    return { status: res.status, json: {} as Record<string, never>, text: "" };
  }
  const text = await res.text();
  let json: { error?: { code: string; message: string } } & Record<string, unknown> = {};
  try {
    json = JSON.parse(text);
  } catch {
    // text/plain (handler.d.ts)
  }
  return { status: res.status, json, text };
}

beforeAll(async () => {
  h = await startApi();
  await h.admin.createProject({ name: projectName.A });
  await h.admin.createProject({ name: projectName.B });
  for (const p of ["A", "B"] as const) {
    const created = await call(
      "POST",
      `/v1/pipelines?project=${projectName[p]}`,
      ADMIN,
      seedSpec("orders", {
        sink: {
          type: "clickhouse",
          config: { url: "http://127.0.0.1:8123", table: "t", password: { secret: `pw-secret-${p}` } },
        },
      }),
    );
    expect(created.status).toBe(201);
    target[p] = { id: created.json.id as string, name: "orders" };
    await h.admin.uploadHandler(target[p].id, GOOD_HANDLER);
  }
  callers.push({ label: "server admin", token: ADMIN, project: null, kind: "admin" });
  callers.push({ label: "worker", token: WORKER, project: null, kind: "worker" });
  for (const p of ["A", "B"] as const)
    for (const role of ["viewer", "editor", "admin"] as const) {
      const t = await h.admin.createToken({
        name: `${p}-${role}`,
        kind: "project",
        project: projectName[p],
        role,
      });
      callers.push({ label: `${p} ${role}`, token: t.token, project: p, role, kind: "project" });
    }
  for (const actions of [["logs:read"], PIPELINE_ACTIONS] as PipelineAction[][]) {
    const t = await h.admin.createToken({
      name: `pipe-${actions.length}`,
      kind: "pipeline",
      pipeline: target.A.id,
      actions,
    });
    callers.push({
      label: `pipeline token (${actions.length === 1 ? actions[0] : "all actions"})`,
      token: t.token,
      project: "A",
      pipeline: target.A.id,
      actions,
      kind: "pipeline",
    });
  }
});
afterAll(async () => {
  await h?.close();
});

/** May this caller do `action` on a pipeline of `project`? */
function allowed(c: Caller, action: Action, project: "A" | "B"): "yes" | "forbidden" | "invisible" {
  if (c.kind === "admin") return "yes";
  if (c.kind === "worker") return "forbidden";
  if (c.project !== project) return "invisible";
  if (c.kind === "project") return roleAllows(c.role!, action) ? "yes" : "forbidden";
  return action === "pipelines:read" || (c.actions as Action[]).includes(action) ? "yes" : "forbidden";
}

/** A concrete request for a route pattern against a pipeline ref. */
function requestFor(route: string, ref: string): { method: string; path: string; body?: unknown } {
  const [method, pattern] = route.split(" ") as [string, string];
  const path = pattern
    .replace(":id", encodeURIComponent(ref))
    .replace(":version", "1")
    .replace(":recordId", "0-0");
  // Bodies that get past validation only when it matters: the matrix is about access, which is
  // checked before validation; a 400 means the call got through.
  const body = method === "POST" || method === "PUT" ? {} : undefined;
  return { method, path, body };
}

function isDenial(r: { status: number; json: { error?: { code: string; message: string } } }): boolean {
  return (
    r.status === 401 ||
    r.status === 403 ||
    (r.status === 404 && /^pipeline .* not found$/.test(r.json.error?.message ?? ""))
  );
}

describe("authorization matrix", () => {
  it("covers every user route in the access table, and the OpenAPI document says what each needs", async () => {
    const table = Object.keys(ROUTES).sort();
    const registered = new Set<string>();
    for (const key of table) {
      const [method, url] = key.split(" ") as [string, string];
      if (h.app.hasRoute({ method: method as "GET", url })) registered.add(key);
    }
    expect([...registered].sort()).toEqual(table);
    // And the other way round: every route the app serves is in the table, or public, or a worker route.
    const served = h.app.weirRoutes;
    expect(served, "the app lists its routes").toBeDefined();
    const unlisted = served!.filter(
      (r) =>
        !ROUTES[r] &&
        !/ \/v1\/worker\//.test(r) &&
        !/ \/(healthz|readyz|metrics|docs|ui)/.test(r) &&
        !r.startsWith("HEAD "),
    );
    expect(unlisted).toEqual([]);
    routes.push(...table);
    // The OpenAPI document names each route's action and who may call it.
    const doc = (await (await fetch(`${h.url}/docs/json`)).json()) as {
      paths: Record<string, Record<string, { description?: string; "x-weir-action"?: string }>>;
    };
    for (const [key, access] of Object.entries(ROUTES)) {
      const [method, url] = key.split(" ") as [string, string];
      const op = doc.paths[url.replace(/:(\w+)/g, "{$1}")]?.[method.toLowerCase()];
      expect(op?.["x-weir-action"], key).toBe(access.action);
      expect(op?.description, key).toMatch(/Requires /);
    }
  });

  it("lets each token do exactly what its role or actions allow, on its own project's pipelines only", async () => {
    const pipelineRoutes = Object.entries(ROUTES).filter(([, a]) => a.scope === "pipeline");
    let cells = 0;
    const failures: string[] = [];
    for (const [route, access] of pipelineRoutes) {
      for (const c of callers) {
        for (const p of ["A", "B"] as const) {
          // Deletes get a pipeline of their own each time (an allowed one is gone afterwards).
          let ref = target[p].id;
          if (route === "DELETE /v1/pipelines/:id") {
            const fresh = await call(
              "POST",
              `/v1/pipelines?project=${projectName[p]}`,
              ADMIN,
              seedSpec(`victim-${cells}`),
            );
            ref = fresh.json.id as string;
          }
          // Half the cells address the pipeline as project/name.
          if (cells % 2 === 1 && route !== "DELETE /v1/pipelines/:id")
            ref = `${projectName[p]}/${target[p].name}`;
          const req = requestFor(route, ref);
          const r = await call(req.method, req.path, c.token, req.body);
          // A pipeline token sees only its own pipeline, not the fresh ones the deletes get.
          const fresh = route === "DELETE /v1/pipelines/:id";
          const want = c.kind === "pipeline" && fresh ? "invisible" : allowed(c, access.action, p);
          cells++;
          const got = !isDenial(r) ? "yes" : r.status === 404 ? "invisible" : "forbidden";
          if (got !== want)
            failures.push(
              `${route} as ${c.label} on ${p}: want ${want}, got ${r.status} ${r.text.slice(0, 120)}`,
            );
          if (want === "invisible") {
            // Exactly what a pipeline that never existed gets.
            const ghostRef = ref.includes("/") ? `${projectName[p]}/ghost` : "pl_0000000000000000";
            const ghost = await call(req.method, requestFor(route, ghostRef).path, c.token, req.body);
            // Byte for byte the same answer, but for the ref the caller sent (echoed back).
            expect(r.status).toBe(ghost.status);
            expect(r.text.replaceAll(ref, "<ref>")).toBe(ghost.text.replaceAll(ghostRef, "<ref>"));
          }
          if (got === "yes")
            expect(r.status, `${route} as ${c.label}`).toBeLessThan(500 + (route.includes("/dlq") ? 100 : 0));
        }
      }
    }
    expect(failures).toEqual([]);
    console.log(
      `authorization matrix: ${cells} cells (${pipelineRoutes.length} pipeline routes x ${callers.length} tokens x 2 projects)`,
    );
  }, 180_000);

  it("lists, creates and audits within the caller's project only", async () => {
    for (const c of callers) {
      const list = await call("GET", "/v1/pipelines?limit=200", c.token);
      // Every user token may list (what it sees is the point); pipeline tokens see their one pipeline.
      const want = c.kind === "worker" ? "forbidden" : "yes";
      if (want !== "yes") {
        expect(list.status, c.label).toBe(403);
        continue;
      }
      const items = (list.json.items as { id: string; project: string }[]) ?? [];
      if (c.kind === "admin")
        expect(items.map((i) => i.project)).toEqual(expect.arrayContaining([projectName.A, projectName.B]));
      else if (c.kind === "pipeline") expect(items.map((i) => i.id)).toEqual([target.A.id]);
      else expect(new Set(items.map((i) => i.project))).toEqual(new Set([projectName[c.project!]]));
      // Another project by name: the same 404 as a project that does not exist.
      if (c.project) {
        const other = c.project === "A" ? "B" : "A";
        const r = await call("GET", `/v1/pipelines?project=${projectName[other]}`, c.token);
        const ghost = await call("GET", "/v1/pipelines?project=nope", c.token);
        expect([r.status, r.json.error?.code]).toEqual([404, "NOT_FOUND"]);
        expect(ghost.status).toBe(404);
      }
    }
    // Create: an editor of A creates in A; naming B is a 404; a viewer cannot.
    const editorA = callers.find((c) => c.label === "A editor")!;
    const viewerA = callers.find((c) => c.label === "A viewer")!;
    const made = await call("POST", "/v1/pipelines", editorA.token, seedSpec("by-editor"));
    expect([made.status, made.json.project]).toEqual([201, projectName.A]);
    expect(
      (await call("POST", `/v1/pipelines?project=${projectName.B}`, editorA.token, seedSpec("x"))).status,
    ).toBe(404);
    expect((await call("POST", "/v1/pipelines", viewerA.token, seedSpec("y"))).status).toBe(403);
    // Same name in another project is fine; in the same project it conflicts.
    expect(
      (await call("POST", `/v1/pipelines?project=${projectName.B}`, ADMIN, seedSpec("by-editor"))).status,
    ).toBe(201);
    expect((await call("POST", "/v1/pipelines", editorA.token, seedSpec("by-editor"))).status).toBe(409);

    // Tokens: a project admin sees and manages its project's tokens only.
    const adminA = callers.find((c) => c.label === "A admin")!;
    const tokens = await call("GET", "/v1/tokens", adminA.token);
    expect(new Set((tokens.json.items as { project: string }[]).map((t) => t.project))).toEqual(
      new Set([projectName.A]),
    );
    const bToken = await h.admin.createToken({
      name: "b-victim",
      kind: "project",
      project: projectName.B,
      role: "viewer",
    });
    expect((await call("DELETE", `/v1/tokens/${bToken.id}`, adminA.token)).status).toBe(404);
    expect(
      (
        await call("POST", "/v1/tokens", adminA.token, {
          name: "x",
          kind: "project",
          project: projectName.B,
          role: "viewer",
        })
      ).status,
    ).toBe(404);
    expect((await call("POST", "/v1/tokens", adminA.token, { name: "x", kind: "worker" })).status).toBe(403);
    expect((await call("POST", "/v1/tokens", adminA.token, { name: "x", kind: "admin" })).status).toBe(403);
    expect(
      (
        await call("POST", "/v1/tokens", adminA.token, {
          name: "x",
          kind: "pipeline",
          pipeline: target.B.id,
          actions: ["logs:read"],
        })
      ).status,
    ).toBe(404);
    const minted = await call("POST", "/v1/tokens", adminA.token, {
      name: "ro",
      kind: "project",
      role: "viewer",
      expires_in_s: 60,
    });
    expect([minted.status, minted.json.project, minted.json.role]).toEqual([201, projectName.A, "viewer"]);
    expect(
      (await call("POST", "/v1/tokens", editorA.token, { name: "x", kind: "project", role: "viewer" }))
        .status,
    ).toBe(403);

    // Projects: only the server admin creates them; a project token lists its own.
    expect((await call("POST", "/v1/projects", adminA.token, { name: "mine" })).status).toBe(403);
    expect((await call("GET", "/v1/projects", viewerA.token)).json.items).toEqual([
      expect.objectContaining({ name: projectName.A }),
    ]);

    // Audit: project admins read their project's entries; viewers and editors cannot.
    const audit = await call("GET", "/v1/audit?limit=1000", adminA.token);
    expect(audit.status).toBe(200);
    const entries = audit.json.items as {
      project: string;
      action: string;
      token_name: string;
      revision_after: number | null;
    }[];
    expect(entries.length).toBeGreaterThan(0);
    expect(new Set(entries.map((e) => e.project))).toEqual(new Set([projectName.A]));
    expect(entries).toContainEqual(
      expect.objectContaining({
        action: "pipeline.create",
        token_name: "A-editor",
        target: `${projectName.A}/by-editor`,
      }),
    );
    expect((await call("GET", "/v1/audit", editorA.token)).status).toBe(403);
    expect((await call("GET", `/v1/audit?project=${projectName.B}`, adminA.token)).status).toBe(404);
  });

  it("hides dead-letter payloads from viewers (metadata only), shows them to editors", async () => {
    expect(ACTIONS["dlq:payload"]).toBe("editor");
    // A record in project A's pipeline's dead-letter topic, written by the worker's own DLQ writer.
    const kafka = createKafka({ brokers: kafkaBrokers(), clientId: "access-test" });
    const dlq = new DlqWriter(kafka, "otel-traces-raw.dlq");
    await dlq.connect();
    await dlq.write([
      {
        pipelineId: target.A.id,
        stage: "handler",
        error: { name: "Error", code: "HANDLER_ERROR", message: "boom", retryable: false },
        attempts: 1,
        handlerVersion: "1",
        source: { topic: "otel-traces-raw", partition: 0, offset: "7" },
        key: Buffer.from("customer-42"),
        value: Buffer.from('{"card":"4111-secret"}'),
        headers: { "x-tenant": "acme-secret" },
      },
    ]);
    await dlq.close();
    const viewer = callers.find((c) => c.label === "A viewer")!;
    const editor = callers.find((c) => c.label === "A editor")!;
    const seen = await call("GET", `/v1/pipelines/${target.A.id}/dlq`, viewer.token);
    expect(seen.status).toBe(200);
    const rec = (
      seen.json.items as {
        key: string;
        value: string;
        headers: Record<string, string>;
        error: { message: string };
      }[]
    ).at(-1)!;
    expect(rec.error.message).toBe("boom");
    expect([rec.key, rec.value, rec.headers["x-tenant"]]).toEqual(["[redacted]", "[redacted]", "[redacted]"]);
    expect(seen.text).not.toContain("4111-secret");
    const full = await call("GET", `/v1/pipelines/${target.A.id}/dlq`, editor.token);
    expect(full.text).toContain("4111-secret");
    expect(full.text).toContain("acme-secret");
  });

  it("refuses an expired token and records last use", async () => {
    const t = await h.admin.createToken({
      name: "short",
      kind: "project",
      project: projectName.A,
      role: "viewer",
      expires_in_s: 60,
    });
    expect(t.expires_at).toBeGreaterThan(Date.now());
    expect((await call("GET", "/v1/pipelines", t.token)).status).toBe(200);
    const seen = (await h.admin.listTokens({ project: projectName.A })).items.find((x) => x.id === t.id);
    expect(seen?.last_used_at).toBeGreaterThan(0);
    // An hour later, as far as the database knows.
    h.app.weir.db.sqlite.prepare("UPDATE tokens SET expires_at = ? WHERE id = ?").run(Date.now() - 1, t.id);
    const r = await call("GET", "/v1/pipelines", t.token);
    expect([r.status, r.json.error?.message]).toEqual([401, "token expired"]);
  });

  it("gives each worker pool only its own pipelines and secrets", async () => {
    const other = await call("POST", `/v1/pipelines?project=${projectName.B}`, ADMIN, {
      ...seedSpec("pooled", {
        sink: {
          type: "clickhouse",
          config: { url: "http://127.0.0.1:8123", table: "t", password: { secret: "pw-pool-other" } },
        },
      }),
      pool: "other",
    });
    expect(other.status).toBe(201);
    const w2 = await h.admin.createToken({ name: "w-other", kind: "worker", pool: "other" });
    const mine = await call("GET", "/v1/worker/desired-state", w2.token);
    const ids = (mine.json.pipelines as { id: string }[]).map((p) => p.id);
    expect(ids).toEqual([other.json.id]);
    expect(mine.text).toContain("pw-pool-other");
    expect(mine.text).not.toContain("pw-secret-A");
    expect(mine.text).not.toContain("pw-secret-B");
    const defaults = await call("GET", "/v1/worker/desired-state", WORKER);
    expect(defaults.text).not.toContain("pw-pool-other");
    expect((defaults.json.pipelines as { id: string }[]).map((p) => p.id)).not.toContain(other.json.id);
    // A worker naming another pool than its token's is refused.
    expect((await call("GET", "/v1/worker/desired-state?pool=default", w2.token)).status).toBe(403);
    // Logs for another pool's pipeline are refused.
    const logs = await call("POST", "/v1/worker/logs", w2.token, {
      worker_id: "w2",
      pipeline_id: target.A.id,
      records: [{ time: Date.now(), level: "info", message: "intrusion", source: "handler" }],
    });
    expect(logs.status).toBe(403);
  });

  it("never returns another project's pipeline, whatever the ref (fast-check)", async () => {
    const editorA = callers.find((c) => c.label === "A editor")!;
    const bId = target.B.id;
    const ref = fc.oneof(
      fc.constantFrom(bId, `${projectName.B}/orders`, "orders", `${projectName.A}/orders`, target.A.id),
      fc.string({ maxLength: 40 }),
      fc
        .tuple(
          fc.constantFrom(projectName.A, projectName.B, "default", ""),
          fc.constantFrom("orders", "by-editor", "pooled", ""),
        )
        .map(([p, n]) => `${p}/${n}`),
      fc.constantFrom(
        bId.toUpperCase(),
        ` ${bId}`,
        `${bId}/`,
        `../${bId}`,
        `${projectName.B}%2Forders`,
        `${projectName.B}//orders`,
      ),
    );
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(ref, async (r) => {
        if (r === "") return;
        runs++;
        const res = await call("GET", `/v1/pipelines/${encodeURIComponent(r)}`, editorA.token);
        expect(res.status === 200 || res.status === 404 || res.status === 400, `${r} -> ${res.status}`).toBe(
          true,
        );
        if (res.status === 200) expect(res.json.project).toBe(projectName.A);
        // Nothing of B's beyond the ref itself, echoed in a not-found message.
        expect(res.text.replaceAll(r, "<ref>")).not.toContain(bId);
        expect(res.text).not.toContain("pw-secret-B");
      }),
      { numRuns: 300 },
    );
    console.log(`fast-check: ${runs} refs tried against project A's editor`);
  });
});
