/**
 * The API's configuration: one object, validated once at boot from `process.env`. Nothing else in
 * the app reads the environment. Every variable has a comment and a default suitable for a laptop.
 */
import { type Static, Type } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { parseEgressPolicy } from "@weir/core";

const Int = (def: number, min = 0) => Type.Integer({ default: def, minimum: min });

export const EnvSchema = Type.Object({
  /** Interface to bind. */
  WEIR_API_HOST: Type.String({ default: "127.0.0.1" }),
  /** TCP port; 0 picks a free one (tests). */
  WEIR_API_PORT: Int(8080),
  /** SQLite file of the control plane; created with its folder on first start. */
  WEIR_DB_PATH: Type.String({ default: ".weir/api/weir.db" }),
  /** Admin token registered on start (stored hashed). Unset on first start: one is generated into
   * `<db folder>/admin.token` (mode 0600). */
  WEIR_ADMIN_TOKEN: Type.Optional(Type.String({ minLength: 16 })),
  /** Worker token registered on start. Unset on first start: generated into `<db folder>/worker.token`. */
  WEIR_WORKER_TOKEN: Type.Optional(Type.String({ minLength: 16 })),
  /** AES-256-GCM key for secrets at rest: 32 bytes as 64 hex chars or base64. Wins over the file. */
  WEIR_SECRET_KEY: Type.Optional(Type.String({ minLength: 32 })),
  /** Key file, created (32 random bytes, mode 0600) on first start. Default `<db folder>/secret.key`. */
  WEIR_SECRET_KEY_FILE: Type.Optional(Type.String({ minLength: 1 })),
  /** Largest handler source accepted, in bytes (413 above). */
  WEIR_MAX_HANDLER_BYTES: Int(1024 * 1024, 1),
  /** Largest bundle of a bundled upload, in bytes (400 naming /body/bundle above); its source map may
   * be 4 times that (400 naming /body/source_map), the whole body 5 times that plus 1 MiB (413). */
  WEIR_MAX_BUNDLE_BYTES: Int(4 * 1024 * 1024, 1),
  /** Largest JSON body on user routes, in bytes (413 above). */
  WEIR_API_BODY_LIMIT: Int(1024 * 1024, 1024),
  /** Largest body on worker routes (log batches, reports), in bytes. */
  WEIR_WORKER_BODY_LIMIT: Int(8 * 1024 * 1024, 1024),
  /** Log lines kept per pipeline. */
  WEIR_LOG_RETENTION_LINES: Int(10_000, 1),
  /** Age after which log lines are removed, in ms (default 7 days). */
  WEIR_LOG_RETENTION_MS: Int(7 * 24 * 3600 * 1000, 1000),
  /** Log writer: flush buffered lines every this many ms ... */
  WEIR_LOG_FLUSH_MS: Int(200, 1),
  /** ... or as soon as this many lines are buffered. */
  WEIR_LOG_FLUSH_LINES: Int(1000, 1),
  /** Lines held in memory at most; beyond it, lines are dropped and counted, so a chatty handler
   * cannot grow the API's heap. */
  WEIR_LOG_BUFFER_MAX: Int(50_000, 1),
  /** A worker whose last heartbeat is older than this (ms) no longer counts towards status. */
  WEIR_WORKER_STALE_MS: Int(30_000, 1000),
  /** Placement: a worker with no heartbeat (status post or desired-state poll) for this long (ms)
   * loses its pipelines to the other live workers of its pool. */
  WEIR_PLACEMENT_DEAD_MS: Int(5000, 500),
  /** Placement: how often (ms) the API recomputes assignments from the live workers. */
  WEIR_PLACEMENT_TICK_MS: Int(1000, 50),
  /** Egress allow list: comma-separated CIDR ranges (a bare IP is /32 or /128) and host names
   * (`kafka.example.com`, or `*.example.com` for every name under it) that pipelines' Kafka brokers
   * and sink URLs may point at. Empty: anything not denied. */
  WEIR_EGRESS_ALLOW: Type.Optional(Type.String()),
  /** Egress deny list, same syntax; always extended by the default deny rules (link-local and cloud
   * metadata ranges, see DEFAULT_EGRESS_DENY in @weir/core). Deny wins over allow. */
  WEIR_EGRESS_DENY: Type.Optional(Type.String()),
  /** pino level of the API's own logs. */
  WEIR_LOG_LEVEL: Type.Union(
    ["fatal", "error", "warn", "info", "debug", "trace", "silent"].map((l) => Type.Literal(l)),
    { default: "info" },
  ),
});

export type Env = Static<typeof EnvSchema>;

/** Parse and validate; throws one error listing every bad variable. */
export function parseEnv(source: Record<string, string | undefined> = process.env): Env {
  const picked: Record<string, unknown> = {};
  for (const key of Object.keys(EnvSchema.properties)) {
    const raw = source[key];
    if (raw === undefined || raw === "") continue;
    picked[key] =
      /^-?\d+$/.test(raw) && EnvSchema.properties[key as keyof Env].type === "integer" ? Number(raw) : raw;
  }
  const value = Value.Default(EnvSchema, picked);
  const errors = [...Value.Errors(EnvSchema, value)].map((e) => `${e.path.slice(1)}: ${e.message}`);
  try {
    const { WEIR_EGRESS_ALLOW, WEIR_EGRESS_DENY } = value as Env;
    parseEgressPolicy(WEIR_EGRESS_ALLOW, WEIR_EGRESS_DENY);
  } catch (err) {
    errors.push((err as Error).message);
  }
  if (errors.length > 0) throw new Error(`invalid environment:\n  ${errors.join("\n  ")}`);
  return value as Env;
}
