import { readFileSync } from "node:fs";
import { expect, test } from "vitest";
import { generate } from "../scripts/generate.ts";

test("the committed generated code is what `pnpm generate` makes from proto/", () => {
  const fresh = generate();
  expect(readFileSync(new URL("./generated/otlp.js", import.meta.url), "utf8")).toBe(fresh.js);
  expect(readFileSync(new URL("./generated/otlp.d.ts", import.meta.url), "utf8")).toBe(fresh.dts);
});
