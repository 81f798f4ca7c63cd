/**
 * The console builds to static files in dist/, served by the API at /ui (apps/api/src/routes/console.ts).
 * `pnpm --filter @weir/console dev` serves it with hot reload and sends /v1 to an API on 127.0.0.1:8080
 * (WEIR_API_URL to change it).
 */
import { defineConfig } from "vite";

export default defineConfig({
  base: "/ui/",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: { outDir: "dist", emptyOutDir: true, target: "es2022", chunkSizeWarningLimit: 800 },
  server: { proxy: { "/v1": process.env.WEIR_API_URL ?? "http://127.0.0.1:8080" } },
});
