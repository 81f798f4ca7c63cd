/**
 * The webhook sink never follows a redirect, and under an egress policy refuses a denied address at
 * connect time, whatever the URL says. Loopback only: the receiver on 127.0.0.1 answers 302 to a
 * second one on 127.0.0.2 (Linux routes all of 127/8 to lo), which must never see a request.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { egressPolicyFromLists, isWeirError, type WebhookSinkConfig, type WeirError } from "@weir/core";
import { clickhouseUrl } from "@weir/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeBatch } from "../conformance.ts";
import { WebhookSink } from "./sink.ts";

interface Endpoint {
  server: Server;
  url: string;
  requests: number;
}

async function endpoint(
  host: string,
  answer: (e: Endpoint) => [number, Record<string, string>],
): Promise<Endpoint> {
  const e: Endpoint = { server: createServer(), url: "", requests: 0 };
  e.server.on("request", (req, res) => {
    e.requests++;
    req.resume();
    req.on("end", () => {
      const [status, headers] = answer(e);
      res.writeHead(status, headers).end(status === 200 ? "ok" : "");
    });
  });
  await new Promise<void>((r) => e.server.listen(0, host, r));
  e.url = `http://${host}:${(e.server.address() as AddressInfo).port}/rows`;
  return e;
}

let target: Endpoint; // 127.0.0.2: where the redirect points
let redirector: Endpoint; // 127.0.0.1: answers 302 to target
beforeAll(async () => {
  target = await endpoint("127.0.0.2", () => [200, {}]);
  redirector = await endpoint("127.0.0.1", () => [302, { location: target.url }]);
});
afterAll(() => {
  for (const e of [target, redirector]) {
    e.server.closeAllConnections();
    e.server.close();
  }
});

function config(url: string): WebhookSinkConfig {
  return {
    url,
    method: "POST",
    headers: {},
    format: "json",
    timeout_ms: 2000,
    idempotency_header: "Idempotency-Key",
    max_batch_rows: 10_000,
    max_batch_bytes: 16 * 1024 * 1024,
    max_batch_wait_ms: 1000,
  };
}

const batch = () => makeBatch("p", [[{ id: 1, name: "a", value: 1 }]]);
const denying = (...deny: string[]) => egressPolicyFromLists({ deny });

async function failure(p: Promise<unknown>): Promise<WeirError> {
  const err = await p.then(
    () => new Error("no error"),
    (e: unknown) => e,
  );
  expect(isWeirError(err), String(err)).toBe(true);
  return err as WeirError;
}

describe("webhook sink: redirects and the egress policy", () => {
  it.each([
    ["without a policy", undefined],
    ["with a policy denying the redirect's target", denying("127.0.0.2/32")],
  ])(
    "never follows a 302 to 127.0.0.2 (%s): a permanent error, and 127.0.0.2 receives nothing",
    async (_, egress) => {
      const before = { target: target.requests, redirector: redirector.requests };
      const sink = new WebhookSink(config(redirector.url), { pipelineId: "p", egress });
      await sink.connect();
      const err = await failure(sink.write(batch()));
      await sink.close();
      expect(err.code).toBe("SINK_PERMANENT");
      expect(err.retryable).toBe(false);
      expect(err.message).toContain("HTTP 302");
      expect(err.message).toContain("redirects are not followed");
      expect(err.details).toMatchObject({ status: 302, location: target.url });
      expect(redirector.requests).toBe(before.redirector + 1);
      expect(target.requests).toBe(before.target);
    },
  );

  it("refuses at connect a URL whose name resolves to a denied address (localhost -> 127.0.0.1)", async () => {
    const before = redirector.requests;
    const url = redirector.url.replace("127.0.0.1", "localhost");
    const sink = new WebhookSink(config(url), { pipelineId: "p", egress: denying("127.0.0.1/32") });
    await sink.connect(); // a generic receiver: connect sends nothing
    const err = await failure(sink.write(batch()));
    expect(err.code).toBe("EGRESS_DENIED");
    expect(err.retryable).toBe(true);
    expect(err.message).toContain("localhost resolves to 127.0.0.1");
    expect(err.details).toMatchObject({ host: "localhost", address: "127.0.0.1", rule: "127.0.0.1/32" });
    // The TCP healthcheck goes through the guard too.
    expect((await failure(sink.healthcheck())).code).toBe("EGRESS_DENIED");
    await sink.close();
    expect(redirector.requests).toBe(before);
  });

  it("refuses a denied address literal and lets an allowed one through", async () => {
    const before = target.requests;
    const denied = new WebhookSink(config(target.url), { pipelineId: "p", egress: denying("127.0.0.2/32") });
    const err = await failure(denied.write(batch()));
    expect(err.code).toBe("EGRESS_DENIED");
    expect(err.message).toContain("127.0.0.2");
    await denied.close();
    expect(target.requests).toBe(before);

    const allowed = new WebhookSink(config(target.url), { pipelineId: "p", egress: denying("127.0.0.1/32") });
    await allowed.write(batch());
    await allowed.healthcheck();
    await allowed.close();
    expect(target.requests).toBe(before + 1);
  });

  it("a webhook aimed at ClickHouse through `localhost` fails its startup check with EGRESS_DENIED", async () => {
    const ch = new URL(clickhouseUrl()); // http://127.0.0.1:8123
    const url = `http://localhost:${ch.port}/?query=${encodeURIComponent("INSERT INTO default.t FORMAT JSONEachRow")}`;
    const sink = new WebhookSink(config(url), { pipelineId: "p", egress: denying("127.0.0.1/32") });
    const err = await failure(sink.connect());
    expect(err.code).toBe("EGRESS_DENIED");
    expect(err.message).toContain("startup check");
    await sink.close();
  });
});
