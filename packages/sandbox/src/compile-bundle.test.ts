/**
 * compileHandler on bundles (what `weir handler upload` sends for a handler of several files): the
 * bundle's own source map is composed into the compiled one, so a throw in an imported module maps
 * to that module's name and line; an import left in the bundle, or a CommonJS module global, is
 * refused. Bundles are made here with esbuild as @weir/sdk/bundle makes them (ESM, map with contents).
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import * as esbuild from "esbuild";
import { describe, expect, it } from "vitest";
import { compileHandler } from "./compile.ts";
import { createSandbox } from "./sandbox.ts";

async function bundleOf(files: Record<string, string>, entry: string) {
  const dir = mkdtempSync(join(tmpdir(), "weir-compile-bundle-"));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  const out = await esbuild.build({
    entryPoints: [join(dir, entry)],
    absWorkingDir: dir,
    outfile: join(dir, "bundle.js"),
    bundle: true,
    write: false,
    format: "esm",
    sourcemap: "external",
    sourcesContent: true,
    logLevel: "silent",
  });
  const text = (ext: string) => out.outputFiles.find((f) => f.path.endsWith(ext))?.text ?? "";
  return { bundle: text(".js"), sourceMap: text(".map") };
}

const FILES = {
  "fn/index.ts": [
    'import { check } from "../lib/deep/check.ts";',
    'import { label } from "../shared/label.ts";',
    "",
    "export function handler(data: { n: number }) {",
    "  check(data.n);",
    "  return { n: data.n, label: label(data.n) };",
    "}",
    "",
  ].join("\n"),
  "lib/deep/check.ts": [
    "// The throw below is line 6, column 11 (the `new`).",
    "",
    "export function check(n: number): void {",
    "  if (n >= 0) return;",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the handler's own template literal
    "  const why = `negative: ${n}`;",
    "  throw new RangeError(why);",
    "}",
    "",
  ].join("\n"),
  "shared/label.ts": 'export const label = (n: number): string => (n % 2 === 0 ? "even" : "odd");\n',
};

describe("compileHandler with a bundle", () => {
  it("maps a throw in an imported module to that module's file and line, through both maps", async () => {
    const b = await bundleOf(FILES, "fn/index.ts");
    const r = await compileHandler(b.bundle, { filename: "fn/index.ts", bundle: { sourceMap: b.sourceMap } });
    if (!r.ok) throw new Error(JSON.stringify(r.diagnostics));
    const map = JSON.parse(r.sourceMap) as { sources: string[]; sourcesContent: string[] };
    expect([...map.sources].sort()).toEqual(["fn/index.ts", "lib/deep/check.ts", "shared/label.ts"]);
    // The original files travel in the stored map.
    expect(map.sourcesContent[map.sources.indexOf("lib/deep/check.ts")]).toBe(FILES["lib/deep/check.ts"]);

    const s = await createSandbox({ code: r.code, sourceMap: r.sourceMap });
    try {
      const [ok, bad] = await s.runBatch([{ value: '{"n":3}' }, { value: '{"n":-2}' }]);
      expect(ok).toMatchObject({ ok: true, rows: '{"n":3,"label":"odd"}' });
      if (!bad || bad.ok) throw new Error("expected a failure");
      expect(bad.error.message).toBe("negative: -2");
      expect(bad.error.details).toEqual({ location: { file: "lib/deep/check.ts", line: 6, column: 9 } });
      const frames = (bad.error.stack ?? "").split("\n").filter((l) => /^\s+at /.test(l));
      expect(frames[0]).toMatch(/at check \(lib\/deep\/check\.ts:6:9\)$/);
      expect(frames[1]).toMatch(/at handler \(fn\/index\.ts:5:3\)$/);
      expect(bad.error.stack).not.toMatch(/handler\.js|bundle\.js/);
    } finally {
      s.dispose();
    }
  });

  it("refuses a bundle with an import left in it (BUNDLE_IMPORT), static or dynamic", async () => {
    const map = '{"version":3,"sources":["index.ts"],"mappings":""}';
    for (const [code, kind] of [
      ['import { v5 } from "uuid";\nexport const handler = () => v5;\n', "import-statement"],
      ['export { v5 as handler } from "uuid";\n', "import-statement"],
      ['export const handler = () => import("lazy-mod");\n', "dynamic-import"],
    ] as const) {
      const r = await compileHandler(code, { filename: "index.ts", bundle: { sourceMap: map } });
      expect(r.ok).toBe(false);
      if (r.ok) continue;
      expect(r.diagnostics[0]).toMatchObject({
        code: "BUNDLE_IMPORT",
        line: expect.any(Number),
        message: expect.stringMatching(new RegExp(`^the bundle still imports ".+" \\(${kind}\\)`)),
      });
    }
  });

  it("refuses require, __dirname and __filename unless only tested with typeof (BUNDLE_GLOBAL)", async () => {
    const b = await bundleOf(
      {
        "index.ts": 'import { load } from "./lib/load.ts";\nexport const handler = () => load();\n',
        "lib/load.ts":
          'const name = "x";\nexport function load() {\n  return typeof require === "function" ? require(name) : __dirname;\n}\n',
      },
      "index.ts",
    );
    const r = await compileHandler(b.bundle, { filename: "index.ts", bundle: { sourceMap: b.sourceMap } });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.diagnostics.map((d) => d.code)).toEqual(["BUNDLE_GLOBAL", "BUNDLE_GLOBAL"]);
    // `require(name)` went through esbuild's __require shim: reported where the handler calls it.
    expect(r.diagnostics.map((d) => d.message)).toEqual([
      expect.stringMatching(/^lib\/load\.ts:3:58: the bundle uses `__dirname`, a CommonJS module global/),
      expect.stringMatching(
        /^lib\/load\.ts:3:42: the bundle calls `require\(\)` with a module name known only at run time/,
      ),
    ]);

    const guarded = 'export function handler() {\n  return { node: typeof require !== "undefined" };\n}\n';
    const ok = await compileHandler(guarded, {
      filename: "index.ts",
      bundle: { sourceMap: '{"version":3,"sources":["index.ts"],"mappings":""}' },
    });
    expect(ok.ok).toBe(true);
  });

  it("leaves a raw upload exactly as before: a TypeScript file, no contents in its map", async () => {
    const r = await compileHandler("export const handler = (d: { a: number }) => d;\n", { filename: "h.ts" });
    if (!r.ok) throw new Error("compile failed");
    expect(JSON.parse(r.sourceMap)).toMatchObject({ sources: ["h.ts"] });
    expect(JSON.parse(r.sourceMap).sourcesContent).toBeUndefined();
  });
});
