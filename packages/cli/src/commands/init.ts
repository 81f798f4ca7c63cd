/**
 * `weir init [dir] [--template otel-traces|otel-logs|filter]`: a handler project that passes its own
 * test out of the box: src/index.ts (the entry, importing the local module src/otlp.ts), a node:test
 * file using @weir/sdk/testing (the production sandbox), tsconfig.json, package.json (depending on
 * @weir/cli and @weir/sdk), a pipeline.yaml for `weir pipelines apply -f`, samples.ndjson, the
 * ClickHouse table, a README. The files come from the templates folder shipped in this package;
 * an existing package.json is merged (its dependencies and scripts win), other files are never
 * overwritten without --force.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import pkg from "../../package.json" with { type: "json" };
import type { Ctx } from "../context.ts";
import { usageError } from "../errors.ts";
import { action, type CtxFactory } from "./shared.ts";

interface Template {
  description: string;
  /** The ClickHouse table of its pipeline. */
  table: string;
  /** Files of templates/shared/ and where they go in the project. */
  shared: Record<string, string>;
}

export const TEMPLATES: Record<string, Template> = {
  "otel-traces": {
    description: "OTLP JSON traces -> one row per span (>= 1 ms) for otel_traces_processed",
    table: "otel_traces_processed",
    shared: { "otlp.ts": "src/otlp.ts", "traces.ndjson": "samples.ndjson" },
  },
  "otel-logs": {
    description: "OTLP JSON logs -> one row per log record for otel_logs_processed",
    table: "otel_logs_processed",
    shared: { "otlp.ts": "src/otlp.ts", "logs.ndjson": "samples.ndjson" },
  },
  filter: {
    description: "OTLP JSON traces -> drop health checks, redact PII, add deploy_env -> otel_spans_enriched",
    table: "otel_spans_enriched",
    shared: { "otlp.ts": "src/otlp.ts", "traces.ndjson": "samples.ndjson" },
  },
};

/** Every project gets these (npm leaves `.gitignore` out of packages, hence the plain name). */
const COMMON: Record<string, string> = {
  "tsconfig.json": "tsconfig.json",
  gitignore: ".gitignore",
  "README.md": "README.md",
};

/** Versions the project's package.json asks for besides Weir's own. */
const DEV_DEPENDENCIES: Record<string, string> = { "@types/node": "^24.0.0", typescript: "^5.9.3" };

/** The `test` script `npm init -y` writes, which a scaffold may replace. */
const NPM_INIT_TEST = 'echo "Error: no test specified" && exit 1';

/** The templates folder: next to this package's package.json, in the repository and once installed. */
export function templatesDir(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, "templates", "shared", "otlp.ts"))) return join(dir, "templates");
    if (dirname(dir) === dir) throw new Error("the templates folder of @weir/cli is missing");
  }
}

function listFiles(dir: string, prefix = ""): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listFiles(path, `${prefix}${name}/`) : [`${prefix}${name}`];
  });
}

/** A pipeline name (`^[A-Za-z0-9][A-Za-z0-9._-]*$`, at most 128) made from a folder name. */
export function pipelineNameFor(folder: string): string {
  const name = folder
    .replace(/[^A-Za-z0-9._-]+/g, "-")
    .replace(/^[^A-Za-z0-9]+/, "")
    .slice(0, 128);
  return name || "my-handler";
}

/** An npm package name made from a pipeline name. */
function packageNameFor(name: string): string {
  return name.toLowerCase().replace(/^[._]+/, "") || "my-handler";
}

function packageJson(existing: Record<string, unknown> | undefined, name: string, template: string) {
  const version = `^${pkg.version}`;
  const scripts: Record<string, string> = {
    test: "node --no-node-snapshot --test",
    typecheck: "tsc --noEmit",
    dev: "weir dev src/index.ts --samples samples.ndjson --pipeline pipeline.yaml",
    deploy: `weir pipelines apply -f pipeline.yaml && weir handler upload ${name} src/index.ts`,
  };
  const base = existing ?? {
    name: packageNameFor(name),
    version: "0.1.0",
    private: true,
    description: `Weir handler (${template} template)`,
  };
  const oldScripts = (base.scripts ?? {}) as Record<string, string>;
  const keptScripts: string[] = [];
  const mergedScripts: Record<string, string> = { ...scripts };
  for (const [k, v] of Object.entries(oldScripts)) {
    if (k === "test" && v === NPM_INIT_TEST) continue;
    if (k in scripts && v !== scripts[k]) keptScripts.push(k);
    mergedScripts[k] = v;
  }
  const deps = (base.dependencies ?? {}) as Record<string, string>;
  const devDeps = { ...((base.devDependencies ?? {}) as Record<string, string>) };
  // Installed already (a version, a tarball, a link): left as it is, wherever it was declared.
  const want: Record<string, string> = { "@weir/cli": version, "@weir/sdk": version, ...DEV_DEPENDENCIES };
  for (const [dep, range] of Object.entries(want))
    if (!(dep in deps) && !(dep in devDeps)) devDeps[dep] = range;
  const out: Record<string, unknown> = {
    ...base,
    type: "module",
    scripts: mergedScripts,
    devDependencies: Object.fromEntries(Object.entries(devDeps).sort(([a], [b]) => (a < b ? -1 : 1))),
  };
  if (!("engines" in base)) out.engines = { node: ">=22.18" };
  return { json: `${JSON.stringify(out, null, 2)}\n`, keptScripts };
}

interface InitOptions {
  template: string;
  name?: string;
  force?: boolean;
}

async function init(ctx: Ctx, dirArg: string | undefined, opts: InitOptions): Promise<void> {
  const template = TEMPLATES[opts.template];
  if (!template) {
    throw usageError(
      `--template: expected one of ${Object.keys(TEMPLATES).join(", ")}, got "${opts.template}"`,
    );
  }
  const dir = resolve(ctx.cwd, dirArg ?? ".");
  const name = opts.name ?? pipelineNameFor(basename(dir));
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) || name.length > 128) {
    throw usageError(
      `--name: a pipeline name is letters, digits, ".", "_" and "-" (at most 128), got "${name}"`,
    );
  }
  const root = templatesDir();
  // Placeholders (WEIR_INIT_NAME, ...: valid YAML and Markdown as they are) are filled in the prose and YAML
  // files only, never in code.
  const vars = (file: string, text: string) =>
    !/\.(md|ya?ml)$/.test(file)
      ? text
      : text
          .replaceAll("WEIR_INIT_NAME", name)
          .replaceAll("WEIR_INIT_TEMPLATE", opts.template)
          .replaceAll("WEIR_INIT_DESCRIPTION", template.description)
          .replaceAll("WEIR_INIT_TABLE", template.table);
  const files = new Map<string, string>();
  for (const f of listFiles(join(root, opts.template)))
    files.set(f, vars(f, readFileSync(join(root, opts.template, f), "utf8")));
  for (const [from, to] of Object.entries({ ...template.shared, ...COMMON })) {
    files.set(to, vars(to, readFileSync(join(root, "shared", from), "utf8")));
  }
  const pkgPath = join(dir, "package.json");
  let existing: Record<string, unknown> | undefined;
  if (existsSync(pkgPath)) {
    try {
      existing = JSON.parse(readFileSync(pkgPath, "utf8")) as Record<string, unknown>;
    } catch (err) {
      throw usageError(`${relative(ctx.cwd, pkgPath) || pkgPath}: not JSON (${(err as Error).message})`);
    }
  }
  const clash = [...files.keys()].filter((f) => existsSync(join(dir, f)));
  if (clash.length > 0 && !opts.force) {
    throw usageError(
      `${relative(ctx.cwd, dir) || "."}: would overwrite ${clash.join(", ")} (pass --force to replace them)`,
    );
  }
  const { json, keptScripts } = packageJson(existing, name, opts.template);
  files.set("package.json", json);
  for (const [f, text] of files) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    writeFileSync(join(dir, f), text);
  }
  const written = [...files.keys()].sort();
  const where = relative(ctx.cwd, dir) || ".";
  ctx.emit(
    { dir, template: opts.template, pipeline: name, files: written, kept_scripts: keptScripts },
    () => {
      ctx.out(
        `created handler project ${where} from template ${opts.template} (pipeline ${name}): ${template.description}`,
      );
      for (const f of written) ctx.out(`  ${f}${f === "package.json" && existing ? " (merged)" : ""}`);
      if (keptScripts.length > 0)
        ctx.err(`note: package.json keeps its own ${keptScripts.join(", ")} script(s)`);
      ctx.out("next:");
      if (where !== ".") ctx.out(`  cd ${where}`);
      ctx.out("  npm install");
      ctx.out("  npm test                       # the handler on samples.ndjson, in the production sandbox");
      ctx.out("  npm run dev                    # the same, again on every save (weir dev)");
      ctx.out(
        "  npm run deploy                 # weir pipelines apply + weir handler upload (WEIR_API_URL, WEIR_TOKEN)",
      );
    },
  );
}

export function registerInit(program: Command, makeCtx: CtxFactory): void {
  program
    .command("init")
    .description(
      "write a handler project (entry, helper module, test, pipeline.yaml, samples) that passes its test",
    )
    .argument("[dir]", "project folder (default: the current one); created if missing")
    .option(
      "--template <name>",
      `one of ${Object.keys(TEMPLATES).join(", ")} (default otel-traces)`,
      "otel-traces",
    )
    .option(
      "--name <pipeline>",
      "pipeline name in pipeline.yaml and the deploy script (default: the folder's name)",
    )
    .option("--force", "overwrite files the template writes (package.json is always merged)")
    .addHelpText(
      "after",
      `\nTemplates:\n${Object.entries(TEMPLATES)
        .map(([k, t]) => `  ${k.padEnd(12)} ${t.description}`)
        .join(
          "\n",
        )}\n\nThen: npm install && npm test (node --test with @weir/sdk/testing, the production sandbox).`,
    )
    .action(action(makeCtx, init));
}
