/**
 * The CLI and the SDK as a user gets them, outside the repository: both packed (`pnpm pack`, which
 * builds dist/ through `prepack`), installed with npm from the tarballs into a fresh project under the
 * OS temp folder (no workspace links: its own package.json and node_modules, nothing resolved from the
 * monorepo), then `npx weir --help`, `npx weir init . --template otel-traces`, `npm install` of what
 * the scaffold adds, the scaffold's own test (`npm test`: node --test with @weir/sdk/testing),
 * `tsc --noEmit` against the published `.d.ts` (library files checked too; `@weir/sdk/handler` with the
 * sandbox's globals), `weir dev --once`, and an
 * upload to a real API process: `weir pipelines apply`, `weir handler upload` (bundled by the installed
 * esbuild) and `weir test` on the API's sandbox. Prints the tarball sizes and the times taken.
 */
import { spawn } from "node:child_process";
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type ApiProcess, startApi } from "@weir/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const repo = resolve(fileURLToPath(import.meta.url), "../../../..");
const root = mkdtempSync(join(tmpdir(), "weir-pack-"));
const packs = join(root, "packs");
const project = join(root, "my-traces");
const figures: Record<string, number | string> = {};
let api: ApiProcess | undefined;

/**
 * Run a command, failing the test with its output when it exits non-zero or runs past 4 minutes (a
 * hang guard, not a speed target). `npm install` reaches the registry: under turbo that needs the
 * machine's CA and proxy settings, which turbo.json passes through to test tasks (without them npm
 * retried TLS failures silently until this guard killed it).
 * Asynchronous: a synchronous child blocks the vitest worker, whose reports then time out. npm gets
 * a clean environment: none of the `npm_config_*` settings pnpm and turbo hand to test scripts
 * (workspace catalogs, lockfile checks), the user's own npm cache, and offline-first installs.
 */
function sh(
  cmd: string,
  args: string[],
  opts: { cwd: string; env?: Record<string, string> },
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^npm_(config|package|lifecycle)_/i.test(k)),
  );
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: {
        ...inherited,
        HOME: homedir(),
        // Nothing of the monorepo's Node settings: vitest's flags, a module path.
        NODE_OPTIONS: "",
        NODE_PATH: "",
        npm_config_cache: join(homedir(), ".npm"),
        npm_config_prefer_offline: "true",
        npm_config_update_notifier: "false",
        npm_config_fund: "false",
        npm_config_audit: "false",
        ...(process.env.npm_config_nodedir ? { npm_config_nodedir: process.env.npm_config_nodedir } : {}),
        ...opts.env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 240_000);
    child.on("error", reject);
    child.on("close", (status, signal) => {
      clearTimeout(timer);
      if (status !== 0)
        reject(
          new Error(`${cmd} ${args.join(" ")} exited ${status ?? signal}\n${stdout}\n${stderr.slice(-4000)}`),
        );
      else resolvePromise({ status, stdout, stderr });
    });
  });
}

async function timed<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const out = await fn();
  figures[name] = Math.round(performance.now() - started);
  return out;
}

beforeAll(async () => {
  mkdirSync(packs);
  for (const pkg of ["sdk", "cli"]) {
    await timed(`pack_${pkg}_ms`, () =>
      sh("pnpm", ["pack", "--pack-destination", packs], { cwd: join(repo, "packages", pkg) }),
    );
  }
  for (const f of readdirSync(packs)) figures[`${f}_bytes`] = statSync(join(packs, f)).size;
  mkdirSync(project);
  writeFileSync(
    join(project, "package.json"),
    `${JSON.stringify({ name: "my-traces", private: true }, null, 2)}\n`,
  );
  await timed("install_packages_ms", () =>
    sh("npm", ["install", join(packs, "weir-sdk-0.1.0.tgz"), join(packs, "weir-cli-0.1.0.tgz")], {
      cwd: project,
    }),
  );
}, 720_000);

afterAll(async () => {
  await api?.kill();
  process.stdout.write(`pack figures: ${JSON.stringify(figures)}\n`);
  // The project holds a node_modules of ~100 MB.
  rmSync(root, { recursive: true, force: true });
});

describe("the packed CLI and SDK in a project outside the repository", () => {
  it("installs from the tarballs as real files, with no import of a private workspace package", async () => {
    for (const name of ["sdk", "cli"]) {
      const dir = join(project, "node_modules", "@weir", name);
      expect(lstatSync(dir).isSymbolicLink()).toBe(false);
      expect(realpathSync(dir).startsWith(project)).toBe(true);
    }
    expect(readdirSync(join(project, "node_modules", "@weir")).sort()).toEqual(["cli", "sdk"]);
    const pkg = JSON.parse(readFileSync(join(project, "node_modules/@weir/cli/package.json"), "utf8"));
    expect(pkg.bin).toEqual({ weir: "./dist/bin.js" });
    expect(pkg.dependencies["@weir/sdk"]).toBe("^0.1.0");
    const sdk = JSON.parse(readFileSync(join(project, "node_modules/@weir/sdk/package.json"), "utf8"));
    expect(Object.keys(sdk.dependencies)).toContain("isolated-vm");
    expect(Object.keys(sdk.dependencies).filter((d: string) => d.startsWith("@weir/"))).toEqual([]);
    for (const f of readdirSync(join(project, "node_modules/@weir/sdk/dist"), { recursive: true })) {
      const file = join(project, "node_modules/@weir/sdk/dist", String(f));
      if (statSync(file).isFile()) {
        expect(readFileSync(file, "utf8"), String(f)).not.toMatch(/from ["']@weir\/(core|sandbox|otlp)["']/);
      }
    }
  });

  it("runs `npx weir --help`", async () => {
    const r = await sh("npx", ["weir", "--help"], { cwd: project });
    for (const c of ["pipelines", "handler", "test", "dev", "init", "logs"]) {
      expect(r.stdout).toMatch(new RegExp(`^ {2}${c}\\b`, "m"));
    }
    expect((await sh("npx", ["weir", "--version"], { cwd: project })).stdout.trim()).toBe("0.1.0");
  });

  it("scaffolds with `weir init`, and the scaffold's test and typecheck pass", async () => {
    const init = await sh("npx", ["weir", "init", ".", "--template", "otel-traces"], { cwd: project });
    expect(init.stdout).toContain("package.json (merged)");
    const pkg = JSON.parse(readFileSync(join(project, "package.json"), "utf8"));
    // The tarballs stay what the project depends on; init adds the scripts and its dev tools.
    expect(pkg.dependencies["@weir/sdk"]).toMatch(/^file:.*weir-sdk-0\.1\.0\.tgz$/);
    expect(Object.keys(pkg.devDependencies).sort()).toEqual(["@types/node", "typescript"]);
    await timed("install_scaffold_ms", () => sh("npm", ["install"], { cwd: project }));
    const test = await timed("scaffold_test_ms", () => sh("npm", ["test"], { cwd: project }));
    expect(test.stdout).toMatch(/^ℹ pass 4$/m);
    expect(test.stdout).toMatch(/^ℹ fail 0$/m);
    // The handler .d.ts with the sandbox's globals, as `@weir/sdk/handler`.
    writeFileSync(
      join(project, "src/typed.ts"),
      `import type { Handler, OtlpExportTraceServiceRequest } from "@weir/sdk/handler";
export const handler: Handler<OtlpExportTraceServiceRequest> = (data, log) => {
  if (!data.resourceSpans) throw new NonRetryableError("no spans");
  if (env.SLOW === "1") throw new RetryAfterError(500, "later");
  log.info("ok", { sha: hash.sha256("x"), b64: base64.encode("x") });
  return [];
};
`,
    );
    await timed("typecheck_ms", () =>
      sh("npx", ["tsc", "--noEmit", "--skipLibCheck", "false"], { cwd: project }),
    );
    const dev = await sh(
      "npx",
      ["weir", "dev", "src/index.ts", "--samples", "samples.ndjson", "--pipeline", "pipeline.yaml", "--once"],
      {
        cwd: project,
      },
    );
    expect(dev.stdout).toContain("2 events: 2 ok, 0 failed, 4 rows");
  });

  it("uploads the scaffold's handler to a real API with `weir handler upload`, bundled", async () => {
    api = await startApi();
    const env = { WEIR_API_URL: api.url, WEIR_TOKEN: api.adminToken };
    await sh("npx", ["weir", "pipelines", "apply", "-f", "pipeline.yaml"], { cwd: project, env });
    const up = await timed("upload_ms", () =>
      sh("npx", ["weir", "handler", "upload", "my-traces", "src/index.ts"], { cwd: project, env }),
    );
    expect(up.stdout).toMatch(
      /^uploaded version 1 sha256 [0-9a-f]{64} \(index\.ts, bundle .*: 2 files, 0 packages\) for my-traces$/m,
    );
    const versions = JSON.parse(
      (await sh("npx", ["weir", "--json", "handler", "versions", "my-traces"], { cwd: project, env })).stdout,
    );
    expect(versions[0].manifest.files.map((f: { path: string }) => f.path)).toEqual(["index.ts", "otlp.ts"]);
    // The API's sandbox gives the rows the local one gave.
    const remote = JSON.parse(
      (await sh("npx", ["weir", "--json", "test", "my-traces", "samples.ndjson"], { cwd: project, env }))
        .stdout,
    );
    const local = JSON.parse(
      (
        await sh(
          "npx",
          [
            "weir",
            "--json",
            "dev",
            "src/index.ts",
            "--samples",
            "samples.ndjson",
            "--pipeline",
            "pipeline.yaml",
            "--once",
          ],
          {
            cwd: project,
          },
        )
      ).stdout,
    );
    expect(remote.results.map((r: { rows: unknown[] }) => r.rows)).toEqual(
      local.results.map((r: { rows: unknown[] }) => r.rows),
    );
    expect(remote.results.flatMap((r: { rows: unknown[] }) => r.rows)).toHaveLength(4);
  });
});
