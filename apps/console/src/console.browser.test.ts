/**
 * The console in a real browser: Debian's Chromium (headless, through playwright-core; no browser
 * download) against the real API serving the built console at /ui, a real worker, Kafka and
 * ClickHouse. Signs in, lists pipelines, opens one (status, lag, charts from the history route),
 * uploads a handler with a syntax error and sees it at its line, fixes it, tails logs (pause and
 * resume without a gap), opens a dead letter and replays it, pauses and resumes with confirmation.
 * A screenshot of each view goes to apps/console/artifacts/; any browser console error fails it.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient } from "@clickhouse/client";
import {
  type ApiProcess,
  type AppProcess,
  clickhouseUrl,
  kafkaBrokers,
  startApi,
  startWorker,
  uniqueName,
  waitFor,
} from "@weir/testing";
import { Kafka, logLevel } from "kafkajs";
import { type Browser, type ConsoleMessage, chromium, type Locator, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const CHROMIUM = process.env.WEIR_CHROMIUM ?? "/usr/bin/chromium";
const ARTIFACTS = resolve(fileURLToPath(import.meta.url), "../../artifacts");

const handler = (tag: string) =>
  [
    "export function handler(data: { id: number; boom?: boolean }, log: { info(m: string, f?: object): void }) {",
    '  log.info("seen", { id: data.id });',
    '  if (data.boom) throw new Error("boom " + data.id);',
    `  return { id: data.id, v: "${tag}" };`,
    "}",
    "",
  ].join("\n");
// Line 4 of the broken handler lacks its closing brace.
const BROKEN = handler("v2").replace('v: "v2" };', 'v: "v2" ;');
const BROKEN_LINE = 4;

const kafka = new Kafka({ clientId: "weir-console-test", brokers: kafkaBrokers(), logLevel: logLevel.ERROR });
const ch = createClient({ url: clickhouseUrl() });

let api: ApiProcess;
let worker: AppProcess;
let browser: Browser;
let page: Page;
let topic: string;
let table: string;
let pipelineId: string;
const name = uniqueName("console").replaceAll("_", "-");
const consoleErrors: string[] = [];
/** While the test restarts the API on purpose, failed connections are expected. */
let apiRestarting = false;
const timings: Record<string, number> = {};

async function produce(values: object[]): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: values.map((v) => ({ value: JSON.stringify(v) })) });
  await producer.disconnect();
}

async function shot(file: string): Promise<void> {
  await page.screenshot({ path: resolve(ARTIFACTS, file), fullPage: true });
}

const text = async (l: Locator): Promise<string> => (await l.textContent()) ?? "";

/** The REST API with the admin token (the test's own calls, next to what the page does). */
async function call<T>(method: string, path: string, body?: string, type = "application/json"): Promise<T> {
  const res = await fetch(`${api.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${api.adminToken}`, ...(body ? { "content-type": type } : {}) },
    body,
  });
  const json = (await res.json()) as T;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}
type Status = { desired: string; workers: { handler_version: string | null }[] };

const ids = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ id: from + i }));

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  topic = uniqueName("console");
  table = uniqueName("console_rows");
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
  await admin.disconnect();
  await ch.command({ query: `CREATE TABLE ${table} (id UInt64, v String) ENGINE = MergeTree ORDER BY id` });

  api = await startApi();
  worker = startWorker(api);
  const p = await call<{ id: string }>(
    "POST",
    "/v1/pipelines",
    JSON.stringify({
      name,
      source: { type: "kafka", config: { bootstrap_servers: kafkaBrokers().join(","), topic } },
      sink: { type: "clickhouse", config: { url: clickhouseUrl(), table, max_batch_wait_ms: 200 } },
      retry: { max_attempts: 2, initial_backoff_ms: 50, max_backoff_ms: 100 },
    }),
  );
  pipelineId = p.id;
  await call("PUT", `/v1/pipelines/${p.id}/handler`, handler("v1"), "text/typescript");
  await produce(ids(1, 300));

  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on("console", (m: ConsoleMessage) => {
    if (m.type() !== "error") return;
    // The one expected failed request: the upload of the broken handler answers 400.
    const url = m.location().url;
    if (
      /status of 400/.test(m.text()) &&
      url.endsWith(`/v1/pipelines/${pipelineId}/handler?filename=handler.ts`)
    )
      return;
    if (
      apiRestarting &&
      /net::ERR_(CONNECTION_REFUSED|CONNECTION_RESET|EMPTY_RESPONSE|INCOMPLETE_CHUNKED_ENCODING)/.test(
        m.text(),
      )
    )
      return;
    consoleErrors.push(`${m.text()} (${url})`);
  });
  page.on("pageerror", (err) => consoleErrors.push(`page error: ${err.message}`));
});

afterAll(async () => {
  writeFileSync(resolve(ARTIFACTS, "timings.json"), `${JSON.stringify(timings, null, 2)}\n`);
  await browser?.close();
  await worker?.kill("SIGTERM");
  await api?.kill("SIGTERM");
  await ch.command({ query: `DROP TABLE IF EXISTS ${table}` }).catch(() => {});
  await ch.close();
});

/** Accept the next confirm() and check what it asked. */
function confirmNext(pattern: RegExp): Promise<void> {
  return new Promise((ok, fail) => {
    page.once("dialog", (d) => {
      if (d.type() !== "confirm" || !pattern.test(d.message())) {
        fail(new Error(`unexpected dialog ${d.type()}: ${d.message()}`));
        void d.dismiss();
        return;
      }
      void d.accept().then(ok, fail);
    });
  });
}

describe("console in Chromium", () => {
  it("signs in and lists the pipelines", async () => {
    const t0 = Date.now();
    const res = await page.goto(`${api.url}/ui/`, { waitUntil: "load" });
    timings.first_load_ms = Date.now() - t0;
    expect(res?.status()).toBe(200);
    const nav = await page.evaluate(() => {
      const e = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming;
      return { dcl: e.domContentLoadedEventEnd, load: e.loadEventEnd, bytes: e.transferSize };
    });
    timings.dom_content_loaded_ms = Math.round(nav.dcl);
    timings.load_event_ms = Math.round(nav.load);
    await page.getByTestId("signin").waitFor();
    await shot("01-signin.png");

    // A wrong token is refused and the form stays.
    await page.fill("input[name=token]", "not-a-token");
    await page.click("button[type=submit]");
    await page.getByText("invalid token").waitFor();
    consoleErrors.splice(0); // the 401 of that attempt is the point of it

    const t1 = Date.now();
    await page.fill("input[name=token]", api.adminToken);
    await page.click("button[type=submit]");
    const row = page.locator(`tr[data-pipeline="${name}"]`);
    await row.waitFor();
    timings.signin_to_list_ms = Date.now() - t1;
    expect(await page.evaluate(() => sessionStorage.getItem("weir.token"))).toBe(api.adminToken);
    // The worker runs it: state running, handler v1.
    await waitFor(async () => /running/.test(await text(row)), { what: "running in the list" });
    expect(await text(row)).toContain("v1");
    // Filters: a name that matches nothing hides it; the state filter keeps it.
    await page.fill("input[aria-label='filter by name']", "no-such-pipeline");
    await page.getByText("No pipeline matches the filter.").waitFor();
    await page.fill("input[aria-label='filter by name']", name.slice(0, 12));
    await page.selectOption("select[aria-label='filter by state']", "running");
    await row.waitFor();
    await page.selectOption("select[aria-label='filter by state']", "paused");
    await row.waitFor({ state: "detached" });
    await page.selectOption("select[aria-label='filter by state']", "");
    await row.waitFor();
    await shot("02-pipelines.png");
  });

  it("shows a pipeline's status, counters, partitions and charts", async () => {
    await page.click(`tr[data-pipeline="${name}"] a`);
    await page.getByTestId("pipeline").waitFor();
    const rowsOut = page.locator("[data-counter='rows out'] .n");
    await waitFor(async () => Number(await text(rowsOut)) >= 300, {
      what: "300 rows out on the page",
      timeoutMs: 60_000,
    });
    // Two partitions in the lag table, lag 0 once everything is consumed.
    const lagRows = page.locator("[data-testid=lag-table] tbody tr");
    await waitFor(async () => (await lagRows.count()) === 2, { what: "two partitions" });
    // More data while we watch: the charts get points from the history route.
    await produce(ids(1001, 200));
    const chart = page.getByTestId("chart-rows");
    await waitFor(async () => Number(await chart.getAttribute("data-points")) >= 2, {
      what: "two history points in the chart (is recordReport called from routes/worker.ts?)",
      timeoutMs: 60_000,
    });
    await waitFor(async () => Number(await text(rowsOut)) >= 500, { what: "500 rows out" });
    expect(await page.locator("[data-testid=chart-rows] canvas").count()).toBe(1);
    expect(await page.locator("[data-testid=chart-lag] canvas").count()).toBe(1);
    const history = await call<{ points: { rows_out: number }[] }>(
      "GET",
      `/v1/pipelines/${pipelineId}/history`,
    );
    expect(history.points.length).toBeGreaterThanOrEqual(2);
    expect(history.points.at(-1)!.rows_out).toBeGreaterThanOrEqual(300);
    await page.waitForTimeout(5500); // one more chart refresh, for the screenshot
    await shot("03-pipeline.png");
  });

  it("shows a compile error at its line, then stores the fixed handler", async () => {
    const t0 = Date.now();
    await page.click("nav a:has-text('Handler')");
    const editor = page.locator(".cm-content");
    await editor.waitFor();
    timings.handler_editor_ms = Date.now() - t0; // the editor's chunk loads on first use
    await waitFor(async () => (await text(editor)).includes('v: "v1"'), {
      what: "v1 source in the editor",
    });

    const setSource = async (src: string) => {
      await editor.click();
      await page.keyboard.press("ControlOrMeta+A");
      await page.keyboard.press("Delete");
      await page.keyboard.insertText(src);
      await waitFor(
        async () => (await page.evaluate(() => document.querySelector(".cm-content")?.textContent)) !== "",
        {
          what: "editor text",
        },
      );
    };
    await setSource(BROKEN);
    await page.getByTestId("upload").click();
    const diag = page.locator("[data-testid=diagnostics] li");
    await diag.first().waitFor();
    expect(await diag.count()).toBe(1);
    expect(await diag.first().locator("button").getAttribute("data-line")).toBe(String(BROKEN_LINE));
    const column = BROKEN.split("\n")[BROKEN_LINE - 1]!.indexOf(";") + 1;
    expect(await text(diag.first())).toBe(`line 4, column ${column}: Expected "}" but found ";"`);
    // Marked in the editor, on line 4: the lint gutter marker sits in the 4th gutter row.
    await page
      .locator(".cm-line")
      .nth(BROKEN_LINE - 1)
      .locator(".cm-lintRange-error")
      .waitFor();
    expect(
      await text(
        page
          .locator(".cm-line")
          .nth(BROKEN_LINE - 1)
          .locator(".cm-lintRange-error"),
      ),
    ).toBe(";");
    const markerTop = await page.locator(".cm-gutter-lint .cm-lint-marker-error").boundingBox();
    const line4Top = await page
      .locator(".cm-line")
      .nth(BROKEN_LINE - 1)
      .boundingBox();
    expect(markerTop && line4Top && Math.abs(markerTop.y - line4Top.y) < line4Top.height).toBe(true);
    await shot("04-handler-error.png");

    // Completions from /v1/types/handler.d.ts: `log.` offers the Log methods.
    await editor.click();
    await page.keyboard.press("ControlOrMeta+End");
    await page.keyboard.type("\nlog.wa");
    await page.locator(".cm-tooltip-autocomplete li", { hasText: "warn" }).waitFor();
    await page.keyboard.press("Escape");
    await page.click("button:has-text('Types')");
    expect(await text(page.getByTestId("types"))).toContain("export interface Log {");
    await page.click("button:has-text('Hide types')");

    await setSource(handler("v2"));
    await page.getByTestId("upload").click();
    await page.getByTestId("handler-notice").getByText("stored version 2").waitFor();
    expect(await page.locator("[data-testid=diagnostics]").count()).toBe(0);
    await page.locator("[data-testid=versions] li.current").getByText("v2").waitFor();
    const v = await call<{ items: { version: number; current: boolean }[] }>(
      "GET",
      `/v1/pipelines/${pipelineId}/versions`,
    );
    expect(v.items.find((x) => x.current)?.version).toBe(2);
    // The diff between the two versions: the changed line marked on both sides.
    await page.check("input[aria-label='compare v1']");
    await page.check("input[aria-label='compare v2']");
    await page.click("button:has-text('Diff selected')");
    const diff = page.getByTestId("diff");
    await diff.locator(".cm-changedLine", { hasText: 'v: "v2"' }).waitFor();
    await diff.locator(".cm-changedLine", { hasText: 'v: "v1"' }).waitFor();
    expect(await diff.locator(".cm-editor").count()).toBe(2);
    // The test panel runs pasted events through v2 in the sandbox: rows, logs and errors per event.
    await page.fill("textarea[aria-label='test events']", '{"id": 7}\n{"id": 8, "boom": true}');
    await page.getByTestId("test-panel").getByRole("button", { name: "Run", exact: true }).click();
    const results = page.locator("[data-testid=test-results] > li");
    await results.nth(1).waitFor();
    expect(await results.nth(0).getAttribute("data-ok")).toBe("true");
    expect(await text(results.nth(0).locator("pre.rows"))).toBe('{"id":7,"v":"v2"}');
    expect(await text(results.nth(0))).toContain('info seen {"id":7}');
    expect(await results.nth(1).getAttribute("data-ok")).toBe("false");
    expect(await text(results.nth(1).locator("pre.error"))).toContain("boom 8");
    // ... and the newest messages of the source topic, peeked without committing.
    await page.fill("input[aria-label='source messages']", "3");
    await page.click("button:has-text('Run on source messages')");
    await page.locator("[data-testid=test-results] > li", { hasText: "partition" }).nth(2).waitFor();
    expect(await results.count()).toBe(3);
    for (let i = 0; i < 3; i++) {
      expect(await results.nth(i).getAttribute("data-ok")).toBe("true");
      expect(await text(results.nth(i).locator("pre.rows"))).toMatch(/^\{"id":\d+,"v":"v2"\}$/);
    }
    await shot("05-handler.png");
  });

  it("tails logs live, filters them, pauses and resumes without a gap", async () => {
    await page.click("nav a:has-text('Logs')");
    await page.getByTestId("logs").waitFor();
    await page.getByTestId("logs-state").getByText("live").waitFor();
    // The worker swaps to v2 within seconds (it reports the version number as handler_version).
    await waitFor(
      async () => {
        const st = await call<Status>("GET", `/v1/pipelines/${pipelineId}/status`);
        return st.workers.length > 0 && st.workers.every((w) => w.handler_version === "2");
      },
      { what: "the worker on v2", timeoutMs: 60_000 },
    );
    await produce(ids(5001, 20));
    const line = (id: number) => page.locator(".logline", { hasText: `"id":${id}}` });
    await line(5020).waitFor({ timeout: 60_000 });

    await page.fill("input[aria-label='filter text']", '"id":5007}');
    await waitFor(async () => (await page.locator(".logline").count()) === 1, {
      what: "one line after filtering",
    });
    await page.fill("input[aria-label='filter text']", "");

    // Level filter (on the server): the handler's info lines go, warnings and errors stay.
    await page.selectOption("select[aria-label='minimum level']", "warn");
    await line(5020).waitFor({ state: "detached" });
    await page.getByTestId("logs-state").getByText("live").waitFor();
    expect(await page.locator(".logline.lvl-info, .logline.lvl-debug").count()).toBe(0);
    await page.selectOption("select[aria-label='minimum level']", "");
    await line(5020).waitFor();

    await page.getByTestId("logs-toggle").click();
    await page.getByTestId("logs-state").getByText("paused").waitFor();
    await produce(ids(6001, 10));
    await page.waitForTimeout(2000);
    expect(await line(6010).count()).toBe(0);
    await page.getByTestId("logs-toggle").click();
    await line(6010).waitFor({ timeout: 30_000 });
    for (let id = 6001; id <= 6010; id++) expect(await line(id).count(), `line ${id} once`).toBe(1);
    const rows = await ch.query({
      query: `SELECT count() AS n FROM ${table} WHERE v = 'v2'`,
      format: "JSONEachRow",
    });
    expect(Number(((await rows.json()) as { n: string }[])[0]?.n)).toBeGreaterThan(0);
    await shot("06-logs.png");

    // The API restarts (same database and port) while lines are written: the tail reconnects and
    // resumes after the last line it had, so every line shows up once.
    apiRestarting = true;
    const { dbPath, adminToken, workerToken } = api;
    const port = Number(new URL(api.url).port);
    await api.kill("SIGTERM");
    await page.getByTestId("logs-state").getByText("reconnecting").waitFor();
    await produce(ids(7001, 10));
    await page.waitForTimeout(1000);
    api = await startApi({ dbPath, port, adminToken, workerToken });
    await line(7010).waitFor({ timeout: 60_000 });
    await page.getByTestId("logs-state").getByText("live").waitFor();
    for (let id = 7001; id <= 7010; id++) expect(await line(id).count(), `line ${id} once`).toBe(1);
    await page.waitForTimeout(2500); // let the other views' polls succeed again
    apiRestarting = false;
  });

  it("lists a dead letter with its decoded value and replays it", async () => {
    await produce([{ id: 9999, boom: true }]);
    // The handler logged the message before it threw: the line's topic/partition@offset tag leads to
    // the message's dead letter.
    const tagged = page.locator(".logline", { hasText: '"id":9999}' }).first().locator("a.tag");
    await tagged.waitFor({ timeout: 60_000 });
    const where = await text(tagged);
    await waitFor(
      async () =>
        (await call<{ items: unknown[] }>("GET", `/v1/pipelines/${pipelineId}/dlq`)).items.length > 0,
      {
        what: "the dead letter",
        timeoutMs: 60_000,
      },
    );
    await tagged.click();
    await page.getByTestId("dlq").waitFor();
    await page.locator(".chip", { hasText: where }).waitFor();
    const rec = page.locator("[data-testid=dlq-table] tbody tr");
    await rec.first().waitFor({ timeout: 60_000 });
    await rec.first().locator("button.link").click();
    const value = page.getByTestId("dlq-value");
    await value.waitFor();
    expect(await text(value)).toBe(JSON.stringify({ id: 9999, boom: true }, null, 2));
    expect(await text(page.getByTestId("dlq-record"))).toContain("boom 9999");
    await shot("07-dlq.png");
    await rec.first().locator("input[type=checkbox]").check();
    const asked = confirmNext(/^Replay 1 dead letter to the source topic\?$/);
    await page.click("button:has-text('Replay selected')");
    await asked;
    await page
      .getByTestId("dlq-notice")
      .getByText(/^replayed 1 record to /)
      .waitFor();
  });

  it("pauses and resumes the pipeline after confirmation", async () => {
    await page.getByTestId("nav-pipeline").getByText(name).click();
    await page.getByTestId("pipeline").waitFor();
    let asked = confirmNext(new RegExp(`^Pause pipeline ${name}\\?$`));
    await page.click("button:has-text('Pause')");
    await asked;
    await waitFor(
      async () => (await call<Status>("GET", `/v1/pipelines/${pipelineId}/status`)).desired === "paused",
      {
        what: "desired paused",
      },
    );
    await page.locator(".toolbar .state-paused").waitFor({ timeout: 30_000 });
    await shot("08-paused.png");
    asked = confirmNext(new RegExp(`^Resume pipeline ${name}\\?$`));
    await page.click("button:has-text('Resume')");
    await asked;
    await page.locator(".toolbar .state-running").waitFor({ timeout: 30_000 });
    expect(consoleErrors).toEqual([]);
  });

  it("lets a project viewer look but not change, with the API's reason", async () => {
    const viewer = await call<{ token: string }>(
      "POST",
      "/v1/tokens",
      JSON.stringify({ name: "console-viewer", kind: "project", project: "default", role: "viewer" }),
    );
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const p2 = await ctx.newPage();
    const errors: string[] = [];
    p2.on("console", (m) => {
      // The refused pause is the point here; anything else is a defect.
      if (m.type() === "error" && !(/status of 403/.test(m.text()) && m.location().url.endsWith("/pause")))
        errors.push(m.text());
    });
    p2.on("pageerror", (err) => errors.push(err.message));
    // A sign-in link: the token leaves the address at once.
    await p2.goto(`${api.url}/ui/#token=${encodeURIComponent(viewer.token)}`);
    await p2.locator(`tr[data-pipeline="${name}"] a`).click();
    expect(p2.url()).not.toContain(viewer.token);
    await p2.getByTestId("pipeline").waitFor();
    p2.once("dialog", (d) => void d.accept());
    await p2.click("button:has-text('Pause')");
    await p2.getByText("a viewer of this project cannot pipelines:write").waitFor();
    await p2.screenshot({ path: resolve(ARTIFACTS, "09-viewer.png"), fullPage: true });
    expect((await call<Status>("GET", `/v1/pipelines/${pipelineId}/status`)).desired).toBe("running");
    await ctx.close();
    expect(errors).toEqual([]);
  });
});
