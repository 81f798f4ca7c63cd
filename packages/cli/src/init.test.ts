/**
 * `weir init`: each template's project, and what keeps the templates honest: the handler and helper
 * module write byte for byte the rows, logs and errors of the example handlers they come from
 * (functions/* golden files, run through @weir/sdk/testing), the tables are the repository's DDL, the
 * pipeline.yaml is a valid spec, and the project's own test passes (node --test, with @weir/sdk linked
 * from the workspace; pack.test.ts does the same with the packed packages outside the repository).
 * Then the file rules: no overwrite without --force, package.json merged, usage errors.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parsePipelineSpec } from "@weir/core";
import { type EventResult, runHandler } from "@weir/sdk/testing";
import { goldenInputs } from "@weir/testing/handlers";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { TEMPLATES } from "./commands/init.ts";
import { type Cli, cliFor } from "./test-helpers.ts";

const repo = resolve(fileURLToPath(import.meta.url), "../../../..");

const EXAMPLES: Record<
  string,
  { dir: string; signal: "traces" | "logs"; variants: Record<string, string>[]; sql: string }
> = {
  "otel-traces": {
    dir: "otel-traces",
    signal: "traces",
    variants: [{ WEIR_TABLE_FLAVOR: "modern" }, { WEIR_TABLE_FLAVOR: "legacy" }],
    sql: "001_otel_traces_processed.sql",
  },
  "otel-logs": {
    dir: "otel-logs",
    signal: "logs",
    variants: [{ WEIR_TABLE_FLAVOR: "modern" }, { WEIR_TABLE_FLAVOR: "legacy" }],
    sql: "002_otel_logs_processed.sql",
  },
  filter: {
    dir: "filter-enrich",
    signal: "traces",
    // As functions/filter-enrich/golden.test.ts runs it.
    variants: [
      { WEIR_TABLE_FLAVOR: "modern", DEPLOY_ENV: "prod", REDACT_KEYS: "app.secret_thing, http.route" },
      { WEIR_TABLE_FLAVOR: "legacy" },
    ],
    sql: "003_otel_spans_enriched.sql",
  },
};

/** The golden text of functions/*: as @weir/testing's goldenText writes it, from runHandler's results. */
function goldenText(names: string[], results: EventResult[]): string {
  let out = "";
  results.forEach((r, i) => {
    const logs = r.logs.map((l) => ({ level: l.level, message: l.message, fields: l.fields }));
    const head = r.ok
      ? { input: names[i], ok: true, rows: r.rows.length, logs }
      : { input: names[i], ok: false, error: { code: r.error!.code, message: r.error!.message }, logs };
    out += `${JSON.stringify(head)}\n`;
    if (r.ok && r.ndjson !== "") out += `${r.ndjson}\n`;
  });
  return out;
}

function scratch(): Cli {
  return cliFor({ url: "http://127.0.0.1:9", adminToken: "unused" });
}

describe.each(Object.keys(TEMPLATES))("weir init --template %s", (template) => {
  const example = EXAMPLES[template]!;

  it("writes a project whose handler gives the example handler's golden output, byte for byte", async () => {
    const cli = scratch();
    const res = await cli(["init", "my-project", "--template", template]);
    expect(res.code, res.stderr).toBe(0);
    const dir = join(cli.dir, "my-project");
    for (const f of [
      "src/index.ts",
      "src/otlp.ts",
      "src/index.test.ts",
      "tsconfig.json",
      "package.json",
      "pipeline.yaml",
      "samples.ndjson",
      "table.sql",
      "table-legacy.sql",
      "README.md",
      ".gitignore",
    ]) {
      expect(existsSync(join(dir, f)), f).toBe(true);
      expect(res.stdout).toContain(`  ${f}`);
    }
    expect(readFileSync(join(dir, "src/index.ts"), "utf8")).toMatch(/from "\.\/otlp\.ts";/);

    const inputs = goldenInputs(example.signal);
    let text = "";
    for (const env of example.variants) {
      const results = await runHandler(
        join(dir, "src/index.ts"),
        inputs.map((i) => i.value),
        { raw: true, env },
      );
      text += `${JSON.stringify({ env })}\n${goldenText(
        inputs.map((i) => i.name),
        results,
      )}`;
    }
    const want = readFileSync(join(repo, "functions", example.dir, "golden.ndjson"), "utf8");
    expect(text.length).toBeGreaterThan(10_000);
    expect(text === want).toBe(true);

    // The repository's DDL, and a spec the API accepts, named after the folder.
    expect(readFileSync(join(dir, "table.sql"), "utf8")).toBe(
      readFileSync(join(repo, "migrations/clickhouse", example.sql), "utf8"),
    );
    expect(readFileSync(join(dir, "table-legacy.sql"), "utf8")).toBe(
      readFileSync(join(repo, "migrations/clickhouse/legacy", example.sql), "utf8"),
    );
    const spec = parsePipelineSpec(parse(readFileSync(join(dir, "pipeline.yaml"), "utf8")));
    expect(spec.ok && spec.spec.name).toBe("my-project");
    expect(spec.ok && spec.spec.sink).toMatchObject({
      type: "clickhouse",
      config: { table: TEMPLATES[template]!.table },
    });
    const readme = readFileSync(join(dir, "README.md"), "utf8");
    expect(readme).toMatch(/^# my-project\n/);
    expect(readme).toContain(`weir handler upload my-project src/index.ts`);
    expect(readme).not.toContain("WEIR_INIT_");
  });

  it("passes its own test (node --test on the production sandbox)", () => {
    const cli = scratch();
    const dir = join(cli.dir, "p");
    expect(
      spawnSync(process.execPath, [
        fileURLToPath(new URL("../bin/weir.mjs", import.meta.url)),
        "init",
        dir,
        "--template",
        template,
      ]).status,
    ).toBe(0);
    // @weir/sdk from the workspace (its sources; Node strips their types outside node_modules).
    mkdirSync(join(dir, "node_modules/@weir"), { recursive: true });
    symlinkSync(join(repo, "packages/sdk"), join(dir, "node_modules/@weir/sdk"));
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { scripts: { test: string } };
    expect(pkg.scripts.test).toBe("node --no-node-snapshot --test");
    const r = spawnSync(process.execPath, ["--no-node-snapshot", "--test"], {
      cwd: dir,
      encoding: "utf8",
      env: { ...process.env, NODE_OPTIONS: "" },
    });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/^ℹ pass [1-9]/m);
    expect(r.stdout).toMatch(/^ℹ fail 0$/m);
  });
});

describe("weir init, files", () => {
  it("merges an existing package.json, never overwrites other files without --force, and checks its input", async () => {
    const cli = scratch();
    cli.file(
      "package.json",
      JSON.stringify({
        name: "mine",
        version: "2.0.0",
        scripts: { test: 'echo "Error: no test specified" && exit 1', lint: "biome check" },
        dependencies: { "@weir/sdk": "file:../weir-sdk-0.1.0.tgz" },
      }),
    );
    const first = await cli(["init", "--template", "otel-logs", "--name", "logs-eu"]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain("  package.json (merged)");
    const pkg = JSON.parse(readFileSync(join(cli.dir, "package.json"), "utf8"));
    expect(pkg).toMatchObject({
      name: "mine",
      version: "2.0.0",
      type: "module",
      dependencies: { "@weir/sdk": "file:../weir-sdk-0.1.0.tgz" },
      scripts: {
        test: "node --no-node-snapshot --test",
        lint: "biome check",
        deploy: "weir pipelines apply -f pipeline.yaml && weir handler upload logs-eu src/index.ts",
      },
    });
    // @weir/sdk is already there (a tarball): only what is missing is added.
    expect(Object.keys(pkg.devDependencies).sort()).toEqual(["@types/node", "@weir/cli", "typescript"]);
    expect(readFileSync(join(cli.dir, "pipeline.yaml"), "utf8")).toMatch(/^name: logs-eu$/m);

    writeFileSync(join(cli.dir, "src/index.ts"), "// mine\n");
    const again = await cli(["init", "--template", "filter"]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/would overwrite .*src\/index\.ts.*\(pass --force/);
    expect(readFileSync(join(cli.dir, "src/index.ts"), "utf8")).toBe("// mine\n");
    const forced = await cli(["init", "--template", "filter", "--force"]);
    expect(forced.code).toBe(0);
    expect(readFileSync(join(cli.dir, "src/index.ts"), "utf8")).toContain("filter");

    const bad: [string[], RegExp][] = [
      [["init", "x", "--template", "nope"], /--template: expected one of otel-traces, otel-logs, filter/],
      [["init", "x", "--name", "-bad name"], /--name: a pipeline name is/],
    ];
    for (const [args, message] of bad) {
      const r = await cli(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    mkdirSync(join(cli.dir, "broken"));
    cli.file("broken/package.json", "{");
    expect((await cli(["init", "broken"])).stderr).toMatch(/broken\/package\.json: not JSON/);
  });
});
