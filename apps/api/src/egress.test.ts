/**
 * The egress policy on the API: create and update refuse destinations the policy denies (400 naming
 * the field; static check, nothing is sent anywhere), workers receive the operator's lists with the
 * desired state, and the DLQ routes check the brokers after resolution before the API connects.
 */
import { DEFAULT_EGRESS_DENY } from "@weir/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "./app.ts";
import { parseEnv } from "./env.ts";
import { type Harness, seedSpec, startApi, tempDir } from "./test-helpers.ts";

const webhook = (url: string) => ({ sink: { type: "webhook", config: { url } } });
const kafka = (bootstrap_servers: string | string[]) => ({
  source: { type: "kafka", config: { bootstrap_servers, topic: "egress-t" } },
});

let denying: Harness;
let open: Harness;
beforeAll(async () => {
  denying = await startApi(tempDir(), { WEIR_EGRESS_DENY: "127.0.0.2/32, 127.0.0.3" });
  open = await startApi(tempDir());
});
afterAll(async () => {
  await denying?.close();
  await open?.close();
});

describe("egress policy on create and update", () => {
  it("refuses a webhook on a denied address with 400 naming /sink/config/url", async () => {
    const err = await denying.admin
      .createPipeline(seedSpec("eg-webhook", webhook("http://127.0.0.2:9/x")))
      .catch((e) => e);
    expect(err).toMatchObject({
      code: "VALIDATION",
      message: "/sink/config/url: 127.0.0.2 is denied by the egress policy (rule 127.0.0.2/32)",
      details: { status: 400, issues: [{ path: "/sink/config/url" }] },
    });
    // Not stored.
    expect((await denying.admin.listAllPipelines()).map((p) => p.name)).not.toContain("eg-webhook");
    // The same spec is fine where the operator denies nothing.
    await expect(
      open.admin.createPipeline(seedSpec("eg-webhook", webhook("http://127.0.0.2:9/x"))),
    ).resolves.toMatchObject({ name: "eg-webhook" });
  });

  it("refuses cloud metadata and link-local brokers by default, naming the broker's field", async () => {
    const err = await open.admin
      .createPipeline(seedSpec("eg-metadata", kafka("169.254.169.254:9092")))
      .catch((e) => e);
    expect(err).toMatchObject({
      code: "VALIDATION",
      details: {
        status: 400,
        issues: [
          {
            path: "/source/config/bootstrap_servers",
            message: "169.254.169.254 is denied by the egress policy (default rule 169.254.0.0/16)",
          },
        ],
      },
    });
    const arr = await open.admin
      .createPipeline(seedSpec("eg-metadata-arr", kafka(["127.0.0.1:9092", "[fe80::1]:9092"])))
      .catch((e) => e);
    expect(arr).toMatchObject({
      code: "VALIDATION",
      details: { status: 400, issues: [{ path: "/source/config/bootstrap_servers/1" }] },
    });
    const ch = await open.admin
      .createPipeline(
        seedSpec("eg-metadata-ch", {
          sink: { type: "clickhouse", config: { url: "http://metadata.google.internal/", table: "t" } },
        }),
      )
      .catch((e) => e);
    expect(ch).toMatchObject({ details: { status: 400, issues: [{ path: "/sink/config/url" }] } });
  });

  it("refuses an update that moves a destination onto a denied address", async () => {
    const p = await denying.admin.createPipeline(seedSpec("eg-update", webhook("http://127.0.0.1:9/x")));
    const err = await denying.admin
      .updatePipeline(p.id, seedSpec("eg-update", webhook("http://127.0.0.3:9/x")))
      .catch((e) => e);
    expect(err).toMatchObject({
      code: "VALIDATION",
      details: { status: 400, issues: [{ path: "/sink/config/url" }] },
    });
    const stored = await denying.admin.getPipeline(p.id);
    expect(stored.revision).toBe(p.revision);
    expect(stored.spec.sink.config).toMatchObject({ url: "http://127.0.0.1:9/x" });
  });
});

describe("egress policy for workers and the API's own connections", () => {
  it("sends the operator's lists with the desired state, changed or not", async () => {
    const full = await denying.worker.desiredState();
    expect(full).toMatchObject({ changed: true, egress: { allow: [], deny: ["127.0.0.2/32", "127.0.0.3"] } });
    const same = await denying.worker.desiredState(full.revision);
    expect(same).toEqual({
      changed: false,
      revision: full.revision,
      egress: { allow: [], deny: ["127.0.0.2/32", "127.0.0.3"] },
    });
    expect((await open.worker.desiredState()).egress).toEqual({ allow: [], deny: [] });
  });

  it("refuses a DLQ read when the brokers' name resolves to a denied address (403, nothing sent)", async () => {
    // localhost resolves from /etc/hosts; the static check lets the name through.
    const h = await startApi(tempDir(), { WEIR_EGRESS_DENY: "127.0.0.0/8,::1/128" });
    try {
      const p = await h.admin.createPipeline(
        seedSpec("eg-dlq", { ...kafka("localhost:9092"), ...webhook("http://192.0.2.1/") }),
      );
      const err = await h.admin.listDlq(p.id).catch((e) => e);
      expect(err).toMatchObject({
        code: "EGRESS_DENIED",
        details: { status: 403, path: "/source/config/bootstrap_servers", host: "localhost" },
      });
      expect(err.message).toMatch(/^\/source\/config\/bootstrap_servers: host localhost resolves to/);
    } finally {
      await h.close();
    }
  });
});

describe("egress settings", () => {
  it("are validated at boot, naming the variable and the bad entry", async () => {
    expect(() => parseEnv({ WEIR_EGRESS_DENY: "10.0.0.0/8,10.0.0.0/40" })).toThrow(
      /WEIR_EGRESS_DENY: bad entry "10.0.0.0\/40": not a CIDR range/,
    );
    expect(() => parseEnv({ WEIR_EGRESS_ALLOW: "http://kafka:9092" })).toThrow(
      /WEIR_EGRESS_ALLOW: bad entry/,
    );
    expect(parseEnv({ WEIR_EGRESS_ALLOW: "10.0.0.0/8,*.example.com" }).WEIR_EGRESS_ALLOW).toBe(
      "10.0.0.0/8,*.example.com",
    );
    const dir = tempDir();
    await expect(
      buildApp({ env: { WEIR_DB_PATH: `${dir}/weir.db`, WEIR_EGRESS_ALLOW: "not a host" } }),
    ).rejects.toThrow(/WEIR_EGRESS_ALLOW: bad entry "not a host"/);
    expect(DEFAULT_EGRESS_DENY).toContain("169.254.0.0/16");
  });
});
