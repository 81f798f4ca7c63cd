import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parsePipelineSpec } from "@weir/core";
import { type ApiProcess, freePort, startApi } from "@weir/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { type Cli, cliFor } from "./test-helpers.ts";

const repoRoot = resolve(fileURLToPath(import.meta.url), "../../../..");
let api: ApiProcess;
let cli: Cli;

beforeAll(async () => {
  api = await startApi();
  cli = cliFor(api);
});
afterAll(async () => {
  await api?.kill();
});

const COMMANDS: [string[], string][] = [
  [["pipelines", "list"], "list pipelines"],
  [["pipelines", "get"], "show one pipeline"],
  [["pipelines", "create"], "create a pipeline from a spec file"],
  [["pipelines", "apply"], "create the pipeline named in the file"],
  [["pipelines", "update"], "replace the spec of a pipeline"],
  [["pipelines", "delete"], "delete a pipeline"],
  [["pipelines", "pause"], "stop consuming"],
  [["pipelines", "resume"], "start consuming again"],
  [["pipelines", "status"], "per-partition lag"],
  [["handler", "upload"], "compile and store a TypeScript handler"],
  [["handler", "versions"], "list the handler versions"],
  [["handler", "show"], "print the source of one version"],
  [["handler", "rollback"], "make an earlier version current"],
  [["handler", "types"], "print the handler .d.ts"],
  [["test"], "run sample events through a handler"],
  [["dev"], "run a handler on sample events on this machine"],
  [["init"], "write a handler project"],
  [["logs"], "print a pipeline's log lines"],
  [["dlq", "list"], "dead letters of a pipeline"],
  [["dlq", "show"], "one dead letter"],
  [["dlq", "replay"], "produce dead letters back to the source topic"],
  [["dlq", "purge"], "hide every current dead letter"],
  [["wait"], "wait until a pipeline has written at least --rows rows"],
];

describe("help", () => {
  it("lists commands, environment and every exit code at the top", async () => {
    const res = await cli(["--help"]);
    expect(res.code).toBe(0);
    for (const c of ["pipelines", "handler", "test", "logs", "dlq", "wait"]) {
      expect(res.stdout).toMatch(new RegExp(`^ {2}${c}\\b`, "m"));
    }
    expect(res.stdout).toContain("WEIR_API_URL");
    expect(res.stdout).toContain("WEIR_TOKEN");
    for (const code of [
      "0  ok",
      "1  operation failed",
      "2  usage error",
      "3  not found",
      "4  auth",
      "5  API unreachable",
      "6  timeout",
    ]) {
      expect(res.stdout).toContain(`  ${code}`);
    }
  });

  it.each(COMMANDS)("weir %s --help", async (path, description) => {
    const res = await cli([...path, "--help"]);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(new RegExp(`^Usage: weir ${path.join(" ")}`));
    expect(res.stdout).toContain(description);
    expect(res.stdout).toContain("Exit codes: 0 ok, 1 failed, 2 usage, 3 not found, 4 auth");
  });

  it("a group without a subcommand prints its help on stderr and exits 2", async () => {
    const res = await cli(["dlq"]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain("Usage: weir dlq");
  });
});

describe("exit codes", () => {
  it("2 for usage errors", async () => {
    const unknown = await cli(["pipelines", "frobnicate"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'frobnicate'");
    const flag = await cli(["pipelines", "list", "--bogus"]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("unknown option '--bogus'");
    expect((await cli(["handler", "show", "p"])).code).toBe(2);
    expect((await cli(["--version"])).stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it("3 for an unknown pipeline", async () => {
    const res = await cli(["pipelines", "status", "no-such-pipeline"]);
    expect(res).toMatchObject({ code: 3, stdout: "" });
    expect(res.stderr).toBe('error: NOT_FOUND: no pipeline with id or name "no-such-pipeline"\n');
  });

  it("4 for a refused or missing token, with a hint; the token file in the cwd is used", async () => {
    const wrong = await cli(["pipelines", "list", "--token", "wrong-token-123456"]);
    expect(wrong.code).toBe(4);
    expect(wrong.stderr).toMatch(/^error: UNAUTHORIZED: /);
    expect(wrong.stderr).toContain("token from --token was refused");

    const none = await cli(["pipelines", "list"], { env: { WEIR_API_URL: api.url } });
    expect(none.code).toBe(4);
    expect(none.stderr).toContain("no token: pass --token, set WEIR_TOKEN");

    mkdirSync(join(cli.dir, ".weir/api"), { recursive: true });
    writeFileSync(join(cli.dir, ".weir/api/admin.token"), `${api.adminToken}\n`);
    const fromFile = await cli(["pipelines", "list", "--api", api.url], { env: {} });
    expect(fromFile).toMatchObject({ code: 0, stdout: "no pipelines\n" });
  });

  it("5 when the API cannot be reached", async () => {
    const port = await freePort();
    const res = await cli(["--api", `http://127.0.0.1:${port}`, "pipelines", "list"]);
    expect(res.code).toBe(5);
    expect(res.stderr).toMatch(
      new RegExp(
        `^error: UNAVAILABLE: cannot reach the Weir API at http://127.0.0.1:${port} \\(ECONNREFUSED\\)`,
      ),
    );
  });
});

describe("functions/otel-traces pipeline files", () => {
  const load = (name: string) => parse(readFileSync(join(repoRoot, "functions/otel-traces", name), "utf8"));

  it("pipeline.yaml: local Kafka and ClickHouse server, legacy table flavor", () => {
    const r = parsePipelineSpec(load("pipeline.yaml"));
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    expect(r.spec.source.config).toMatchObject({
      bootstrap_servers: "127.0.0.1:9092",
      topic: "otel-traces-raw",
    });
    expect(r.spec.sink).toMatchObject({
      type: "clickhouse",
      config: { url: "http://127.0.0.1:8123", table: "otel_traces_processed" },
    });
    expect(r.spec.env).toEqual({ WEIR_TABLE_FLAVOR: "legacy" });
  });

  it("pipeline.demo.yaml: embedded engine with the article's table, no flavor", () => {
    const r = parsePipelineSpec(load("pipeline.demo.yaml"));
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    expect(r.spec.source.config.topic).toBe("otel-traces-raw");
    expect(r.spec.sink).toMatchObject({
      type: "embedded-clickhouse",
      config: { path: ".weir/demo/chdb", table: "otel_traces_processed" },
    });
    expect(r.spec.env).toEqual({});
  });

  it("both apply through the CLI", async () => {
    for (const f of ["pipeline.yaml", "pipeline.demo.yaml"]) {
      const res = await cli(["pipelines", "apply", "-f", join(repoRoot, "functions/otel-traces", f)]);
      expect(res.stderr).toBe("");
      expect(res.stdout).toMatch(/^created pl_/);
    }
  });
});
