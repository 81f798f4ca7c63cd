/** Auth rules, secrets at rest and redaction in responses and in the API's own log output. */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { PipelineSpecInput } from "@weir/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, GOOD_HANDLER, type Harness, seedSpec, startApi, tempDir, WORKER } from "./test-helpers.ts";

let h: Harness;
const dir = tempDir();
beforeAll(async () => {
  h = await startApi(dir);
});
afterAll(() => h.close());

const SECRETS = ["ch-pass-Zq81x", "sasl-pass-Yw02k", "Bearer hook-token-Xk77p", "custom-secret-Vb55m"];

function secretSpec(name: string) {
  return seedSpec(name, {
    source: {
      type: "kafka",
      config: {
        bootstrap_servers: "127.0.0.1:9092",
        topic: "sec-topic",
        sasl: { mechanism: "plain", username: "u", password: SECRETS[1] },
      },
    },
    sink: {
      type: "webhook",
      config: {
        url: "http://127.0.0.1:9/x",
        headers: { Authorization: SECRETS[2], "X-Custom": { secret: SECRETS[3] } },
      },
    },
  });
}

async function raw(method: string, path: string, token?: string) {
  const res = await fetch(`${h.url}${path}`, {
    method,
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  return { status: res.status, body: await res.text() };
}

describe("auth", () => {
  it("requires a bearer token on every route except health, readiness, metrics and docs", async () => {
    const p = await h.admin.createPipeline(seedSpec("auth-target"));
    const userRoutes: [string, string][] = [
      ["GET", "/v1/pipelines"],
      ["POST", "/v1/pipelines"],
      ["GET", `/v1/pipelines/${p.id}`],
      ["PUT", `/v1/pipelines/${p.id}`],
      ["DELETE", `/v1/pipelines/${p.id}`],
      ["POST", `/v1/pipelines/${p.id}/pause`],
      ["POST", `/v1/pipelines/${p.id}/resume`],
      ["GET", `/v1/pipelines/${p.id}/status`],
      ["PUT", `/v1/pipelines/${p.id}/handler`],
      ["GET", `/v1/pipelines/${p.id}/versions`],
      ["GET", `/v1/pipelines/${p.id}/versions/1`],
      ["POST", `/v1/pipelines/${p.id}/rollback`],
      ["POST", `/v1/pipelines/${p.id}/test`],
      ["GET", `/v1/pipelines/${p.id}/logs`],
      ["GET", `/v1/pipelines/${p.id}/logs/tail`],
      ["GET", `/v1/pipelines/${p.id}/dlq`],
      ["GET", `/v1/pipelines/${p.id}/dlq/0-0`],
      ["POST", `/v1/pipelines/${p.id}/dlq/replay`],
      ["DELETE", `/v1/pipelines/${p.id}/dlq`],
      ["GET", "/v1/types/handler.d.ts"],
      ["GET", "/v1/tokens"],
    ];
    const workerRoutes: [string, string][] = [
      ["GET", "/v1/worker/desired-state"],
      ["POST", "/v1/worker/logs"],
      ["POST", "/v1/worker/status"],
      ["POST", "/v1/worker/heartbeat"],
    ];
    for (const [m, path] of [...userRoutes, ...workerRoutes]) {
      expect((await raw(m, path)).status, `${m} ${path} without token`).toBe(401);
      expect((await raw(m, path, "not-a-token")).status, `${m} ${path} bad token`).toBe(401);
    }
    for (const [m, path] of userRoutes) {
      const r = await raw(m, path, WORKER);
      expect(r.status, `${m} ${path} with worker token`).toBe(403);
      expect(JSON.parse(r.body).error.code).toBe("FORBIDDEN");
    }
    for (const [m, path] of workerRoutes)
      expect((await raw(m, path, ADMIN)).status, `${m} ${path} admin`).toBe(403);
    for (const path of ["/healthz", "/readyz", "/metrics", "/docs/json"])
      expect((await raw("GET", path)).status).toBe(200);
    expect((await h.admin.getPipeline(p.id)).name).toBe("auth-target"); // nothing was changed by refused calls
  });

  it("editor tokens drive pipelines but not token management; revoked tokens stop working", async () => {
    const user = await h.admin.createToken({
      name: "dev",
      kind: "project",
      project: "default",
      role: "editor",
    });
    expect(user.token).toMatch(/^weir_project_/);
    const dev = h.client(user.token);
    await dev.createPipeline(seedSpec("by-user"));
    await expect(dev.listTokens()).rejects.toMatchObject({ code: "FORBIDDEN", details: { status: 403 } });
    const listed = await h.admin.listTokens();
    expect(listed.items.map((t) => t.kind)).toEqual(expect.arrayContaining(["admin", "worker", "project"]));
    expect(JSON.stringify(listed)).not.toContain(user.token);
    await h.admin.deleteToken(user.id);
    await expect(dev.listPipelines()).rejects.toMatchObject({ code: "UNAUTHORIZED" });
    const w = await h.admin.createToken({ name: "w2", kind: "worker" });
    expect((await h.client(w.token).desiredState()).changed).toBe(true);
  });

  it("stores tokens hashed and creates the secret key file with mode 0600", () => {
    const db = readFileSync(join(dir, "weir.db")).toString("latin1") + walText();
    expect(db).not.toContain(ADMIN);
    expect(db).not.toContain(WORKER);
    expect(statSync(join(dir, "secret.key")).mode & 0o777).toBe(0o600);
  });

  it("generates admin and worker tokens into files on a first start without them", async () => {
    const other = await startApi(tempDir(), { WEIR_ADMIN_TOKEN: undefined, WEIR_WORKER_TOKEN: undefined });
    try {
      const admin = readFileSync(join(other.dir, "admin.token"), "utf8").trim();
      const worker = readFileSync(join(other.dir, "worker.token"), "utf8").trim();
      expect(statSync(join(other.dir, "admin.token")).mode & 0o777).toBe(0o600);
      expect((await other.client(admin).listPipelines()).items).toEqual([]);
      expect((await other.client(worker).desiredState()).revision).toBe(0);
      expect(other.logLines.join("\n")).not.toContain(admin);
    } finally {
      await other.close();
    }
  });
});

function walText(): string {
  return readdirSync(dir)
    .filter((f) => f.startsWith("weir.db-"))
    .map((f) => readFileSync(join(dir, f)).toString("latin1"))
    .join("");
}

describe("secrets", () => {
  it("encrypts secret fields at rest, redacts them in every response, decrypts them for workers only", async () => {
    const created = await h.admin.createPipeline(secretSpec("secrets"));
    const ch = await h.admin.createPipeline(
      seedSpec("secrets-ch", {
        sink: {
          type: "clickhouse",
          config: { url: "http://127.0.0.1:8123", table: "t", password: SECRETS[0] },
        },
      }),
    );
    await h.admin.uploadHandler(created.id, GOOD_HANDLER);
    const responses = [
      created,
      ch,
      await h.admin.getPipeline(created.id),
      await h.admin.listAllPipelines(),
      await h.admin.getPipelineStatus(created.id),
    ];
    const text = JSON.stringify(responses);
    for (const s of SECRETS) expect(text).not.toContain(s.replace("Bearer ", ""));
    expect(created.spec.sink.config).toMatchObject({
      headers: { Authorization: "[redacted]", "X-Custom": "[redacted]" },
    });
    expect(ch.spec.sink.config).toMatchObject({ password: "[redacted]" });

    // Round trip: a GET's body PUT back keeps the stored secrets.
    const back = await h.admin.getPipeline(created.id);
    await h.admin.updatePipeline(created.id, {
      ...(back.spec as unknown as PipelineSpecInput),
      env: { A: "1" },
    });

    const state = await h.worker.desiredState();
    if (!state.changed) throw new Error("expected full state");
    const wp = state.pipelines.find((p) => p.id === created.id);
    expect(wp?.spec.sink.config).toMatchObject({
      headers: { Authorization: SECRETS[2], "X-Custom": SECRETS[3] },
    });
    expect(wp?.spec.source.config.sasl?.password).toBe(SECRETS[1]);
    expect(wp?.spec.env).toEqual({ A: "1" });
    const wc = state.pipelines.find((p) => p.id === ch.id);
    expect(wc?.spec.sink.config).toMatchObject({ password: SECRETS[0] });

    // At rest: neither the database file nor its WAL holds a plain secret.
    const bytes = readFileSync(join(dir, "weir.db")).toString("latin1") + walText();
    for (const s of SECRETS) expect(bytes).not.toContain(s.replace("Bearer ", ""));
    expect(bytes).toContain('"$enc"');
  });

  it("scrubs secrets from worker log lines and keeps them out of the API's own logs", async () => {
    const p = await h.admin.createPipeline(secretSpec("secrets-logs"));
    await h.worker.sendLogs({
      worker_id: "w1",
      pipeline_id: p.id,
      dropped: 0,
      records: [
        {
          time: Date.now(),
          level: "error",
          message: `sink said: bad password ${SECRETS[1]}`,
          source: "worker",
          fields: { password: "x-fields-pass", n: 1 },
        },
      ],
    });
    const page = await h.admin.getLogs(p.id);
    expect(page.items[0]?.message).toBe("sink said: bad password [redacted]");
    expect(page.items[0]?.fields).toEqual({ password: "[redacted]", n: 1 });
    // Bad input with a secret in it must not echo the secret in the error or the log.
    const bad = await fetch(`${h.url}/v1/pipelines`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
      body: JSON.stringify({
        ...secretSpec("bad"),
        sink: { type: "nope", config: { password: "echo-me-not-Q9" } },
      }),
    });
    expect(bad.status).toBe(400);
    expect(await bad.text()).not.toContain("echo-me-not-Q9");
    const logs = h.logLines.join("\n");
    expect(h.logLines.length).toBeGreaterThan(10);
    for (const s of [
      ...SECRETS.map((x) => x.replace("Bearer ", "")),
      "echo-me-not-Q9",
      "x-fields-pass",
      ADMIN,
      WORKER,
    ]) {
      expect(logs).not.toContain(s);
    }
  });
});
