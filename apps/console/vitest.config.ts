import { defineConfig, mergeConfig } from "vitest/config";
import shared from "../../vitest.shared.ts";

// The browser test starts an API, a worker and Chromium: give it room.
export default mergeConfig(shared, defineConfig({ test: { testTimeout: 180_000, hookTimeout: 120_000 } }));
