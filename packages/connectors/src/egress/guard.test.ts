/**
 * The egress guard on real sockets, loopback only (Linux routes all of 127/8 to lo; `localhost`
 * resolves to 127.0.0.1 here): its lookup, its literal check, net/tls connects, the node http agent
 * (ClickHouse) and the undici dispatcher (webhook), each against servers that count what reaches them.
 */
import { request as httpRequest } from "node:http";
import net, { type AddressInfo, type Server } from "node:net";
import { egressPolicyFromLists, isWeirError, type WeirError } from "@weir/core";
import { fetch } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { egressSocketFactory } from "../kafka/socket-factory.ts";
import { egressGuard, egressRefusal } from "./guard.ts";
import { guardedDispatcher, guardedHttpAgent } from "./http.ts";

/** An HTTP/1.1 responder on raw TCP that counts the connections it accepts. */
interface Listener {
  server: Server;
  port: number;
  connections: number;
}

async function listen(host: string): Promise<Listener> {
  const l: Listener = { server: net.createServer(), port: 0, connections: 0 };
  l.server.on("connection", (socket) => {
    l.connections++;
    socket.on("data", () =>
      socket.end("HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"),
    );
    socket.on("error", () => undefined);
  });
  await new Promise<void>((r) => l.server.listen(0, host, r));
  l.port = (l.server.address() as AddressInfo).port;
  return l;
}

let one: Listener; // 127.0.0.1, what `localhost` resolves to
let two: Listener; // 127.0.0.2
beforeAll(async () => {
  one = await listen("127.0.0.1");
  two = await listen("127.0.0.2");
});
afterAll(() => {
  one.server.close();
  two.server.close();
});

const denying = (...deny: string[]) => egressGuard(egressPolicyFromLists({ deny }));

function lookupOf(
  guard: ReturnType<typeof egressGuard>,
  host: string,
  all: boolean,
): Promise<{ err: NodeJS.ErrnoException | null; address: unknown; family?: number | undefined }> {
  return new Promise((resolve) =>
    guard.lookup(host, { all }, (err, address, family) => resolve({ err, address, family })),
  );
}

function expectRefusal(err: unknown, parts: string[]): WeirError {
  expect(isWeirError(err)).toBe(true);
  const e = err as WeirError;
  expect(e.code).toBe("EGRESS_DENIED");
  expect(e.retryable).toBe(true);
  for (const p of parts) expect(e.message).toContain(p);
  return e;
}

/** Connect through the guard; resolves "connected" or the socket's error. */
function connectVia(socket: net.Socket): Promise<"connected" | Error> {
  return new Promise((resolve) => {
    socket.once("connect", () => {
      socket.destroy();
      resolve("connected");
    });
    socket.once("error", (err) => resolve(err));
  });
}

describe("egress guard: lookup", () => {
  it("refuses a name resolving to a denied address, naming host, address and rule", async () => {
    const guard = denying("127.0.0.1/32");
    for (const all of [true, false]) {
      const { err } = await lookupOf(guard, "localhost", all);
      const e = expectRefusal(err, ["localhost", "127.0.0.1", "rule 127.0.0.1/32"]);
      expect(e.details).toEqual({ host: "localhost", address: "127.0.0.1", rule: "127.0.0.1/32" });
    }
  });

  it("answers like dns.lookup for an allowed name (one address, or all of them)", async () => {
    const guard = denying("127.0.0.2/32");
    const one = await lookupOf(guard, "localhost", false);
    expect(one).toEqual({ err: null, address: "127.0.0.1", family: 4 });
    const all = await lookupOf(guard, "localhost", true);
    expect(all.err).toBeNull();
    expect(all.address).toContainEqual({ address: "127.0.0.1", family: 4 });
    // The (host, callback) form of dns.lookup.
    const short = await new Promise<unknown>((resolve) =>
      (guard.lookup as unknown as (h: string, cb: (e: unknown, a: unknown) => void) => void)(
        "localhost",
        (e, a) => resolve(e ?? a),
      ),
    );
    expect(short).toBe("127.0.0.1");
  });

  it("refuses a denied name without resolving it, and a name outside an allow list", async () => {
    expectRefusal((await lookupOf(denying("localhost"), "localhost", true)).err, ["rule localhost"]);
    const onlyTwo = egressGuard(egressPolicyFromLists({ allow: ["127.0.0.2/32"] }));
    expectRefusal((await lookupOf(onlyTwo, "localhost", false)).err, [
      "127.0.0.1",
      "not in the egress allow list",
    ]);
  });

  it("passes resolver errors through unchanged", async () => {
    const { err } = await lookupOf(denying(), "no-such-host.invalid", false);
    expect(err?.code).toMatch(/ENOTFOUND|EAI_AGAIN/);
  });
});

describe("egress guard: literals (node connects to them without a lookup)", () => {
  it("refuses denied literals, v4, v6 and bracketed, and the default rules", () => {
    expectRefusal(denying("127.0.0.2/32").literalDenial("127.0.0.2"), ["127.0.0.2", "rule 127.0.0.2/32"]);
    expectRefusal(denying("::1/128").literalDenial("[::1]"), ["::1"]);
    expectRefusal(denying("127.0.0.0/8").literalDenial("::ffff:127.0.0.9"), ["127.0.0.0/8"]);
    // Only checked, never dialled.
    expectRefusal(denying().literalDenial("169.254.169.254"), ["default rule 169.254.0.0/16"]);
    expectRefusal(denying().literalDenial("0.0.0.0"), ["default rule 0.0.0.0/8"]);
  });

  it("lets allowed literals and every name through (names are the lookup's job)", () => {
    expect(denying("127.0.0.2/32").literalDenial("127.0.0.1")).toBeUndefined();
    expect(denying("127.0.0.1/32").literalDenial("localhost")).toBeUndefined();
  });
});

describe("egress guard: sockets", () => {
  it("connect(): a denied literal and a name resolving to a denied address never reach the server", async () => {
    const before = { one: one.connections, two: two.connections };
    const lit = await connectVia(
      denying("127.0.0.2/32").connect({ host: "127.0.0.2", port: two.port }, false),
    );
    expectRefusal(lit, ["127.0.0.2"]);
    const name = await connectVia(
      denying("127.0.0.1/32").connect({ host: "localhost", port: one.port }, false),
    );
    expectRefusal(name, ["localhost", "127.0.0.1"]);
    const tls = await connectVia(
      denying("127.0.0.1/32").connect({ host: "localhost", port: one.port }, true),
    );
    expectRefusal(tls, ["localhost"]);
    expect({ one: one.connections, two: two.connections }).toEqual(before);
  });

  it("connect(): an allowed destination connects, by name and by literal", async () => {
    const before = one.connections;
    const guard = denying("127.0.0.2/32");
    expect(await connectVia(guard.connect({ host: "localhost", port: one.port }, false))).toBe("connected");
    expect(await connectVia(guard.connect({ host: "127.0.0.1", port: one.port }, false))).toBe("connected");
    await new Promise((r) => setTimeout(r, 50));
    expect(one.connections).toBe(before + 2);
  });

  it("the Kafka socket factory refuses the host kafkajs hands it (an advertised 127.0.0.1) before connecting", async () => {
    const before = one.connections;
    let connected = false;
    const factory = egressSocketFactory(denying("127.0.0.1/32"));
    const socket = factory({
      host: "127.0.0.1",
      port: one.port,
      ssl: undefined as never,
      onConnect: () => {
        connected = true;
      },
    });
    expectRefusal(await connectVia(socket), ["127.0.0.1", "rule 127.0.0.1/32"]);
    // The same through a name, and with TLS on (kafkajs passes `ssl: true`).
    const viaName = factory({
      host: "localhost",
      port: one.port,
      ssl: true as never,
      onConnect: () => undefined,
    });
    expectRefusal(await connectVia(viaName), ["localhost"]);
    expect(connected).toBe(false);
    expect(one.connections).toBe(before);
    // Allowed: kafkajs's onConnect fires.
    const ok = egressSocketFactory(denying("127.0.0.2/32"));
    await new Promise<void>((resolve) => {
      const s = ok({
        host: "localhost",
        port: one.port,
        ssl: undefined as never,
        onConnect: () => {
          s.destroy();
          resolve();
        },
      });
    });
  });
});

describe("egress guard: HTTP clients", () => {
  it("node http agent (ClickHouse): refuses a denied name and a denied literal, lets the rest through", async () => {
    const get = (url: string, agent: ReturnType<typeof guardedHttpAgent>) =>
      new Promise<number | Error>((resolve) => {
        const req = httpRequest(url, { agent }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on("error", resolve);
        req.end();
      });
    const before = one.connections;
    const denyOne = guardedHttpAgent(denying("127.0.0.1/32"), "http:", 2);
    expectRefusal(await get(`http://localhost:${one.port}/`, denyOne), ["localhost", "127.0.0.1"]);
    expectRefusal(await get(`http://127.0.0.1:${one.port}/`, denyOne), ["127.0.0.1", "rule 127.0.0.1/32"]);
    expect(one.connections).toBe(before);
    const allow = guardedHttpAgent(denying("127.0.0.2/32"), "http:", 2);
    expect(await get(`http://localhost:${one.port}/`, allow)).toBe(200);
    denyOne.destroy();
    allow.destroy();
  });

  it("undici dispatcher (webhook): refuses a denied name and a denied literal, lets the rest through", async () => {
    const before = { one: one.connections, two: two.connections };
    const deny = guardedDispatcher(denying("127.0.0.1/32", "127.0.0.2/32"));
    for (const url of [`http://localhost:${one.port}/`, `http://127.0.0.2:${two.port}/`]) {
      const err = await fetch(url, { dispatcher: deny }).then(
        () => new Error("connected"),
        (e: unknown) => e,
      );
      expectRefusal(egressRefusal(err), [new URL(url).hostname]);
    }
    expect({ one: one.connections, two: two.connections }).toEqual(before);
    const allow = guardedDispatcher(denying("127.0.0.1/32"));
    const res = await fetch(`http://127.0.0.2:${two.port}/`, { dispatcher: allow });
    expect(await res.text()).toBe("ok");
    expect(two.connections).toBe(before.two + 1);
    await deny.destroy();
    await allow.destroy();
  });
});
