/**
 * The uploaded path: index.ts compiled by the sandbox's compiler and run in a real isolate with the
 * sandbox's own `hash.md5` and `env`, must give the same rows as the plain function under vitest.
 */
import { fileURLToPath } from "node:url";
import { generateTraces } from "@weir/generator";
import { readFixture } from "@weir/testing";
import { installSandboxGlobals, recordingLog, rowsOf, sandboxFor } from "@weir/testing/handlers";
import { afterAll, describe, expect, it } from "vitest";
import { handler } from "./index.ts";

const file = fileURLToPath(new URL("./index.ts", import.meta.url));
const setEnv = installSandboxGlobals();
const messages = [
  readFixture("otlp/trace.json"),
  JSON.stringify(
    generateTraces({ seed: 99, spansPerMessage: 150, timeUnixNano: 1_700_000_000_000_000_000n }).request,
  ),
  JSON.stringify(
    generateTraces({ seed: 99, spansPerMessage: 150, idCase: "upper", int64: "number" }).request,
  ),
  "{}",
];
const disposers: Array<() => void> = [];
afterAll(() => {
  for (const d of disposers) d();
});

describe.each(["modern", "legacy"])("otel-traces in the real sandbox (%s)", (flavor) => {
  it("returns exactly the rows of the plain function, fingerprints from the sandbox's md5", async () => {
    const sandbox = await sandboxFor(file, { WEIR_TABLE_FLAVOR: flavor });
    disposers.push(() => sandbox.dispose());
    const results = await sandbox.runBatch(messages.map((value) => ({ value })));
    setEnv({ WEIR_TABLE_FLAVOR: flavor });
    const expected = messages.map((m) => handler(JSON.parse(m), recordingLog()));
    const got = results.map(rowsOf);
    expect(got).toEqual(expected);
    expect(got[1]?.length).toBeGreaterThan(100);
    // The summary line reached the pipeline's logs, once per message.
    const first = results[0];
    expect(first?.logs.map((l) => l.message)).toEqual(["otel-traces: 1 spans -> 1 rows"]);
  });

  it("sends a non-OTLP message to the DLQ path as a handler error", async () => {
    const sandbox = await sandboxFor(file, { WEIR_TABLE_FLAVOR: flavor });
    disposers.push(() => sandbox.dispose());
    const [result] = await sandbox.runBatch([{ value: "[1,2]" }]);
    expect(result?.ok).toBe(false);
    if (result && !result.ok) expect(result.error.message).toMatch(/ExportTraceServiceRequest/);
  });
});
