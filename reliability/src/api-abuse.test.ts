/**
 * Scenario 7: API abuse against a real API process. Property-based fuzzing (fast-check) of pipeline
 * specs and handler uploads, missing and wrong tokens on every route, attempts to read secrets. Every
 * answer is below 500, invalid input is 4xx and stores nothing, and no planted secret appears in any
 * response or in the API's own output.
 */
import { randomBytes } from "node:crypto";
import { parsePipelineSpec } from "@weir/core";
import { WeirClient } from "@weir/sdk";
import { type ApiProcess, startApi } from "@weir/testing";
import fc from "fast-check";
import { afterAll, beforeAll, expect, it } from "vitest";
import { report } from "./support/figures.ts";
import { scale } from "./support/scale.ts";

let api: ApiProcess;
let client: WeirClient;
const secret = (tag: string) => `${tag}-${randomBytes(12).toString("hex")}`;
const SECRETS = {
  chPassword: secret("chpw"),
  saslPassword: secret("sasl"),
  webhookAuth: secret("bearer"),
  fuzzPassword: secret("fuzzpw"),
};
const seen = { requests: 0, s4xx: 0, s2xx: 0, s5xx: 0, leaks: 0 };
let pipelineId = "";

function validSpec(name: string, password: string): Record<string, unknown> {
  return {
    name,
    source: {
      type: "kafka",
      config: {
        bootstrap_servers: "127.0.0.1:9",
        topic: "faults-api",
        sasl: { mechanism: "plain", username: "u", password: { secret: SECRETS.saslPassword } },
      },
    },
    sink: {
      type: "clickhouse",
      config: { url: "http://127.0.0.1:9", table: "t", password: { secret: password } },
    },
    env: { A: "b" },
    limits: { memory_mb: 64, timeout_ms: 500 },
    retry: { max_attempts: 3 },
  };
}

/** One request with an optional token; counts the status and checks the body for any secret. */
async function call(
  method: string,
  path: string,
  init: { token?: string | null; body?: unknown; raw?: string | Uint8Array; type?: string } = {},
) {
  const headers: Record<string, string> = {};
  if (init.token !== null) headers.authorization = `Bearer ${init.token ?? api.adminToken}`;
  let body: string | Uint8Array | undefined = init.raw;
  if (init.body !== undefined) {
    body = JSON.stringify(init.body);
    headers["content-type"] = "application/json";
  }
  if (init.type) headers["content-type"] = init.type;
  const res = await fetch(`${api.url}${path}`, { method, headers, body });
  const text = await res.text();
  seen.requests++;
  if (res.status >= 500) seen.s5xx++;
  else if (res.status >= 400) seen.s4xx++;
  else seen.s2xx++;
  if (Object.values(SECRETS).some((s) => text.includes(s))) seen.leaks++;
  return { status: res.status, text };
}

async function pipelineCount(): Promise<number> {
  return (await client.listAllPipelines()).length;
}

beforeAll(async () => {
  api = await startApi();
  client = new WeirClient({ baseUrl: api.url, token: api.adminToken });
  const created = await call("POST", "/v1/pipelines", {
    body: validSpec("faults-api-base", SECRETS.chPassword),
  });
  expect(created.status).toBe(201);
  pipelineId = (JSON.parse(created.text) as { id: string }).id;
  const hook = await call("POST", "/v1/pipelines", {
    body: {
      name: "faults-api-hook",
      source: { type: "kafka", config: { bootstrap_servers: "127.0.0.1:9", topic: "faults-api" } },
      sink: {
        type: "webhook",
        config: { url: "http://127.0.0.1:9/x", headers: { Authorization: { secret: SECRETS.webhookAuth } } },
      },
    },
  });
  expect(hook.status).toBe(201);
  const up = await call("PUT", `/v1/pipelines/${pipelineId}/handler`, {
    raw: "export function handler(d) { return d; }",
    type: "application/typescript",
  });
  expect(up.status).toBe(201);
});

afterAll(async () => {
  await api?.kill("SIGTERM");
});

/** A JSON path into the valid spec and a value to put there (or delete it). */
const mutation = fc.record({
  path: fc.constantFrom(
    ["name"],
    ["source"],
    ["source", "type"],
    ["source", "config"],
    ["source", "config", "topic"],
    ["source", "config", "bootstrap_servers"],
    ["source", "config", "sasl", "mechanism"],
    ["source", "config", "sasl", "password"],
    ["source", "config", "extra"],
    ["sink", "type"],
    ["sink", "config", "url"],
    ["sink", "config", "table"],
    ["sink", "config", "password"],
    ["sink", "config", "max_batch_rows"],
    ["env"],
    ["env", "1BAD"],
    ["limits", "memory_mb"],
    ["limits", "timeout_ms"],
    ["retry", "max_attempts"],
    ["dead_letter"],
    ["unknown"],
  ),
  value: fc.oneof(
    fc.constant(undefined),
    fc.jsonValue({ maxDepth: 2 }),
    fc.integer(),
    fc.double(),
    fc.string({ unit: "grapheme", maxLength: 300 }),
    fc.constantFrom(-1, 0, 2 ** 53, "", "x".repeat(5000), null, [], {}, "../../etc", "ftp://x", "a b"),
  ),
});

function mutate(
  spec: Record<string, unknown>,
  path: readonly string[],
  value: unknown,
): Record<string, unknown> {
  const copy = structuredClone(spec);
  let node: Record<string, unknown> = copy;
  for (const key of path.slice(0, -1)) {
    if (typeof node[key] !== "object" || node[key] === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  const last = path[path.length - 1]!;
  if (value === undefined) delete node[last];
  else node[last] = value;
  return copy;
}

it("answers fuzzed specs, uploads and tokens with 4xx, stores nothing invalid, leaks no secret", async () => {
  const runs = scale(300, 3000);
  let count = await pipelineCount();
  let n = 0;

  // Specs: mutations of a valid one (one to three at a time) and arbitrary JSON.
  const specs = fc.oneof(
    fc.array(mutation, { minLength: 1, maxLength: 3 }),
    fc.jsonValue({ maxDepth: 4 }).map((v) => ({ raw: v })),
  );
  await fc.assert(
    fc.asyncProperty(specs, async (m) => {
      const body = Array.isArray(m)
        ? m.reduce((s, x) => mutate(s, x.path, x.value), validSpec(`fz-${n++}`, SECRETS.fuzzPassword))
        : m.raw;
      const r = await call("POST", "/v1/pipelines", { body });
      expect(r.status).toBeLessThan(500);
      const valid = parsePipelineSpec(body).ok;
      if (r.status === 201) {
        expect(valid).toBe(true);
        count++;
      } else {
        expect(r.status).toBeGreaterThanOrEqual(400);
        if (!valid) expect(r.status).not.toBe(409);
      }
      expect(await pipelineCount()).toBe(count);
    }),
    { numRuns: runs },
  );

  // Uploads that cannot be a handler: syntax errors, imports, no export, binary, empty.
  const versions = async () => (await client.listVersions(pipelineId)).items.length;
  const before = await versions();
  const bad = fc.oneof(
    fc.string({ maxLength: 200 }).map((s) => `export function handler(d) { return ${s} ( ; }`),
    fc
      .constantFrom("fs", "node:fs", "child_process", "./x", "lodash")
      .map((m) => `import x from "${m}";\nexport function handler(d) { return x(d); }`),
    fc.string({ maxLength: 200 }).map((s) => `export const notHandler = ${JSON.stringify(s)};`),
    fc.uint8Array({ minLength: 1, maxLength: 2000 }).map((b) => Buffer.from([0xff, 0xfe, 0, ...b])),
    fc.constant(""),
  );
  await fc.assert(
    fc.asyncProperty(bad, async (src) => {
      const r = await call("PUT", `/v1/pipelines/${pipelineId}/handler?filename=h.ts`, {
        raw: src,
        type: "application/typescript",
      });
      expect(r.status).toBeGreaterThanOrEqual(400);
      expect(r.status).toBeLessThan(500);
    }),
    { numRuns: Math.ceil(runs / 3) },
  );
  expect(await versions()).toBe(before);

  // Tokens: none, garbage, a worker token on user routes, an admin token on worker routes.
  const routes: [string, string][] = [
    ["GET", "/v1/pipelines"],
    ["POST", "/v1/pipelines"],
    ["GET", `/v1/pipelines/${pipelineId}`],
    ["PUT", `/v1/pipelines/${pipelineId}`],
    ["DELETE", `/v1/pipelines/${pipelineId}`],
    ["GET", `/v1/pipelines/${pipelineId}/versions/1`],
    ["GET", `/v1/pipelines/${pipelineId}/dlq`],
    ["POST", "/v1/tokens"],
    ["GET", "/v1/tokens"],
  ];
  const token = fc.oneof(
    fc.constant(null),
    fc.string({ maxLength: 80 }).filter((s) => /^[\x21-\x7e]*$/.test(s)),
    fc.constant(api.workerToken),
    fc.constant(`${api.adminToken}x`),
    fc.constant(api.adminToken.slice(0, -1)),
  );
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...routes), token, async ([method, path], t) => {
      const r = await call(method, path, { token: t, ...(method === "GET" ? {} : { body: { name: "x" } }) });
      expect([401, 403]).toContain(r.status);
    }),
    { numRuns: runs },
  );
  for (const t of [null, "nope", api.adminToken]) {
    const r = await call("GET", "/v1/worker/desired-state", { token: t });
    expect([401, 403]).toContain(r.status);
  }
  expect(await pipelineCount()).toBe(count);

  // Reading secrets: every user-visible view of the pipelines, redacted round trip included.
  for (const path of [
    "/v1/pipelines",
    `/v1/pipelines/${pipelineId}`,
    `/v1/pipelines/${pipelineId}/status`,
    `/v1/pipelines/${pipelineId}/versions`,
    "/docs/json",
    "/metrics",
  ]) {
    const r = await call("GET", path, { token: api.adminToken });
    expect(r.status).toBe(200);
  }
  const view = JSON.parse((await call("GET", `/v1/pipelines/${pipelineId}`)).text) as {
    spec: Record<string, unknown>;
  };
  const put = await call("PUT", `/v1/pipelines/${pipelineId}`, { body: view.spec });
  expect(put.status).toBe(200);

  const output = api.output();
  const inOutput = Object.values(SECRETS).filter((s) => output.includes(s)).length;
  report("api abuse", {
    sent: seen.requests,
    expected: 0,
    landed: 0,
    dup_after_dedup: 0,
    raw_dups: 0,
    dlq: 0,
    recovery_ms: null,
    status_2xx: seen.s2xx,
    status_4xx: seen.s4xx,
    status_5xx: seen.s5xx,
    secret_leaks_responses: seen.leaks,
    secret_leaks_output: inOutput,
    pipelines_created_by_fuzz: count - 2,
  });
  expect(seen.s5xx).toBe(0);
  expect(seen.leaks).toBe(0);
  expect(inOutput).toBe(0);
});
