/**
 * The ClickHouse sink under an egress policy, against the real local server (127.0.0.1:8123,
 * loopback only): `http://localhost:8123` passes the static check, but the client's HTTP agent
 * refuses the socket once the name resolves to the denied 127.0.0.1; a literal URL is refused too;
 * and a policy tightened after connect refuses the next connection (each socket is checked as it opens).
 */
import type { ClickHouseSinkConfig } from "@weir/core";
import { egressPolicyFromLists, isWeirError, type WeirError } from "@weir/core";
import { clickhouseUrl, uniqueName } from "@weir/testing";
import { afterAll, describe, expect, it } from "vitest";
import { makeBatch } from "../conformance.ts";
import { ClickHouseSink } from "./sink.ts";

const server = new URL(clickhouseUrl()); // http://127.0.0.1:8123
const viaName = `http://localhost:${server.port}`;
const table = uniqueName("weir_ch_egress");

async function sql(query: string): Promise<string> {
  const res = await fetch(server, { method: "POST", body: query });
  const text = await res.text();
  if (!res.ok) throw new Error(`${query}: ${text}`);
  return text;
}

afterAll(async () => {
  await sql(`DROP TABLE IF EXISTS default.${table}`);
});

function config(url: string): ClickHouseSinkConfig {
  return {
    url,
    table,
    database: "default",
    username: "default",
    request_timeout_ms: 10_000,
    max_batch_rows: 10_000,
    max_batch_bytes: 16 * 1024 * 1024,
    max_batch_wait_ms: 1000,
  };
}

async function failure(p: Promise<unknown>): Promise<WeirError> {
  const err = await p.then(
    () => new Error("no error"),
    (e: unknown) => e,
  );
  expect(isWeirError(err), String(err)).toBe(true);
  return err as WeirError;
}

const denyServer = () => egressPolicyFromLists({ deny: [`${server.hostname}/32`] });

describe("clickhouse sink under the egress policy", () => {
  it("refuses http://localhost:8123 once it resolves to the denied 127.0.0.1 (connect and healthcheck)", async () => {
    await sql(
      `CREATE TABLE IF NOT EXISTS default.${table} (id UInt32, name String, value Float64) ENGINE = Memory`,
    );
    // Control: the same URL without a policy connects.
    const open = new ClickHouseSink(config(viaName), { pipelineId: "p" });
    await open.connect();
    await open.close();

    const sink = new ClickHouseSink(config(viaName), { pipelineId: "p", egress: denyServer() });
    const err = await failure(sink.connect());
    expect(err.code).toBe("EGRESS_DENIED");
    expect(err.retryable).toBe(true);
    expect(err.message).toContain(`localhost resolves to ${server.hostname}`);
    expect(err.details).toMatchObject({
      host: "localhost",
      address: server.hostname,
      rule: `${server.hostname}/32`,
    });
    expect((await failure(sink.healthcheck())).code).toBe("EGRESS_DENIED");
    await sink.close();
  });

  it("refuses an address literal URL", async () => {
    const sink = new ClickHouseSink(config(server.origin), { pipelineId: "p", egress: denyServer() });
    const err = await failure(sink.connect());
    expect(err.code).toBe("EGRESS_DENIED");
    expect(err.message).toContain(`rule ${server.hostname}/32`);
    await sink.close();
  });

  it("checks every new socket: a policy tightened after connect refuses the next connection (write)", async () => {
    await sql(
      `CREATE TABLE IF NOT EXISTS default.${table} (id UInt32, name String, value Float64) ENGINE = Memory`,
    );
    const policy = egressPolicyFromLists({ deny: ["127.0.0.2/32"] });
    const sink = new ClickHouseSink(config(viaName), { pipelineId: "p", egress: policy });
    await sink.connect();
    await sink.write(makeBatch("p", [[{ id: 1, name: "a", value: 1 }]]));
    // As if `localhost` now resolved somewhere denied: the guard reads the policy at each connection.
    policy.deny.unshift(...denyServer().deny.slice(0, 1));
    // Idle keep-alive sockets expire after the client's 2.5 s TTL; the next write opens a new one.
    await new Promise((r) => setTimeout(r, 3000));
    const err = await failure(
      sink.write(makeBatch("p", [[{ id: 2, name: "b", value: 2 }]], { firstOffset: 1 })),
    );
    expect(err.code).toBe("EGRESS_DENIED");
    expect(err.details).toMatchObject({ address: server.hostname, table: `default.${table}`, rows: 1 });
    await sink.close();
    expect((await sql(`SELECT id FROM default.${table} ORDER BY id FORMAT TabSeparated`)).trim()).toBe("1");
  }, 15_000);
});
