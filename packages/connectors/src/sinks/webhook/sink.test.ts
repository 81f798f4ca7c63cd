import type { WebhookSinkConfig } from "@weir/core";
import { clickhouseUrl, uniqueName } from "@weir/testing";
import { afterEach, describe, expect, it } from "vitest";
import { Receiver } from "../../testing/http-receiver.ts";
import { type ConformanceRow, makeBatch, runSinkConformance } from "../conformance.ts";
import { jsonArrayBody, WebhookSink } from "./sink.ts";

function config(url: string, extra: Partial<WebhookSinkConfig> = {}): WebhookSinkConfig {
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
    ...extra,
  };
}

for (const format of ["json", "ndjson"] as const) {
  runSinkConformance(`webhook (${format}, local receiver)`, {
    async create(pipelineId) {
      const receiver = await new Receiver().start();
      return {
        sink: new WebhookSink(config(receiver.url, { format }), { pipelineId }),
        read: async () => receiver.rows(),
        cleanup: () => receiver.stop(),
      };
    },
    missingTable: "a generic webhook has no table; the ClickHouse-HTTP run below covers the case",
    unreachable: () => new WebhookSink(config("http://127.0.0.1:1/x"), { pipelineId: "p" }),
  });
}

// The seed article's setup: a webhook aimed at ClickHouse's HTTP port with the INSERT in the URL.
const ch = clickhouseUrl();
async function sql(query: string): Promise<string> {
  const res = await fetch(ch, { method: "POST", body: query });
  const text = await res.text();
  if (!res.ok) throw new Error(`${query}: ${text}`);
  return text;
}
const insertUrl = (table: string, base = ch) =>
  `${base}/?query=${encodeURIComponent(`INSERT INTO default.${table} FORMAT JSONEachRow`)}`;
const seedHeaders = { "X-ClickHouse-Database": "default", "X-ClickHouse-Format": "JSONEachRow" };

runSinkConformance("webhook (ClickHouse HTTP interface)", {
  async create(pipelineId) {
    const table = uniqueName("weir_wh");
    await sql(
      `CREATE TABLE default.${table} (id UInt32, name String, value Float64) ENGINE = ReplacingMergeTree ORDER BY id`,
    );
    return {
      sink: new WebhookSink(config(insertUrl(table), { format: "ndjson", headers: seedHeaders }), {
        pipelineId,
      }),
      read: async (opts) =>
        (
          await sql(
            `SELECT * FROM default.${table} ${opts?.final ? "FINAL" : ""} ORDER BY id FORMAT JSONEachRow`,
          )
        )
          .split("\n")
          .filter(Boolean)
          .map((l) => JSON.parse(l) as ConformanceRow),
      cleanup: async () => {
        await sql(`DROP TABLE IF EXISTS default.${table}`);
      },
    };
  },
  missingTable: () => {
    const table = uniqueName("weir_missing");
    return {
      sink: new WebhookSink(config(insertUrl(table), { format: "ndjson" }), { pipelineId: "p" }),
      table,
    };
  },
  unreachable: () =>
    new WebhookSink(config(insertUrl("t", "http://127.0.0.1:1"), { format: "ndjson" }), { pipelineId: "p" }),
});

describe("webhook sink aimed at ClickHouse", () => {
  it("refuses the seed article's literal config (no INSERT in the URL) with a fix-it message", async () => {
    const sink = new WebhookSink(config(`${ch}/`, { headers: seedHeaders }), { pipelineId: "p" });
    const err = await sink.connect().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "SINK_SCHEMA" });
    expect((err as Error).message).toContain("?query=INSERT%20INTO%20<table>%20FORMAT%20JSONEachRow");
  });

  it("lands seed-shaped rows through the INSERT URL and notes that the key is ignored", async () => {
    const table = uniqueName("weir_wh_seed");
    await sql(
      `CREATE TABLE default.${table} (trace_id String, duration_ms Float64) ENGINE = ReplacingMergeTree ORDER BY trace_id`,
    );
    try {
      const sink = new WebhookSink(config(insertUrl(table), { format: "ndjson", headers: seedHeaders }), {
        pipelineId: "p",
      });
      await sink.connect();
      expect(sink.capabilities.notes.join("\n")).toMatch(/target is ClickHouse \d/);
      await sink.write(
        makeBatch("p", [
          [
            { trace_id: "a", duration_ms: 1.5 },
            { trace_id: "b", duration_ms: 2 },
          ],
        ]),
      );
      expect((await sql(`SELECT trace_id, duration_ms FROM default.${table} ORDER BY trace_id`)).trim()).toBe(
        "a\t1.5\nb\t2",
      );
      await sink.close();
    } finally {
      await sql(`DROP TABLE IF EXISTS default.${table}`);
    }
  });
});

describe("webhook sink against scripted answers", () => {
  let receiver: Receiver;
  let sink: WebhookSink;
  afterEach(async () => {
    await sink?.close();
    await receiver?.stop();
  });
  const rows = [{ id: 1, name: "a", value: 1 }];
  const setup = async (extra: Partial<WebhookSinkConfig> = {}) => {
    receiver = await new Receiver().start();
    sink = new WebhookSink(config(receiver.url, extra), { pipelineId: "p" });
    await sink.connect();
  };

  it("sends method, headers (secrets revealed) and the idempotency key", async () => {
    await setup({ method: "PUT", headers: { "X-Api-Key": { secret: "s3cret" }, "X-Team": "obs" } });
    const batch = makeBatch("pipe", [rows], { topic: "t", partition: 3, firstOffset: 41 });
    await sink.write(batch);
    const req = receiver.requests[0];
    expect(req?.method).toBe("PUT");
    expect(req?.headers["x-api-key"]).toBe("s3cret");
    expect(req?.headers["x-team"]).toBe("obs");
    expect(req?.headers["idempotency-key"]).toBe("pipe-t-3-41-42");
    expect(req?.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(req?.body ?? "")).toEqual(rows);
  });

  it("500 is retryable", async () => {
    await setup();
    receiver.script.push({ status: 500, body: "boom" });
    await expect(sink.write(makeBatch("p", [rows]))).rejects.toMatchObject({
      code: "SINK_RETRYABLE",
      retryable: true,
      details: { status: 500 },
    });
  });

  it("429 is retryable and honours Retry-After", async () => {
    await setup();
    receiver.script.push({ status: 429, headers: { "retry-after": "7" } });
    await expect(sink.write(makeBatch("p", [rows]))).rejects.toMatchObject({
      code: "SINK_RETRYABLE",
      backoffMs: 7000,
    });
  });

  it("a hung receiver times out as retryable", async () => {
    await setup({ timeout_ms: 300 });
    receiver.script.push("hang");
    const started = Date.now();
    const err = await sink.write(makeBatch("p", [rows])).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "SINK_RETRYABLE" });
    expect((err as Error).message).toContain("timed out after 300 ms");
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("400 is permanent; a later 200 succeeds", async () => {
    await setup();
    receiver.script.push({ status: 400, body: '{"error":"bad"}' });
    await expect(sink.write(makeBatch("p", [rows]))).rejects.toMatchObject({
      code: "SINK_PERMANENT",
      retryable: false,
    });
    await sink.write(makeBatch("p", [rows]));
    expect(receiver.rows()).toEqual(rows);
  });

  it("healthcheck connects over TCP and fails retryable when nothing listens", async () => {
    await setup();
    await sink.healthcheck();
    const down = new WebhookSink(config("http://127.0.0.1:1/"), { pipelineId: "p" });
    await expect(down.healthcheck()).rejects.toMatchObject({ code: "SINK_RETRYABLE" });
  });
});

describe("jsonArrayBody", () => {
  it("joins NDJSON chunks into one array without parsing", () => {
    const chunks = ['{"a":"x\\ny"}\n{"a":2}', '{"a":3}'];
    expect(JSON.parse(jsonArrayBody(chunks))).toEqual([{ a: "x\ny" }, { a: 2 }, { a: 3 }]);
  });
});
