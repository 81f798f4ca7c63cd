import type { LogRecord } from "@weir/core";
import { insertLogs, openDb } from "@weir/db";
import { WeirClient } from "@weir/sdk";
import { type ApiProcess, startApi, waitFor } from "@weir/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Cli, cliFor, specFor } from "./test-helpers.ts";

let api: ApiProcess;
let cli: Cli;
let worker: WeirClient;
let id: string;
const HOUR = 3_600_000;
const t0 = Date.now();

const line = (level: LogRecord["level"], message: string, time: number, extra: Partial<LogRecord> = {}) =>
  ({ time, level, message, source: "handler", ...extra }) satisfies LogRecord;

beforeAll(async () => {
  api = await startApi();
  cli = cliFor(api);
  worker = new WeirClient({ baseUrl: api.url, token: api.workerToken });
  cli.file("p.json", JSON.stringify(specFor("cli-logs")));
  id = JSON.parse((await cli(["pipelines", "create", "-f", "p.json", "--json"])).stdout).id;
  await worker.sendLogs({
    worker_id: "w-test",
    pipeline_id: id,
    dropped: 0,
    records: [
      line("debug", "three hours ago", t0 - 3 * HOUR),
      line("warn", "two hours ago", t0 - 2 * HOUR, {
        fields: { k: 1 },
        topic: "t",
        partition: 0,
        offset: "7",
      }),
      line("error", "one hour ago", t0 - HOUR),
    ],
  });
});
afterAll(async () => {
  await api?.kill();
});

describe("weir logs", () => {
  it("prints lines oldest first and filters by level, time and count", async () => {
    const all = await cli(["logs", "cli-logs"]);
    expect(all.code).toBe(0);
    const lines = all.stdout.trim().split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[0]).toBe(`${new Date(t0 - 3 * HOUR).toISOString()} DEBUG handler three hours ago`);
    expect(lines[1]).toBe(
      `${new Date(t0 - 2 * HOUR).toISOString()} WARN  handler two hours ago {"k":1} [t/0@7]`,
    );
    expect(lines[2]).toContain("ERROR handler one hour ago");

    const warn = await cli(["logs", id, "--level", "warn"]);
    expect(
      warn.stdout
        .trim()
        .split("\n")
        .map((l) => l.split(" handler ")[1]),
    ).toEqual(['two hours ago {"k":1} [t/0@7]', "one hour ago"]);
    const since = await cli(["logs", id, "--since", "150m"]);
    expect(since.stdout).not.toContain("three hours ago");
    expect(since.stdout).toContain("two hours ago");
    const iso = await cli(["logs", id, "--since", new Date(t0 - 90 * 60_000).toISOString()]);
    expect(iso.stdout.trim().split("\n")).toHaveLength(1);
    const limit = await cli(["logs", id, "--limit", "1"]);
    expect(limit.stdout).toMatch(/one hour ago\n$/);
    expect(limit.stdout.trim().split("\n")).toHaveLength(1);

    const json = await cli(["logs", id, "--json", "--level", "error"]);
    const entries = json.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(entries).toEqual([
      expect.objectContaining({ level: "error", message: "one hour ago", id: expect.any(Number) }),
    ]);

    const none = await cli(["logs", id, "--since", new Date(t0 + HOUR).toISOString()]);
    expect(none).toMatchObject({ code: 0, stdout: "" });
    expect(none.stderr).toContain("no log lines for cli-logs");

    expect((await cli(["logs", id, "--since", "yesterday"])).code).toBe(2);
    expect((await cli(["logs", id, "--level", "loud"])).code).toBe(2);
  });

  it("follows the live tail until the signal aborts, without repeating the backlog", async () => {
    const stop = new AbortController();
    let seen = "";
    const running = cli(["logs", id, "-f", "--json", "--level", "warn"], {
      signal: stop.signal,
      stdout: (t) => {
        seen += t;
      },
    });
    await waitFor(() => seen.includes("one hour ago"), { what: "the backlog", timeoutMs: 10_000 });
    let n = 0;
    // The tail subscribes asynchronously: send until a line shows up.
    await waitFor(
      async () => {
        n++;
        await worker.sendLogs({
          worker_id: "w-test",
          pipeline_id: id,
          dropped: 0,
          records: [line("info", `quiet ${n}`, Date.now()), line("warn", `live ${n}`, Date.now())],
        });
        return seen.includes('"live ');
      },
      { what: "a live line", timeoutMs: 10_000, intervalMs: 300 },
    );
    stop.abort();
    const res = await running;
    expect(res.code).toBe(0);
    const entries = res.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(entries.filter((e) => e.message === "one hour ago")).toHaveLength(1);
    expect(entries.some((e) => e.message.startsWith("live "))).toBe(true);
    expect(entries.some((e) => e.message.startsWith("quiet "))).toBe(false);
    expect(new Set(entries.map((e) => e.id)).size).toBe(entries.length);
  });
});

describe("weir logs -f across an API restart", () => {
  it("resumes after the last line it printed: lines stored while it was away, whatever their times", async () => {
    const own = await startApi();
    const port = Number(new URL(own.url).port);
    const ownCli = cliFor(own);
    ownCli.file("p.json", JSON.stringify(specFor("cli-resume")));
    const pid: string = JSON.parse(
      (await ownCli(["pipelines", "create", "-f", "p.json", "--json"])).stdout,
    ).id;
    const ownWorker = new WeirClient({ baseUrl: own.url, token: own.workerToken });
    const now = Date.now();
    await ownWorker.sendLogs({
      worker_id: "w-test",
      pipeline_id: pid,
      dropped: 0,
      records: [line("info", "before", now)],
    });
    const stop = new AbortController();
    let seen = "";
    let errors = "";
    const running = ownCli(["logs", pid, "-f", "--json"], {
      signal: stop.signal,
      stdout: (t) => {
        seen += t;
      },
      stderr: (t) => {
        errors += t;
      },
    });
    let restarted: typeof own | undefined;
    try {
      await waitFor(() => seen.includes('"before"'), { what: "the backlog", timeoutMs: 10_000 });
      await own.kill();
      await waitFor(() => errors.includes("reconnecting"), { what: "the CLI to notice", timeoutMs: 10_000 });
      // While the API is down, 1,500 lines are stored (as a worker's late batch would be), stamped
      // before the last line printed: a resume by time, or a 1,000-line backlog, would miss them.
      const db = openDb(own.dbPath);
      insertLogs(
        db,
        Array.from({ length: 1500 }, (_, i) => ({
          pipelineId: pid,
          time: now - 60_000 + i,
          level: "info",
          levelRank: 20,
          message: `gap ${i}`,
          source: "handler",
        })),
        { maxLines: 10_000, maxAgeMs: 86_400_000 },
      );
      db.close();
      restarted = await startApi({
        dbPath: own.dbPath,
        adminToken: own.adminToken,
        workerToken: own.workerToken,
        port,
      });
      await waitFor(() => seen.includes('"gap 1499"'), { what: "the gap lines", timeoutMs: 20_000 });
      stop.abort();
      const res = await running;
      expect(res.code).toBe(0);
      const messages = res.stdout
        .trim()
        .split("\n")
        .map((l) => (JSON.parse(l) as { message: string }).message);
      expect(messages).toEqual(["before", ...Array.from({ length: 1500 }, (_, i) => `gap ${i}`)]);
    } finally {
      stop.abort();
      await running.catch(() => undefined);
      await restarted?.kill();
      await own.kill();
    }
  });
});

describe("weir dlq", () => {
  it("lists no dead letters on a fresh pipeline (real broker) and checks replay arguments", async () => {
    const list = await cli(["dlq", "list", "cli-logs"]);
    expect(list.stderr).toBe("");
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^no dead letters for cli-logs \(topic cli_topic_\w+\.dlq\)\n$/);
    const json = JSON.parse((await cli(["dlq", "list", id, "--json"])).stdout);
    expect(json).toMatchObject({ items: [], truncated: false });

    const neither = await cli(["dlq", "replay", id]);
    expect(neither).toMatchObject({ code: 2 });
    expect(neither.stderr).toContain("pass record ids (<partition>-<offset>) or --all");
    expect((await cli(["dlq", "replay", id, "0-1", "--all"])).code).toBe(2);
    expect((await cli(["dlq", "replay", id, "zero"])).code).toBe(2);
  });
});

describe("weir wait and status with a reporting worker", () => {
  it("waits for rows_out, times out with exit 6, and shows counters, lag and workers", async () => {
    await worker.sendStatus({
      worker_id: "w-test",
      started_at: Date.now() - 1000,
      pipelines: [
        {
          pipeline_id: id,
          revision: 1,
          state: "running",
          last_error: null,
          counters: { messages_in: 3, rows_out: 7, dropped: 1, failed: 0, dlq: 0, retries: 2 },
          lag: [{ topic: "t", partition: 0, committed: "5", high_watermark: "9", lag: 4 }],
          handler_version: null,
        },
      ],
    });
    const ok = await cli(["wait", "cli-logs", "--rows", "7", "--progress"]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe("cli-logs: 7 rows out (wanted 7)\n");
    expect(ok.stderr).toMatch(/^cli-logs: 7\/7 rows \(100%\), lag 4, /);

    const started = Date.now();
    const late = await cli(["wait", id, "--rows", "8", "--timeout", "700ms", "--interval", "100ms"]);
    expect(late.code).toBe(6);
    expect(Date.now() - started).toBeGreaterThanOrEqual(700);
    expect(late.stdout).toBe("");
    expect(late.stderr).toMatch(/^error: TIMEOUT: cli-logs: 7\/8 rows after 700ms/);

    const status = await cli(["pipelines", "status", id]);
    expect(status.stdout).toMatch(
      /MESSAGES_IN\s+ROWS_OUT\s+DROPPED\s+FAILED\s+DLQ\s+RETRIES\n3\s+7\s+1\s+0\s+0\s+2\n/,
    );
    expect(status.stdout).toMatch(
      /lag: 4 total\nTOPIC\s+PARTITION\s+COMMITTED\s+HIGH_WATERMARK\s+LAG\nt\s+0\s+5\s+9\s+4\n/,
    );
    expect(status.stdout).toMatch(
      /WORKER\s+STATE\s+REVISION\s+HANDLER_VERSION\s+REPORTED_AT\nw-test\s+running\s+1\s+-/,
    );

    expect((await cli(["wait", id])).code).toBe(2);
    expect((await cli(["wait", id, "--rows", "1", "--timeout", "soon"])).code).toBe(2);
  });
});
