/** index.ts compiled and run in the real sandbox gives the same rows as the plain function. */
import { fileURLToPath } from "node:url";
import { readFixture } from "@weir/testing";
import { installSandboxGlobals, recordingLog, rowsOf, sandboxFor } from "@weir/testing/handlers";
import { describe, expect, it } from "vitest";
import { handler } from "./index.ts";

const file = fileURLToPath(new URL("./index.ts", import.meta.url));
const setEnv = installSandboxGlobals();
const collector = JSON.stringify({
  resourceLogs: [
    {
      scopeLogs: [
        {
          logRecords: [
            {
              timeUnixNano: "1700000000123456789",
              severityNumber: 13,
              body: { kvlistValue: { values: [] } },
            },
            { observedTimeUnixNano: "1700000000000000001", traceId: "ABCDEF0123456789ABCDEF0123456789" },
          ],
        },
      ],
    },
  ],
});

describe.each(["modern", "legacy"])("otel-logs in the real sandbox (%s)", (flavor) => {
  it("returns exactly the rows of the plain function", async () => {
    const sandbox = await sandboxFor(file, { WEIR_TABLE_FLAVOR: flavor });
    try {
      const messages = [readFixture("otlp/logs.json"), collector, "{}"];
      const results = await sandbox.runBatch(messages.map((value) => ({ value })));
      setEnv({ WEIR_TABLE_FLAVOR: flavor });
      expect(results.map(rowsOf)).toEqual(messages.map((m) => handler(JSON.parse(m), recordingLog())));
      expect(rowsOf(results[1]!)).toHaveLength(2);
    } finally {
      sandbox.dispose();
    }
  });
});
