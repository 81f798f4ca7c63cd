/**
 * bundleHandler on real files with the real esbuild: a handler with a local module and an npm
 * package (packages/testing/fixtures/bundle-handler, `uuid`), the manifest and source map it makes,
 * and the refusals (Node builtins, native packages and addons) with their import chains.
 */
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { type BundleProblem, bundleHandler, importsOf } from "./bundle.ts";

const repo = resolve(fileURLToPath(import.meta.url), "../../../..");
const fixture = join(repo, "packages/testing/fixtures/bundle-handler");
const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

/** A scratch project: `files` maps relative paths to contents. */
function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "weir-bundle-"));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

async function problems(entry: string, cwd: string): Promise<BundleProblem[]> {
  const err = await bundleHandler(entry, { cwd }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toMatchObject({ code: "COMPILE_ERROR" });
  return (err as { details: { diagnostics: BundleProblem[] } }).details.diagnostics;
}

const pkg = (name: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ name, version: "1.2.3", main: "index.js", ...extra });

describe("bundleHandler", () => {
  it("bundles a local module and an npm package into one module with a manifest and a map of the original files", async () => {
    const b = await bundleHandler(join(fixture, "index.ts"));
    // One self-contained ES module: no import left, `handler` exported.
    expect(b.bundle).not.toMatch(/^\s*import\s/m);
    expect(b.bundle).not.toMatch(/\brequire\(/);
    expect(b.bundle).toMatch(/^export \{\n {2}NAMESPACE,\n {2}handler\n\};$/m);
    const uuidVersion = JSON.parse(
      readFileSync(join(repo, "packages/testing/node_modules/uuid/package.json"), "utf8"),
    ).version;
    expect(b.manifest.entry).toBe("index.ts");
    expect(b.manifest.packages).toEqual([{ name: "uuid", version: uuidVersion }]);
    expect(b.manifest.bundler).toEqual({ name: "esbuild", version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    const own = b.manifest.files.filter((f) => !f.path.startsWith("node_modules/"));
    expect(own).toEqual([
      { path: "index.ts", sha256: sha256(join(fixture, "index.ts")), bytes: expect.any(Number) },
      { path: "lib/rows.ts", sha256: sha256(join(fixture, "lib/rows.ts")), bytes: expect.any(Number) },
    ]);
    const v5 = b.manifest.files.find((f) => f.path === "node_modules/uuid/dist/v5.js");
    expect(v5?.sha256).toBe(sha256(join(repo, "packages/testing/node_modules/uuid/dist/v5.js")));
    // The browser build of uuid (pure JS sha1), not its Node build (node:crypto).
    expect(b.manifest.files.some((f) => f.path.startsWith("node_modules/uuid/dist-node/"))).toBe(false);

    const map = JSON.parse(b.sourceMap) as { version: number; sources: string[]; sourcesContent: string[] };
    expect(map.version).toBe(3);
    expect(map.sources).toContain("lib/rows.ts");
    expect(map.sources).toContain("index.ts");
    expect(map.sources).toContain("node_modules/uuid/dist/v5.js");
    const rows = map.sources.indexOf("lib/rows.ts");
    expect(map.sourcesContent[rows]).toBe(readFileSync(join(fixture, "lib/rows.ts"), "utf8"));
    // Module comments named like the manifest, not through the package manager's layout.
    expect(b.bundle).toContain("\n// node_modules/uuid/dist/v5.js\n");
    expect(b.bundle).not.toContain(".pnpm");
  });

  it("is reproducible and names files from the folder holding all of the handler's own files", async () => {
    const dir = project({
      "fn/index.ts":
        'import { twice } from "../shared/util.ts";\nexport const handler = (d: { n: number }) => ({ n: twice(d.n) });\n',
      "shared/util.ts": "export function twice(n: number): number {\n  return n * 2;\n}\n",
    });
    const a = await bundleHandler("fn/index.ts", { cwd: dir });
    const b = await bundleHandler(join(dir, "fn/index.ts"));
    expect(a.bundle).toBe(b.bundle);
    expect(a.sourceMap).toBe(b.sourceMap);
    expect(a.manifest).toEqual(b.manifest);
    expect(a.manifest.entry).toBe("fn/index.ts");
    expect(a.manifest.files.map((f) => f.path)).toEqual(["fn/index.ts", "shared/util.ts"]);
    expect(JSON.parse(a.sourceMap).sources).toEqual(["shared/util.ts", "fn/index.ts"]);
    expect(a.bundle).toContain("// shared/util.ts\n");
  });

  it("refuses a Node builtin imported through a local module and a package, naming each import chain", async () => {
    const dir = project({
      "index.ts": 'import { read } from "./lib/a.ts";\nexport function handler() {\n  return read();\n}\n',
      "lib/a.ts":
        'import { readFileSync } from "node:fs";\nimport walk from "walker";\nexport const read = () => [readFileSync, walk];\n',
      "node_modules/walker/package.json": pkg("walker"),
      "node_modules/walker/index.js": 'const http = require("http");\nmodule.exports = () => http;\n',
    });
    const found = await problems("index.ts", dir);
    expect(found).toHaveLength(2);
    const fs = found.find((p) => p.chain.at(-1) === "node:fs");
    expect(fs).toMatchObject({ file: "lib/a.ts", line: 1, chain: ["index.ts", "lib/a.ts", "node:fs"] });
    expect(fs?.message).toMatch(
      /^cannot import "node:fs", a Node builtin\. .*Import chain: index\.ts -> lib\/a\.ts -> node:fs\.$/,
    );
    const http = found.find((p) => p.chain.at(-1) === "http");
    expect(http).toMatchObject({
      file: "node_modules/walker/index.js",
      line: 1,
      chain: ["index.ts", "lib/a.ts", "node_modules/walker/index.js", "http"],
    });
    expect(http?.message).toContain(
      "Import chain: index.ts -> lib/a.ts -> node_modules/walker/index.js -> http.",
    );
  });

  it("refuses packages with native code and .node addons, and allows an npm package named like a builtin", async () => {
    const dir = project({
      "index.ts": [
        'import gyp from "gyp-pkg";',
        'import napi from "napi-pkg";',
        'import loader from "loader-pkg";',
        'import addon from "./build/addon.node";',
        'import { EventEmitter } from "events";',
        "export const handler = () => [gyp, napi, loader, addon, new EventEmitter()];",
        "",
      ].join("\n"),
      "node_modules/gyp-pkg/package.json": pkg("gyp-pkg"),
      "node_modules/gyp-pkg/binding.gyp": "{}",
      "node_modules/gyp-pkg/index.js": "module.exports = 1;",
      "node_modules/napi-pkg/package.json": pkg("napi-pkg", { napi: { name: "x" } }),
      "node_modules/napi-pkg/index.js": "module.exports = 2;",
      "node_modules/loader-pkg/package.json": pkg("loader-pkg", { dependencies: { "node-gyp-build": "^4" } }),
      "node_modules/loader-pkg/index.js": "module.exports = 3;",
      "build/addon.node": "\u007fELF",
      // A pure-JS polyfill with a builtin's name resolves from node_modules: bundled, not refused.
      "node_modules/events/package.json": pkg("events"),
      "node_modules/events/index.js": "exports.EventEmitter = class EventEmitter {};",
    });
    const found = await problems("index.ts", dir);
    expect(found.map((p) => p.chain.at(-1)).sort()).toEqual([
      "./build/addon.node",
      "gyp-pkg",
      "loader-pkg",
      "napi-pkg",
    ]);
    const by = (last: string) => found.find((p) => p.chain.at(-1) === last)?.message;
    expect(by("gyp-pkg")).toMatch(
      /package gyp-pkg@1\.2\.3 builds a native addon \(binding\.gyp\).*Import chain: index\.ts -> gyp-pkg\./,
    );
    expect(by("napi-pkg")).toMatch(/napi-pkg@1\.2\.3 loads a native addon built with napi-rs/);
    expect(by("loader-pkg")).toMatch(
      /loader-pkg@1\.2\.3 loads a native addon \(it depends on node-gyp-build\)/,
    );
    expect(by("./build/addon.node")).toMatch(/a native addon \(\.node file\)/);
    expect(found.every((p) => p.file === "index.ts" && p.line > 0)).toBe(true);
  });

  it("reports an unresolvable import and a syntax error with the file and line", async () => {
    const dir = project({
      "index.ts":
        'import { x } from "./lib/x.ts";\nimport { y } from "./lib/y.ts";\nexport const handler = () => [x, y];\n',
      "lib/x.ts": 'import nope from "not-installed";\nexport const x = nope;\n',
      "lib/y.ts": "export const y = {\n  a: 1,\n  b: ,\n};\n",
    });
    const found = await problems("index.ts", dir);
    expect(found.find((p) => p.chain.at(-1) === "not-installed")).toMatchObject({
      file: "lib/x.ts",
      line: 1,
      message: expect.stringContaining("Import chain: index.ts -> lib/x.ts -> not-installed."),
    });
    expect(found.find((p) => p.file === "lib/y.ts")).toMatchObject({
      line: 3,
      message: expect.stringMatching(/Unexpected/),
    });
  });
});

describe("importsOf", () => {
  it("lists run-time imports only, and nothing for a file that does not parse", async () => {
    const dir = project({
      "plain.ts":
        'import type { Log } from "@weir/core";\nexport function handler(d: unknown, log: Log) {\n  return d;\n}\n',
      "multi.ts":
        'import { a } from "./a.ts";\nimport { v5 } from "uuid";\nexport const handler = () => [a, v5];\n',
      "broken.ts": "export function handler( {\n",
    });
    expect(await importsOf(join(dir, "plain.ts"))).toEqual([]);
    expect(await importsOf(join(dir, "multi.ts"))).toEqual(["./a.ts", "uuid"]);
    expect(await importsOf(join(dir, "broken.ts"))).toBeUndefined();
  });
});
