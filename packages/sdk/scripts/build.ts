/**
 * Builds the published form of @weir/sdk into dist/ (run by `pnpm pack` through `prepack`, or
 * `pnpm --filter @weir/sdk build`): the entries `.` (client and types), `./bundle` (esbuild bundler),
 * `./testing` (the handler test helper: bundler, compiler and isolated-vm sandbox) and `./core`
 * (Weir's shared definitions) as ES modules with the private workspace packages (@weir/core,
 * @weir/sandbox, @weir/otlp) inlined, and their `.d.ts`; and `./handler`, types only: the handler
 * `.d.ts` the API serves (apps/api/src/handler-types.ts), with the sandbox's globals.
 *
 * The sandbox builds two scripts for the isolate at run time from TypeScript files next to its code
 * (its runtime, and the OTLP protobuf decoder); a package has no such files, so the build runs those
 * same functions now and inlines the scripts they return. The process-isolated sandbox (for the API)
 * is left out. Nothing else of the sandbox changes.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { otlpDecoderSource } from "@weir/otlp";
import { handlerTypes } from "../../../apps/api/src/handler-types.ts";
import * as runtimeBundle from "../../sandbox/src/runtime-bundle.ts";
import { bundlePackage, checkPublished, distSize, emitDeclarations, PACKAGES_DIR } from "./build-lib.ts";

const pkgDir = join(import.meta.dirname, "..");
const sandboxSrc = join(PACKAGES_DIR, "sandbox", "src");

const started = performance.now();
const runtimeExports = Object.keys(runtimeBundle).sort();
if (runtimeExports.join() !== "RUNTIME_FILENAME,runtimeSource") {
  throw new Error(
    `sandbox/src/runtime-bundle.ts exports ${runtimeExports.join(", ")}: update scripts/build.ts`,
  );
}
const runtime = await runtimeBundle.runtimeSource();

await bundlePackage({
  pkgDir,
  entries: { index: "src/index.ts", bundle: "src/bundle.ts", testing: "src/testing.ts", core: "src/core.ts" },
  inline: (spec) => spec.startsWith("@weir/"),
  packageJsonFields: ["name", "version"],
  replacements: [
    {
      target: join(sandboxSrc, "runtime-bundle.ts"),
      contents: `export const RUNTIME_FILENAME = ${JSON.stringify(runtimeBundle.RUNTIME_FILENAME)};
const source = ${JSON.stringify(runtime)};
export function runtimeSource() { return Promise.resolve(source); }
`,
    },
    {
      target: "@weir/otlp",
      contents: `const source = ${JSON.stringify(otlpDecoderSource())};
export function otlpDecoderSource() { return source; }
`,
    },
    {
      target: join(sandboxSrc, "process", "sandbox.ts"),
      contents: `export function createProcessSandbox() {
  throw new Error("createProcessSandbox is not part of @weir/sdk; use createSandbox");
}
`,
    },
  ],
});
const types = emitDeclarations({
  pkgDir,
  entries: ["src/index.ts", "src/bundle.ts", "src/testing.ts", "src/core.ts"],
  vendor: {
    "@weir/core": "core/src/index.ts",
    "@weir/sandbox": "sandbox/src/index.ts",
    "@weir/otlp": "otlp/src/index.ts",
  },
});
// `@weir/sdk/handler`: the .d.ts the API serves (`weir handler types`), the handler contract, OTLP
// types and the sandbox's globals, with its header saying how to import it from here.
const served = handlerTypes();
const body = served.slice(served.search(/^(?!\/\/).*$/m));
writeFileSync(
  join(pkgDir, "dist", "types", "handler.d.ts"),
  `// Weir handler types and the sandbox's globals (hash, base64, env, NonRetryableError, RetryAfterError):
//   import type { Handler, Log, OtlpExportTraceServiceRequest } from "@weir/sdk/handler";
// The same text as the Weir API serves (\`weir handler types\`), generated from @weir/core; do not edit.
${body}`,
);
types.push("dist/types/handler.d.ts");
const imports = await checkPublished(pkgDir);
const size = distSize(pkgDir);
process.stdout.write(
  `@weir/sdk: dist/ ${size.files} files, ${size.bytes} bytes in ${Math.round(performance.now() - started)} ms; types ${types.join(", ")}; imports ${imports.join(", ")}\n`,
);
