import { defineConfig, mergeConfig } from "vitest/config";
import shared from "../vitest.shared.ts";

/**
 * Scenarios run one file at a time: each spawns real API and worker processes and loads the two
 * cores CI has; running them side by side would measure the scheduler, not Weir.
 */
export default mergeConfig(
  shared,
  defineConfig({
    test: { fileParallelism: false, testTimeout: 15 * 60_000, hookTimeout: 5 * 60_000 },
  }),
);
