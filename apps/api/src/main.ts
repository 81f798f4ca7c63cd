/**
 * Entry point: `node --no-node-snapshot src/main.ts` (isolated-vm, used by the test-run
 * route, needs --no-node-snapshot on Node 20+). Reads the environment once, starts, and shuts down
 * cleanly on SIGINT/SIGTERM (buffered logs are flushed).
 */
import { buildApp } from "./app.ts";
import { parseEnv } from "./env.ts";

const env = parseEnv();
const app = await buildApp({ env });
await app.listen({ host: env.WEIR_API_HOST, port: env.WEIR_API_PORT });

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    app.log.info({ signal }, "shutting down");
    app.close().then(
      () => process.exit(0),
      (err) => {
        app.log.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  });
}
