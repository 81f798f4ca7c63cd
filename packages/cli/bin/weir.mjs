#!/usr/bin/env node
// Launcher. Weir runs on the Node in the repository's .nvmrc (24 LTS), which strips the TypeScript
// types itself, so the CLI runs its sources directly. Started by an older system node (e.g. 20), it
// re-runs itself on the Node that scripts/lib.sh keeps in the cache (fetched from the npm registry by
// `npm test`, `npm run demo` or `source scripts/lib.sh && ensure_node`).
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

const major = Number(process.versions.node.split(".")[0]);
if (major < 24) {
  const root = new URL("../../../", import.meta.url).pathname;
  let want = "";
  try {
    want = readFileSync(join(root, ".nvmrc"), "utf8").trim();
  } catch {}
  const cache =
    process.env.WEIR_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "weir");
  const node = join(cache, `node-v${want}`, "bin", "node");
  if (!want || !existsSync(node)) {
    process.stderr.write(
      `weir: needs Node ${want || "24"} (this is ${process.version}); run \`source scripts/lib.sh && ensure_node\` in the repository once\n`,
    );
    process.exit(5);
  }
  const r = spawnSync(node, [new URL(import.meta.url).pathname, ...process.argv.slice(2)], {
    stdio: "inherit",
  });
  process.exit(r.status ?? 1);
}
await import("../src/bin.ts");
