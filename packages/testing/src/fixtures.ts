/** Access to ../shared/fixtures (the official OTLP JSON samples), located from the repo root. */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, "../../..");

/** Path of a file under shared/fixtures (`WEIR_SHARED_DIR` overrides where shared/ is). */
export function fixturePath(relative: string): string {
  const shared = process.env.WEIR_SHARED_DIR ?? resolve(repoRoot, "../shared");
  const path = join(shared, "fixtures", relative);
  if (!existsSync(path))
    throw new Error(`fixture not found: ${path} (set WEIR_SHARED_DIR to the shared/ folder)`);
  return path;
}

/** The raw text of a fixture file, e.g. `readFixture("otlp/trace.json")`. */
export function readFixture(relative: string): string {
  return readFileSync(fixturePath(relative), "utf8");
}
