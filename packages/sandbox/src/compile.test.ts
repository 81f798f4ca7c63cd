import { describe, expect, it } from "vitest";
import { compileHandler } from "./compile.ts";
import { createSandbox } from "./sandbox.ts";

async function diagnosticsOf(source: string) {
  const r = await compileHandler(source);
  if (r.ok) throw new Error("expected a compile failure");
  return r;
}

describe("compileHandler", () => {
  it("compiles TypeScript and the output loads in a sandbox", async () => {
    const r = await compileHandler(
      `import type { Row } from "@weir/core";\nexport const handler = (d: { a: number }): Row => ({ a: d.a + 1 });`,
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(JSON.parse(r.sourceMap).sources).toEqual(["handler.ts"]);
    const s = await createSandbox({ code: r.code, sourceMap: r.sourceMap });
    const out = await s.run('{"a":1}');
    s.dispose();
    expect(out).toMatchObject({ ok: true, rows: '{"a":2}' });
  });

  it("reports syntax errors with 1-based line and column", async () => {
    const r = await diagnosticsOf("export function handler() {\n  return { a: };\n}");
    expect(r.missingExport).toBe(false);
    expect(r.diagnostics[0]).toMatchObject({ line: 2, column: 15, code: "COMPILE_ERROR" });
  });

  it("rejects a file without a `handler` export (MISSING_HANDLER_EXPORT)", async () => {
    const r = await diagnosticsOf("export function transform() { return null; }");
    expect(r.missingExport).toBe(true);
    expect(r.diagnostics).toEqual([
      expect.objectContaining({
        code: "MISSING_HANDLER_EXPORT",
        message: expect.stringContaining("`transform`"),
      }),
    ]);
    const none = await diagnosticsOf("const handler = () => null;");
    expect(none.diagnostics[0]!.message).toMatch(/exports nothing/);
  });

  it.each([
    ["node:crypto", /hash\.md5/],
    ["crypto", /hash\.md5/],
    ["fs", /without Node modules, file system/],
    ["node:child_process", /without Node modules/],
    ["buffer", /TextEncoder/],
    ["lodash", /packages are not installed/],
    ["./util", /a raw upload is one file\. Upload with `weir handler upload`/],
  ])("refuses import of %s with a fix-it", async (path, fixIt) => {
    const r = await diagnosticsOf(`import x from "${path}";\nexport const handler = () => x;`);
    expect(r.diagnostics[0]).toMatchObject({ line: 1, code: "COMPILE_ERROR" });
    expect(r.diagnostics[0]!.message).toMatch(fixIt);
  });

  it("refuses require() of node builtins too", async () => {
    const r = await diagnosticsOf(`const fs = require("fs");\nexport const handler = () => fs;`);
    expect(r.diagnostics[0]!.message).toMatch(/without Node modules/);
  });

  it("a sandbox refuses code that never defines a handler", async () => {
    await expect(createSandbox({ code: "var x = 1;" })).rejects.toMatchObject({
      code: "MISSING_HANDLER_EXPORT",
    });
  });
});
