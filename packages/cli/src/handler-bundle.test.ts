/**
 * `weir handler upload` of a handler made of two files and an npm package (uuid), end to end: bundled
 * by the CLI, re-checked and compiled by a real API process, run by a real worker process on real
 * Kafka with the rows in ClickHouse; a throw in the imported module reaches the dead-letter topic and
 * the test-run output with a stack naming that module's file and line. And the refusals (a Node
 * builtin, a native package) as the CLI prints them, with their import chains.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createClient } from "@clickhouse/client";
import { WeirClient } from "@weir/sdk";
import {
  type ApiProcess,
  type AppProcess,
  BUNDLE_FIXTURE_THROW,
  bundleFixtureEntry,
  bundleFixtureRow,
  clickhouseUrl,
  kafkaBrokers,
  startApi,
  startWorker,
  uniqueName,
  waitFor,
} from "@weir/testing";
import { Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Cli, cliFor } from "./test-helpers.ts";

const kafka = new Kafka({
  clientId: "weir-cli-bundle-test",
  brokers: kafkaBrokers(),
  logLevel: logLevel.ERROR,
});
const ch = createClient({ url: clickhouseUrl() });
let api: ApiProcess;
let cli: Cli;
let client: WeirClient;
let worker: AppProcess | undefined;
const topic = uniqueName("cli_bundle");
const table = uniqueName("cli_bundle_rows");
const N = 60;

/** Write files under the CLI's scratch folder. */
function files(entries: Record<string, string>): void {
  for (const [path, text] of Object.entries(entries)) {
    mkdirSync(dirname(join(cli.dir, path)), { recursive: true });
    writeFileSync(join(cli.dir, path), text);
  }
}

beforeAll(async () => {
  api = await startApi();
  cli = cliFor(api);
  client = new WeirClient({ baseUrl: api.url, token: api.adminToken });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
  await admin.disconnect();
  await ch.command({
    query: `CREATE TABLE ${table} (id UInt64, v String, uid String) ENGINE = MergeTree ORDER BY id`,
  });
  cli.file(
    "p.json",
    JSON.stringify({
      name: "cli-bundle",
      source: { type: "kafka", config: { bootstrap_servers: kafkaBrokers().join(","), topic } },
      sink: { type: "clickhouse", config: { url: clickhouseUrl(), table, max_batch_wait_ms: 200 } },
    }),
  );
  expect((await cli(["pipelines", "create", "-f", "p.json"])).code).toBe(0);
});

afterAll(async () => {
  await worker?.kill("SIGKILL");
  await api?.kill();
  await ch.close();
});

describe("weir handler upload of a handler with a local module and an npm package", () => {
  it("bundles, uploads, runs on Kafka into ClickHouse, and dead-letters a throw with the original file and line", async () => {
    const entry = bundleFixtureEntry();
    const up = await cli(["handler", "upload", "cli-bundle", entry, "--progress"]);
    expect(up.stderr).toMatch(
      // The middle line ("...; uploading to cli-bundle, compiling...") only if bundling took over 1 s.
      /^bundling .*bundle-handler\/index\.ts\.\.\.\n(?:bundled [^\n]*compiling\.\.\.\n)?bundled index\.ts \(\d+ files, 1 packages\) into [\d.]+ kB in [\d.]+ m?s; compiled and stored in [\d.]+ m?s\n$/,
    );
    expect(up.code).toBe(0);
    expect(up.stdout).toMatch(
      /^uploaded version 1 sha256 [0-9a-f]{64} \(index\.ts, bundle [\d.]+ kB: \d+ files, 1 packages\) for cli-bundle\n$/,
    );
    const same = await cli(["handler", "upload", "cli-bundle", entry, "--json"]);
    expect(JSON.parse(same.stdout)).toMatchObject({
      version: 1,
      unchanged: true,
      manifest: { entry: "index.ts", packages: [{ name: "uuid" }] },
      bundle: { bytes: expect.any(Number), source_map_bytes: expect.any(Number) },
    });
    // The original files come back out of the stored version.
    const shown = await cli(["handler", "show", "cli-bundle", "1", "--file", "lib/rows.ts"]);
    expect(shown.stdout).toBe(readFileSync(join(dirname(entry), "lib/rows.ts"), "utf8"));
    expect(shown.stderr).toMatch(/bundle of \d+ files and 1 packages/);

    worker = startWorker(api);
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic,
      messages: [
        ...Array.from({ length: N }, (_, i) => ({ value: JSON.stringify({ id: i, v: `v${i}` }) })),
        { value: JSON.stringify({ id: 1000, boom: true }) },
      ],
    });
    await producer.disconnect();

    const rows = async () =>
      (await ch.query({ query: `SELECT id, v, uid FROM ${table} ORDER BY id`, format: "JSONEachRow" })).json<{
        id: string | number;
        v: string;
        uid: string;
      }>();
    await waitFor(async () => (await rows()).length >= N, {
      what: `${N} rows in ClickHouse`,
      timeoutMs: 60_000,
    });
    const got = (await rows()).map((r) => ({ ...r, id: Number(r.id) }));
    expect(got).toEqual(Array.from({ length: N }, (_, i) => bundleFixtureRow(i, `v${i}`)));

    const p = JSON.parse((await cli(["pipelines", "get", "cli-bundle", "--json"])).stdout) as { id: string };
    const dlq = await waitFor(
      async () => {
        const page = await client.listDlq(p.id);
        return page.items.length > 0 ? page.items : null;
      },
      { what: "the dead-letter record", timeoutMs: 60_000 },
    );
    expect(dlq).toHaveLength(1);
    expect(dlq[0]?.error.message).toBe("boom at 1000");
    const frames = (dlq[0]?.error.stack ?? "").split("\n").filter((l) => /^\s+at /.test(l));
    expect(frames[0]).toContain(`at toRow (${BUNDLE_FIXTURE_THROW})`);
    expect(frames[1]).toMatch(/at handler \(index\.ts:\d+:\d+\)/);

    // The same stack in `weir test` output.
    cli.file("events.ndjson", '{"id":1}\n{"id":2,"boom":true}\n');
    const t = await cli(["test", "cli-bundle", "events.ndjson", "--json"]);
    expect(t.code).toBe(1);
    const results = JSON.parse(t.stdout).results;
    expect(results[0].rows).toEqual([bundleFixtureRow(1)]);
    expect(results[1].error.stack).toContain(`at toRow (${BUNDLE_FIXTURE_THROW})`);
  });

  it("refuses a Node builtin and a native package with the import chain, and stores nothing", async () => {
    files({
      "fs/index.ts": 'import { load } from "./lib/a.ts";\nexport const handler = () => load();\n',
      "fs/lib/a.ts": 'import { readFileSync } from "node:fs";\nexport const load = () => readFileSync;\n',
      "native/index.ts": 'import thing from "native-thing";\nexport const handler = () => thing;\n',
      "native/node_modules/native-thing/package.json": JSON.stringify({
        name: "native-thing",
        version: "1.0.0",
        main: "index.js",
        gypfile: true,
      }),
      "native/node_modules/native-thing/index.js":
        'module.exports = require("./build/Release/thing.node");\n',
    });
    const fs = await cli(["handler", "upload", "cli-bundle", "fs/index.ts"]);
    expect(fs.code).toBe(1);
    expect(fs.stdout).toBe("");
    const lines = fs.stderr.split("\n");
    expect(lines[0]).toMatch(
      /^lib\/a\.ts:1:\d+: error: cannot import "node:fs", a Node builtin\. .* Import chain: index\.ts -> lib\/a\.ts -> node:fs\.$/,
    );
    expect(lines[1]).toMatch(/^error: COMPILE_ERROR: cannot bundle fs\/index\.ts: cannot import "node:fs"/);

    const native = await cli(["handler", "upload", "cli-bundle", "native/index.ts"]);
    expect(native.code).toBe(1);
    expect(native.stderr.split("\n")[0]).toMatch(
      /^index\.ts:1:\d+: error: cannot import "native-thing": package native-thing@1\.0\.0 builds a native addon \(binding\.gyp\), and the sandbox runs JavaScript only\. .*Import chain: index\.ts -> native-thing\.$/,
    );
    const versions = await cli(["handler", "versions", "cli-bundle", "--json"]);
    expect(JSON.parse(versions.stdout).map((v: { version: number }) => v.version)).toEqual([1]);
  });

  it("uploads a single file without imports as is, and --raw sends an importing file as is for the API to refuse", async () => {
    files({
      "single.ts": "export const handler = (d: { id: number }) => ({ id: d.id, v: 's', uid: '' });\n",
    });
    const single = await cli(["handler", "upload", "cli-bundle", "single.ts", "--json"]);
    expect(single.code).toBe(0);
    expect(JSON.parse(single.stdout)).toMatchObject({ version: 2, filename: "single.ts", manifest: null });
    const raw = await cli(["handler", "upload", "cli-bundle", bundleFixtureEntry(), "--raw"]);
    expect(raw.code).toBe(1);
    expect(raw.stderr).toMatch(/cannot import package "uuid": a raw upload is one file/);
  });
});
