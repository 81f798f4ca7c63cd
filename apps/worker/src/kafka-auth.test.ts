/**
 * Pipelines whose source is the test broker's SASL_SSL listener (scripts/services; address, CA and
 * users from sasl.json): with the right SCRAM-SHA-512 credentials and the CA in `source.tls.ca` the
 * rows land exactly; with a wrong password the pipeline reports `failing` with KAFKA_AUTH and the
 * user in its last error and retries its start with growing waits, while the same runner set (and
 * process) goes on serving a healthy pipeline.
 */
import type { DesiredPipeline, LogRecord } from "@weir/core";
import { WeirClient } from "@weir/sdk";
import {
  type ApiProcess,
  type AppProcess,
  kafkaSaslAvailable,
  kafkaSaslConfigPath,
  kafkaSaslSource,
  startApi,
  startWorker,
  type TestSaslMechanism,
  waitFor,
} from "@weir/testing";
import { afterAll, describe, expect, it } from "vitest";
import { PipelineRunner } from "./runner.ts";
import {
  ch,
  clickhouseSink,
  createTable,
  createTopic,
  desiredPipeline,
  ECHO_HANDLER,
  produce,
  testDeps,
} from "./test-support.ts";

const runners: PipelineRunner[] = [];
const processes: AppProcess[] = [];

function start(runner: PipelineRunner): PipelineRunner {
  runners.push(runner);
  runner.start();
  return runner;
}

afterAll(async () => {
  await Promise.allSettled(runners.map((r) => r.stop(2000)));
  await Promise.allSettled(processes.map((p) => p.kill("SIGTERM")));
  await ch.close();
});

/** The desired pipeline of test-support with its source moved to the SASL_SSL listener. */
async function saslPipeline(
  mechanism: TestSaslMechanism,
  topic: string,
  table: string,
  opts: { password?: string; retry?: Record<string, number> } = {},
): Promise<DesiredPipeline> {
  const desired = await desiredPipeline({
    topic,
    sink: clickhouseSink(table),
    ...(opts.retry ? { retry: opts.retry } : {}),
  });
  const sasl = kafkaSaslSource(mechanism, opts.password ? { password: opts.password } : {});
  desired.spec.source.config = { ...desired.spec.source.config, ...sasl };
  return desired;
}

async function rows(table: string): Promise<{ id: number; v: string }[]> {
  const r = await ch.query({ query: `SELECT id, v FROM ${table} ORDER BY id`, format: "JSONEachRow" });
  return (await r.json<{ id: string; v: string }>()).map((x) => ({ id: Number(x.id), v: x.v }));
}

/** The worker's own "start: ..." failure lines, oldest first. */
function startFailures(shipped: LogRecord[]): LogRecord[] {
  return shipped.filter((l) => l.source === "worker" && l.message.startsWith("start: "));
}

describe.skipIf(!kafkaSaslAvailable())(`pipelines through SASL_SSL (${kafkaSaslConfigPath()})`, () => {
  it.each(["scram-sha-512", "plain"] as const)(
    "consumes through SASL_SSL with %s and lands exactly the rows",
    async (mechanism) => {
      // Produced through the plain listener: the same topic, read through the SASL_SSL one.
      const topic = await createTopic(1);
      const table = await createTable();
      const sent = Array.from({ length: 50 }, (_, i) => ({ id: i + 1, v: `${mechanism}-${i + 1}` }));
      await produce(topic, sent);
      const runner = start(new PipelineRunner(await saslPipeline(mechanism, topic, table), testDeps()));
      await waitFor(async () => (await rows(table)).length >= sent.length, { what: `${sent.length} rows` });
      expect(await rows(table)).toEqual(sent);
      const report = runner.report();
      expect(report.state).toBe("running");
      expect(report.last_error).toBeNull();
      expect(report.counters).toMatchObject({ messages_in: 50, rows_out: 50, failed: 0, dlq: 0 });
    },
  );

  it("reports a wrong password as failing with KAFKA_AUTH and retries with backoff while a healthy pipeline flows", async () => {
    const badTopic = await createTopic(1);
    const badTable = await createTable();
    await produce(badTopic, [{ id: 1, v: "never" }]);
    const retry = { max_attempts: 4, initial_backoff_ms: 100, max_backoff_ms: 800 };
    const badDeps = testDeps();
    const bad = start(
      new PipelineRunner(
        await saslPipeline("scram-sha-512", badTopic, badTable, { password: "wrong-password", retry }),
        badDeps,
      ),
    );

    // Four failed starts: each one a worker log line with the classified reason.
    await waitFor(() => startFailures(badDeps.shipped).length >= 4, {
      what: "four failed starts",
      timeoutMs: 60_000,
    });
    const report = bad.report();
    expect(report.state).toBe("failing");
    const user = kafkaSaslSource("scram-sha-512").sasl!.username;
    expect(report.last_error).toMatchObject({ code: "KAFKA_AUTH", retryable: false });
    expect(report.last_error!.message).toMatch(
      new RegExp(`^SASL authentication failed for user ${user} \\(mechanism scram-sha-512\\): `),
    );
    expect(report.last_error!.message).not.toContain("wrong-password");
    const failures = startFailures(badDeps.shipped);
    for (const f of failures) expect(f.message).toBe(`start: ${report.last_error!.message}`);
    // Attempt n waits at least half of min(max, initial * 2^n) (full jitter on the upper half): the
    // gaps are bounded below, so a tight crash loop fails this whatever the machine's speed.
    for (let n = 1; n < 4; n++) {
      const gap = failures[n]!.time - failures[n - 1]!.time;
      expect(gap).toBeGreaterThanOrEqual(
        Math.min(retry.max_backoff_ms, retry.initial_backoff_ms * 2 ** n) / 2 - 5,
      );
    }

    // The same process still serves a healthy pipeline (through the same listener) meanwhile.
    const goodTopic = await createTopic(1);
    const goodTable = await createTable();
    const sent = [
      { id: 7, v: "a" },
      { id: 8, v: "b" },
    ];
    await produce(goodTopic, sent);
    start(new PipelineRunner(await saslPipeline("scram-sha-512", goodTopic, goodTable), testDeps()));
    await waitFor(async () => (await rows(goodTable)).length >= 2, { what: "healthy rows" });
    expect(await rows(goodTable)).toEqual(sent);
    expect(await rows(badTable)).toEqual([]);
    expect(bad.report().state).toBe("failing");
  });

  it("a worker process reports the refused login through the API and stays up serving other pipelines", async () => {
    const api: ApiProcess = await startApi();
    processes.push(api);
    const worker = startWorker(api);
    processes.push(worker);
    const client = new WeirClient({ baseUrl: api.url, token: api.adminToken });
    const create = async (topic: string, table: string, password?: string) => {
      const p = await client.createPipeline({
        name: `wk-auth-${topic}`.replaceAll("_", "-"),
        source: {
          type: "kafka",
          config: { ...kafkaSaslSource("scram-sha-512", password ? { password } : {}), topic },
        },
        sink: clickhouseSink(table),
        retry: { max_attempts: 4, initial_backoff_ms: 100, max_backoff_ms: 1000 },
      });
      await client.uploadHandler(p.id, ECHO_HANDLER);
      return p;
    };
    const badTopic = await createTopic(1);
    const bad = await create(badTopic, await createTable(), "wrong-password");
    const status = await waitFor(
      async () => {
        const s = await client.getPipelineStatus(bad.id);
        return s.workers.length > 0 && s.state === "failing" && s.last_error?.code === "KAFKA_AUTH"
          ? s
          : null;
      },
      { what: "the bad pipeline to report KAFKA_AUTH", timeoutMs: 60_000 },
    );
    expect(status.last_error!.message).toMatch(
      /^SASL authentication failed for user \S+ \(mechanism scram-sha-512\): /,
    );

    const goodTopic = await createTopic(1);
    const goodTable = await createTable();
    const sent = [
      { id: 1, v: "x" },
      { id: 2, v: "y" },
    ];
    await produce(goodTopic, sent);
    await create(goodTopic, goodTable);
    await waitFor(async () => (await rows(goodTable)).length >= 2, {
      what: "rows of the healthy pipeline",
      timeoutMs: 60_000,
    });
    expect(await rows(goodTable)).toEqual(sent);
    // Same process all along: no crash, no restart; the bad pipeline still failing with its reason.
    expect(worker.proc.exitCode).toBeNull();
    expect(worker.proc.signalCode).toBeNull();
    expect((await client.getPipelineStatus(bad.id)).last_error?.code).toBe("KAFKA_AUTH");
  }, 120_000);
});
