/**
 * buildApp: the whole API as a fastify instance, used by main.ts and by tests (listen on port 0
 * against a temporary SQLite file). Opening the database applies migrations; closing the app
 * flushes buffered logs and closes the database.
 */
import { dirname, resolve } from "node:path";
import multipart from "@fastify/multipart";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import { REDACTED } from "@weir/core";
import { getPipeline, openDb } from "@weir/db";
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import pino, { type DestinationStream } from "pino";
import { installAccess } from "./access.ts";
import { installAudit } from "./audit.ts";
import { installAuth } from "./auth.ts";
import { type BootstrapResult, bootstrapTokens } from "./bootstrap.ts";
import type { AppContext } from "./context.ts";
import type { Env } from "./env.ts";
import { parseEnv } from "./env.ts";
import { installErrorHandling } from "./errors.ts";
import { ReportHistory } from "./history.ts";
import { LogWriter } from "./log-writer.ts";
import { createMetrics } from "./metrics.ts";
import { Placer } from "./placement.ts";
import { auditRoutes } from "./routes/audit.ts";
import { consoleRoutes } from "./routes/console.ts";
import { dlqRoutes } from "./routes/dlq.ts";
import { HANDLER_CONTENT_TYPES, handlerRoutes } from "./routes/handlers.ts";
import { healthRoutes } from "./routes/health.ts";
import { historyRoutes } from "./routes/history.ts";
import { logRoutes } from "./routes/logs.ts";
import { peekRoutes } from "./routes/peek.ts";
import { pipelineRoutes } from "./routes/pipelines.ts";
import { projectRoutes } from "./routes/projects.ts";
import { testRunRoutes } from "./routes/test-run.ts";
import { tokenRoutes } from "./routes/tokens.ts";
import { workerRoutes } from "./routes/worker.ts";
import { workersRoutes } from "./routes/workers.ts";
import { loadOrCreateKey, SecretBox, secretValues } from "./secrets.ts";
import { installValidation } from "./validation.ts";

declare module "fastify" {
  interface FastifyInstance {
    weir: AppContext & { bootstrap: BootstrapResult };
  }
}

export interface BuildAppOptions {
  /** Full or partial config; missing fields come from defaults (not from process.env). */
  env?: Partial<Env>;
  /** Where the API's own pino logs go (tests capture them); stdout by default. */
  logStream?: DestinationStream;
}

export async function buildApp(options: BuildAppOptions = {}): Promise<FastifyInstance> {
  const env: Env = { ...parseEnv({}), ...options.env };
  const logger = pino(
    {
      level: env.WEIR_LOG_LEVEL,
      // Belt and braces: request logs carry no headers or bodies, but if one ever does, these go.
      redact: {
        paths: [
          "req.headers.authorization",
          "headers.authorization",
          "*.password",
          "*.sasl_password",
          "*.token",
          "*.authorization",
          "*.Authorization",
        ],
        censor: REDACTED,
      },
    },
    options.logStream ?? process.stdout,
  );
  const dbPath = resolve(env.WEIR_DB_PATH);
  const dataDir = dirname(dbPath);
  const db = openDb(dbPath);
  const box = new SecretBox(
    loadOrCreateKey({
      key: env.WEIR_SECRET_KEY,
      file: env.WEIR_SECRET_KEY_FILE ?? resolve(dataDir, "secret.key"),
    }),
  );
  const bootstrap = bootstrapTokens(db, dataDir, {
    admin: env.WEIR_ADMIN_TOKEN,
    worker: env.WEIR_WORKER_TOKEN,
  });
  for (const g of bootstrap.generated)
    logger.warn({ file: g.file }, `generated a ${g.kind} token on first start`);

  const metrics = createMetrics({
    pipelines: () => (db.sqlite.prepare("SELECT count(*) FROM pipelines").pluck().get() as number) ?? 0,
    liveWorkers: () =>
      (db.sqlite
        .prepare("SELECT count(*) FROM workers WHERE last_seen >= ?")
        .pluck()
        .get(Date.now() - env.WEIR_WORKER_STALE_MS) as number) ?? 0,
  });
  const secretCache = new Map<string, { revision: number; values: string[] }>();
  const logs = new LogWriter(
    db,
    {
      retention: { maxLines: env.WEIR_LOG_RETENTION_LINES, maxAgeMs: env.WEIR_LOG_RETENTION_MS },
      flushMs: env.WEIR_LOG_FLUSH_MS,
      flushLines: env.WEIR_LOG_FLUSH_LINES,
      maxBuffer: env.WEIR_LOG_BUFFER_MAX,
    },
    logger,
    (pipelineId) => {
      const row = getPipeline(db, pipelineId);
      if (!row) return [];
      const hit = secretCache.get(pipelineId);
      if (hit && hit.revision === row.revision) return hit.values;
      const values = secretValues(box, JSON.parse(row.specJson));
      secretCache.set(pipelineId, { revision: row.revision, values });
      return values;
    },
    (outcome, n) => metrics.logLines.inc({ outcome }, n),
  );
  const placer = new Placer({ db, env });
  const history = new ReportHistory({ staleMs: env.WEIR_WORKER_STALE_MS });
  const ctx: AppContext = { env, db, box, logs, metrics, placer, history };

  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: env.WEIR_API_BODY_LIMIT,
    forceCloseConnections: true,
  });
  app.decorate("weir", { ...ctx, bootstrap });
  placer.start((err) => logger.error({ err }, "placement pass failed; retrying on the next tick"));
  app.addHook("onClose", async () => {
    placer.stop();
    logs.close();
    db.close();
  });

  installValidation(app);
  installErrorHandling(app);
  installAuth(app, ctx);
  installAccess(app, ctx);
  installAudit(app, ctx);
  app.addHook("onResponse", async (req, reply) => {
    const route = req.routeOptions.url ?? "unmatched";
    metrics.httpRequests.inc({ method: req.method, route, status: String(reply.statusCode) });
    metrics.httpDuration.observe({ method: req.method, route }, reply.elapsedTime / 1000);
  });
  app.addContentTypeParser(HANDLER_CONTENT_TYPES, { parseAs: "buffer" }, (_req, body, done) =>
    done(null, body),
  );
  await app.register(multipart, { limits: { fileSize: env.WEIR_MAX_HANDLER_BYTES, files: 1, fields: 10 } });
  await app.register(swagger, {
    openapi: {
      info: {
        title: "Weir API",
        version: "0.1.0",
        description: "Weir control plane: pipelines, handlers, logs, DLQ.",
      },
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: "/docs" });

  await app.register(healthRoutes, { ctx });
  await app.register(pipelineRoutes, { ctx });
  await app.register(handlerRoutes, { ctx });
  await app.register(testRunRoutes, { ctx });
  await app.register(peekRoutes, { ctx });
  await app.register(logRoutes, { ctx });
  await app.register(dlqRoutes, { ctx });
  await app.register(workerRoutes, { ctx });
  await app.register(workersRoutes, { ctx });
  await app.register(tokenRoutes, { ctx });
  await app.register(projectRoutes, { ctx });
  await app.register(auditRoutes, { ctx });
  await app.register(historyRoutes, { ctx });
  await app.register(consoleRoutes);
  return app;
}
