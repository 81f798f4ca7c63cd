/** index.ts compiled and run in the real sandbox, env from the pipeline spec, same rows as the plain function. */
import { fileURLToPath } from "node:url";
import { generateTraces } from "@weir/generator";
import { installSandboxGlobals, recordingLog, rowsOf, sandboxFor } from "@weir/testing/handlers";
import { describe, expect, it } from "vitest";
import { handler } from "./index.ts";

const file = fileURLToPath(new URL("./index.ts", import.meta.url));
const setEnv = installSandboxGlobals();

describe("filter-enrich in the real sandbox", () => {
  it("drops, redacts and enriches exactly as the plain function, reading DEPLOY_ENV from the pipeline env", async () => {
    const env = { DEPLOY_ENV: "prod-eu", REDACT_KEYS: "app.request.hash" };
    const sandbox = await sandboxFor(file, env);
    try {
      const messages = [1, 2, 3].map((seed) =>
        JSON.stringify(
          generateTraces({ seed, spansPerMessage: 200, healthCheckRate: 0.2, piiRate: 0.5 }).request,
        ),
      );
      const results = await sandbox.runBatch(messages.map((value) => ({ value })));
      setEnv(env);
      const expected = messages.map((m) => handler(JSON.parse(m), recordingLog()));
      const got = results.map(rowsOf) as Array<
        Array<{ deploy_env: string; attributes: Record<string, string> }>
      >;
      expect(got).toEqual(expected);
      const rows = got.flat();
      expect(rows.length).toBeGreaterThan(0);
      expect(
        rows.every((r) => r.deploy_env === "prod-eu" && r.attributes["app.request.hash"] === "[REDACTED]"),
      ).toBe(true);
    } finally {
      sandbox.dispose();
    }
  });
});
