/** Test harness: a real API on a free port over a real SQLite file, plus SDK clients. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { WeirClient } from "@weir/sdk";
import type { FastifyInstance } from "fastify";
import { buildApp } from "./app.ts";
import type { Env } from "./env.ts";

export const ADMIN = "test-admin-token-0123456789";
export const WORKER = "test-worker-token-0123456789";

export interface Harness {
  app: FastifyInstance;
  url: string;
  dir: string;
  /** Every line the API logged (pino JSON). */
  logLines: string[];
  admin: WeirClient;
  worker: WeirClient;
  anon: WeirClient;
  client(token: string): WeirClient;
  close(): Promise<void>;
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "weir-api-"));
}

/** Start the API over `<dir>/weir.db`; pass the same dir again to simulate a restart. */
export async function startApi(dir = tempDir(), env: Partial<Env> = {}): Promise<Harness> {
  const logLines: string[] = [];
  const logStream = new Writable({
    write(chunk, _enc, cb) {
      logLines.push(...String(chunk).split("\n").filter(Boolean));
      cb();
    },
  });
  const app = await buildApp({
    env: {
      WEIR_DB_PATH: join(dir, "weir.db"),
      WEIR_ADMIN_TOKEN: ADMIN,
      WEIR_WORKER_TOKEN: WORKER,
      WEIR_API_PORT: 0,
      WEIR_LOG_LEVEL: "debug",
      WEIR_LOG_FLUSH_MS: 50,
      ...env,
    },
    logStream,
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const addr = app.server.address();
  const url = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`;
  const client = (token: string) => new WeirClient({ baseUrl: url, token });
  return {
    app,
    url,
    dir,
    logLines,
    admin: client(ADMIN),
    worker: client(WORKER),
    anon: new WeirClient({ baseUrl: url }),
    client,
    close: () => app.close(),
  };
}

/** A valid spec shaped like the seed article's pipeline (webhook sink), with unique names. */
export function seedSpec(name: string, overrides: Record<string, unknown> = {}) {
  return {
    name,
    source: {
      type: "kafka",
      config: {
        bootstrap_servers: "127.0.0.1:9092",
        topic: "otel-traces-raw",
        group_id: "glassflow-otel-processor",
        auto_offset_reset: "earliest",
      },
    },
    sink: {
      type: "webhook",
      config: {
        url: "http://127.0.0.1:8123/",
        method: "POST",
        headers: { "X-ClickHouse-Database": "default", "X-ClickHouse-Format": "JSONEachRow" },
      },
    },
    ...overrides,
  };
}

export const GOOD_HANDLER = `
interface Span { traceId: string; spanId: string; name?: string }
export function handler(data: { spans: Span[] }, log: { info(m: string, f?: Record<string, unknown>): void }) {
  log.info("spans", { n: data.spans.length });
  return data.spans.map((s) => ({ trace_id: s.traceId, span_id: s.spanId, fp: hash.md5(s.traceId + s.spanId) }));
}
`;
