#!/usr/bin/env node
// Bundle an app entry (argv[2]) into dist/main.js: workspace packages (@weir/*, TypeScript sources)
// are bundled in; every npm dependency stays external and is loaded from node_modules at run time.
import { build } from "esbuild";

const entry = process.argv[2] ?? "src/main.ts";
await build({
  entryPoints: [entry],
  outfile: "dist/main.js",
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  sourcemap: true,
  logLevel: "warning",
  plugins: [
    {
      name: "externalize-npm",
      setup(b) {
        b.onResolve({ filter: /^[^./]/ }, (args) =>
          args.path.startsWith("@weir/") ? undefined : { path: args.path, external: true },
        );
      },
    },
  ],
});
