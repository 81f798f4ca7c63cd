import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const here = dirname(fileURLToPath(import.meta.url));

describe("package entry", () => {
  // chdb is ~550 MB and an optional peer: importing the package must not load its native engine.
  it("does not load chdb's native addon on import", () => {
    const dir = mkdtempSync(join(tmpdir(), "weir-lazy-"));
    try {
      const script = join(dir, "check.mjs");
      writeFileSync(
        script,
        `const loaded = [];
const orig = process.dlopen;
process.dlopen = function (m, f, ...rest) { loaded.push(f); return orig.call(this, m, f, ...rest); };
const mod = await import(${JSON.stringify(join(here, "index.ts"))});
console.log(JSON.stringify({ createSink: typeof mod.createSink, native: loaded }));`,
      );
      const out = JSON.parse(
        execFileSync(process.execPath, [script], { encoding: "utf8" }).trim().split("\n").pop() ?? "{}",
      );
      expect(out).toEqual({ createSink: "function", native: [] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
