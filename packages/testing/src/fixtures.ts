/**
 * Test data that lives in this repository (packages/testing/fixtures): the official OTLP JSON samples
 * and the seed article's Collector config and DDL, each copied with its origin noted in a README there.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const fixturesDir = resolve(dirname(fileURLToPath(import.meta.url)), "../fixtures");

/** Path of a file under packages/testing/fixtures, e.g. `fixturePath("otlp/trace.json")`. */
export function fixturePath(relative: string): string {
  const path = join(fixturesDir, relative);
  if (!existsSync(path)) throw new Error(`fixture not found: ${path}`);
  return path;
}

/** The raw text of a fixture file, e.g. `readFixture("otlp/trace.json")`. */
export function readFixture(relative: string): string {
  return readFileSync(fixturePath(relative), "utf8");
}
