/**
 * Byte-identical rows: this handler, uploaded as the API stores it and run in the real sandbox, on
 * every committed OTLP fixture (packages/testing/fixtures/otlp: the official sample and the corpus),
 * must print exactly golden.ndjson. That file was written by the single-file handler before its
 * helpers moved to functions/shared (repository state 02df50e). Rewrite it only for an intended change
 * of output: `WEIR_WRITE_GOLDEN=1 pnpm vitest run golden`.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { goldenInputs, goldenText, sandboxFor } from "@weir/testing/handlers";
import { expect, it } from "vitest";

const entry = fileURLToPath(new URL("./index.ts", import.meta.url));
const golden = fileURLToPath(new URL("./golden.ndjson", import.meta.url));
const variants: Record<string, string>[] = [
  { WEIR_TABLE_FLAVOR: "modern", DEPLOY_ENV: "prod", REDACT_KEYS: "app.secret_thing, http.route" },
  { WEIR_TABLE_FLAVOR: "legacy" },
];

it("writes the golden rows, logs and errors for every fixture, byte for byte", async () => {
  let text = "";
  for (const env of variants) {
    const sandbox = await sandboxFor(entry, env);
    try {
      text += `${JSON.stringify({ env })}\n${await goldenText(sandbox, goldenInputs("traces"))}`;
    } finally {
      sandbox.dispose();
    }
  }
  if (process.env.WEIR_WRITE_GOLDEN === "1") writeFileSync(golden, text);
  const want = readFileSync(golden, "utf8");
  const got = text.split("\n");
  const at = want.split("\n").findIndex((line, i) => line !== got[i]);
  // The first differing line, rather than a diff of two 100 KB strings.
  expect(at === -1 ? "" : `line ${at + 1}: ${got[at]}`).toBe(
    at === -1 ? "" : `line ${at + 1}: ${want.split("\n")[at]}`,
  );
  expect(Buffer.from(text).equals(Buffer.from(want))).toBe(true);
});
