import { defineConfig } from "vitest/config";

/**
 * Shared test settings. Integration tests talk to the real broker and ClickHouse started by
 * `scripts/services`, so timeouts are generous; isolated-vm needs `--no-node-snapshot` on Node 20+.
 */
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    poolOptions: { forks: { execArgv: ["--no-node-snapshot"] } },
    include: ["src/**/*.test.ts", "*.test.ts", "test/**/*.test.ts"],
  },
});
