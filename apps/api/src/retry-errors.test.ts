/**
 * The typed retry errors seen from the API (issue 18 item 3): a test run reports each event's
 * class, code and delay, and the served handler.d.ts declares both classes so a handler using them
 * typechecks (and a wrong call does not).
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, seedSpec, startApi } from "./test-helpers.ts";

let h: Harness;
beforeAll(async () => {
  h = await startApi();
});
afterAll(() => h.close());

const HANDLER = `import type { Handler } from "./weir";
export const handler: Handler<{ how: string; id: number }> = (d) => {
  if (d.how === "bad") throw new NonRetryableError(\`record \${d.id} has no tenant\`);
  if (d.how === "later") throw new RetryAfterError(1500, "rate limited");
  if (d.how === "huge") throw new RetryAfterError(10 * 60_000);
  if (d.how === "plain") throw new Error("boom");
  const e: RetryAfterError = new RetryAfterError(5);
  return { id: d.id, ms: e.retryAfterMs, retryable: e instanceof Error };
};
`;

/** Diagnostics of `handler` compiled (strict, no emit) against the served types saved as weir.d.ts. */
function typecheck(dts: string, handler: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), "weir-types-"));
  writeFileSync(join(dir, "weir.d.ts"), dts);
  writeFileSync(join(dir, "handler.ts"), handler);
  // Both files are roots, as a tsconfig's `include` of the folder makes them.
  const program = ts.createProgram([join(dir, "weir.d.ts"), join(dir, "handler.ts")], {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ["lib.es2022.d.ts"],
    types: [],
  });
  return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
}

describe("typed retry errors through the API", () => {
  it("a test run shows each event's error class, code and retry_after_ms", async () => {
    const p = await h.admin.createPipeline(seedSpec(`retry-errors-${Date.now().toString(36)}`));
    await h.admin.uploadHandler(p.id, HANDLER);
    const run = await h.admin.testRun(p.id, [
      { how: "bad", id: 1 },
      { how: "later", id: 2 },
      { how: "huge", id: 3 },
      { how: "plain", id: 4 },
      { how: "ok", id: 5 },
    ]);
    const [bad, later, huge, plain, ok] = run.results;
    expect(bad?.error).toMatchObject({
      name: "NonRetryableError",
      code: "HANDLER_NON_RETRYABLE",
      message: "record 1 has no tenant",
      retryable: false,
      details: { location: { file: "handler.ts", line: 3 } },
    });
    expect(later?.error).toMatchObject({
      name: "RetryAfterError",
      code: "HANDLER_RETRY_AFTER",
      message: "rate limited",
      retryable: true,
      details: { retry_after_ms: 1500, location: { file: "handler.ts", line: 4 } },
    });
    expect(huge?.error).toMatchObject({ code: "HANDLER_RETRY_AFTER", details: { retry_after_ms: 60_000 } });
    expect(plain?.error).toMatchObject({ name: "Error", code: "HANDLER_ERROR", retryable: false });
    expect(plain?.error?.details).not.toHaveProperty("retry_after_ms");
    expect(ok).toMatchObject({ ok: true, rows: [{ id: 5, ms: 5, retryable: true }] });
  });

  it("serves handler.d.ts declaring both classes: a handler using them typechecks, a wrong call does not", async () => {
    const dts = await h.admin.handlerTypes();
    expect(dts).toContain("class NonRetryableError extends Error");
    expect(dts).toContain("class RetryAfterError extends Error");
    expect(typecheck(dts, HANDLER)).toEqual([]);
    const wrong = typecheck(
      dts,
      `export function handler() { const e = new RetryAfterError(); const n: string = e.retryAfterMs; throw new NonRetryableError(1, 2, 3); }`,
    );
    expect(wrong.join("\n")).toMatch(/Expected 1-2 arguments, but got 0/);
    expect(wrong.join("\n")).toMatch(/Type 'number' is not assignable to type 'string'/);
    expect(wrong).toHaveLength(3);
  });
});
