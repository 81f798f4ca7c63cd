/**
 * Builds the published form of @weir/cli into dist/ (run by `pnpm pack` through `prepack`, or
 * `pnpm --filter @weir/cli build`): the `weir` executable (dist/bin.js) and the in-process `run` API
 * (dist/index.js) as ES modules, with their `.d.ts`. @weir/sdk is a real dependency; the private
 * @weir/core is imported through it (`@weir/sdk/core`), so a project has one copy of it. The templates
 * of `weir init` ship as they are (templates/, next to dist/).
 */
import { join } from "node:path";
import { bundlePackage, checkPublished, distSize, emitDeclarations } from "../../sdk/scripts/build-lib.ts";

const pkgDir = join(import.meta.dirname, "..");
const started = performance.now();
const alias = { "@weir/core": "@weir/sdk/core" };
await bundlePackage({
  pkgDir,
  entries: { bin: "src/bin.ts", index: "src/index.ts" },
  // Everything but @weir/core (aliased) stays an import: @weir/sdk and the npm packages.
  inline: () => false,
  alias,
  packageJsonFields: ["name", "version"],
});
const types = emitDeclarations({ pkgDir, entries: ["src/index.ts"], alias });
const imports = await checkPublished(pkgDir);
const size = distSize(pkgDir);
process.stdout.write(
  `@weir/cli: dist/ ${size.files} files, ${size.bytes} bytes in ${Math.round(performance.now() - started)} ms; types ${types.join(", ")}; imports ${imports.join(", ")}\n`,
);
