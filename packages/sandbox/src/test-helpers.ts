/** Test helpers: compile a TypeScript handler and load it into a real sandbox. */
import { compileHandler } from "./compile.ts";
import { createSandbox } from "./sandbox.ts";
import type { Sandbox, SandboxOptions } from "./types.ts";

/** Compile `source` (failing the test on diagnostics) and create a sandbox for it. */
export async function sandboxFor(source: string, opts: Omit<SandboxOptions, "code"> = {}): Promise<Sandbox> {
  const compiled = await compileHandler(source, { filename: "handler.ts" });
  if (!compiled.ok) throw new Error(`compile failed: ${JSON.stringify(compiled.diagnostics)}`);
  return createSandbox({ ...opts, code: compiled.code, sourceMap: compiled.sourceMap });
}

/** The rows of a successful result, parsed; throws on failure so assertions stay short. */
export function rowsOf(result: { ok: boolean; rows?: string; error?: unknown }): unknown[] {
  if (!result.ok) throw new Error(`expected success, got ${JSON.stringify(result.error)}`);
  return result.rows ? result.rows.split("\n").map((l) => JSON.parse(l)) : [];
}
