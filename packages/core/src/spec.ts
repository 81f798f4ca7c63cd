/**
 * The pipeline spec: what a user POSTs to create a pipeline, and what workers receive (decrypted).
 * Shape follows the seed article: `source`/`sink` as `{type, config}`.
 * Every optional field has a default, applied by {@link parsePipelineSpec}.
 */
import { type Static, type TSchema, Type } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";

const Secret = Type.Union(
  [Type.String(), Type.Object({ secret: Type.String() }, { additionalProperties: false })],
  {
    description: 'A plain string, or {"secret": "..."}; stored encrypted and never returned.',
  },
);
const PositiveInt = (def: number, max = Number.MAX_SAFE_INTEGER) =>
  Type.Integer({ minimum: 1, maximum: max, default: def });

export const KafkaSourceConfig = Type.Object(
  {
    bootstrap_servers: Type.Union(
      [Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })],
      {
        description: 'Comma-separated "host:port" list or an array of them.',
      },
    ),
    topic: Type.String({ minLength: 1, maxLength: 249, pattern: "^[A-Za-z0-9._-]+$" }),
    group_id: Type.Optional(Type.String({ minLength: 1, description: "Defaults to weir-<pipeline id>." })),
    auto_offset_reset: Type.Union([Type.Literal("earliest"), Type.Literal("latest")], {
      default: "earliest",
    }),
    format: Type.Union(
      [Type.Literal("json"), Type.Literal("text"), Type.Literal("otlp_json"), Type.Literal("otlp_proto")],
      {
        default: "json",
        description:
          "json (and otlp_json, the Collector's JSON encoding): the handler gets the parsed value; text: the raw UTF-8 string; otlp_proto (the Collector's default encoding): the OTLP protobuf request of `signal`, decoded to the same object as otlp_json.",
      },
    ),
    signal: Type.Optional(
      Type.Union([Type.Literal("traces"), Type.Literal("logs")], {
        description:
          "With format otlp_proto: which OTLP request the messages hold, ExportTraceServiceRequest (traces, the default) or ExportLogsServiceRequest (logs).",
      }),
    ),
    client_id: Type.Optional(Type.String({ minLength: 1 })),
    sasl: Type.Optional(
      Type.Object(
        {
          mechanism: Type.Union([
            Type.Literal("plain"),
            Type.Literal("scram-sha-256"),
            Type.Literal("scram-sha-512"),
          ]),
          username: Type.String({ minLength: 1 }),
          password: Secret,
        },
        { additionalProperties: false },
      ),
    ),
    tls: Type.Optional(
      Type.Union([
        Type.Boolean(),
        Type.Object(
          {
            ca: Type.Optional(Type.String()),
            cert: Type.Optional(Type.String()),
            key: Type.Optional(Secret),
            reject_unauthorized: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false },
        ),
      ]),
    ),
  },
  { additionalProperties: false },
);

const BatchFields = {
  max_batch_rows: PositiveInt(10_000, 1_000_000),
  max_batch_bytes: PositiveInt(16 * 1024 * 1024, 256 * 1024 * 1024),
  max_batch_wait_ms: Type.Integer({ minimum: 0, maximum: 600_000, default: 1000 }),
};

export const ClickHouseSinkConfig = Type.Object(
  {
    url: Type.String({ pattern: "^https?://" }),
    database: Type.String({ minLength: 1, default: "default" }),
    table: Type.String({ minLength: 1 }),
    username: Type.String({ default: "default" }),
    password: Type.Optional(Secret),
    request_timeout_ms: PositiveInt(30_000, 600_000),
    insert_settings: Type.Optional(Type.Record(Type.String(), Type.Union([Type.String(), Type.Number()]))),
    format: Type.Optional(
      Type.Union([Type.Literal("auto"), Type.Literal("JSONEachRow"), Type.Literal("RowBinary")], {
        default: "auto",
        description:
          "Insert format. auto: RowBinary encoded in the sandbox when every column of the table has a type the encoder knows and no DEFAULT expression, else JSONEachRow. RowBinary: the same, but a table that cannot take it fails the start.",
      }),
    ),
    ...BatchFields,
  },
  { additionalProperties: false },
);

export const WebhookSinkConfig = Type.Object(
  {
    url: Type.String({ pattern: "^https?://" }),
    method: Type.Union([Type.Literal("POST"), Type.Literal("PUT"), Type.Literal("PATCH")], {
      default: "POST",
    }),
    headers: Type.Record(Type.String(), Secret, { default: {} }),
    format: Type.Union([Type.Literal("json"), Type.Literal("ndjson")], {
      default: "json",
      description: "json: one JSON array per request; ndjson: one row per line.",
    }),
    timeout_ms: PositiveInt(10_000, 600_000),
    idempotency_header: Type.String({ minLength: 1, default: "Idempotency-Key" }),
    ...BatchFields,
  },
  { additionalProperties: false },
);

export const EmbeddedClickHouseSinkConfig = Type.Object(
  {
    path: Type.String({ minLength: 1, description: "Folder holding the embedded engine's data." }),
    database: Type.String({ minLength: 1, default: "default" }),
    table: Type.String({ minLength: 1 }),
    ...BatchFields,
  },
  { additionalProperties: false },
);

/** Connector config schemas by `type`. The registry of names the API accepts. */
export const SOURCE_CONFIGS = { kafka: KafkaSourceConfig } as const;
export const SINK_CONFIGS = {
  clickhouse: ClickHouseSinkConfig,
  webhook: WebhookSinkConfig,
  "embedded-clickhouse": EmbeddedClickHouseSinkConfig,
} as const;

export type SourceType = keyof typeof SOURCE_CONFIGS;
export type SinkType = keyof typeof SINK_CONFIGS;
export type KafkaSourceConfig = Static<typeof KafkaSourceConfig>;
export type ClickHouseSinkConfig = Static<typeof ClickHouseSinkConfig>;
export type WebhookSinkConfig = Static<typeof WebhookSinkConfig>;
export type EmbeddedClickHouseSinkConfig = Static<typeof EmbeddedClickHouseSinkConfig>;

export type SourceSpec = { type: "kafka"; config: KafkaSourceConfig };
export type SinkSpec =
  | { type: "clickhouse"; config: ClickHouseSinkConfig }
  | { type: "webhook"; config: WebhookSinkConfig }
  | { type: "embedded-clickhouse"; config: EmbeddedClickHouseSinkConfig };

export const Limits = Type.Object(
  {
    memory_mb: Type.Integer({ minimum: 8, maximum: 2048, default: 128, description: "Heap per isolate." }),
    timeout_ms: Type.Integer({
      minimum: 1,
      maximum: 60_000,
      default: 1000,
      description: "Wall clock per message.",
    }),
    max_output_bytes: Type.Integer({ minimum: 1024, maximum: 64 * 1024 * 1024, default: 8 * 1024 * 1024 }),
    log_lines_per_second: Type.Integer({ minimum: 1, maximum: 100_000, default: 100 }),
    max_log_line_bytes: Type.Integer({ minimum: 64, maximum: 1024 * 1024, default: 8192 }),
  },
  { additionalProperties: false },
);
export type Limits = Static<typeof Limits>;

export const RetryPolicy = Type.Object(
  {
    max_attempts: Type.Integer({ minimum: 1, maximum: 100, default: 8 }),
    initial_backoff_ms: Type.Integer({ minimum: 1, maximum: 600_000, default: 200 }),
    max_backoff_ms: Type.Integer({ minimum: 1, maximum: 3_600_000, default: 30_000 }),
  },
  { additionalProperties: false },
);
export type RetryPolicy = Static<typeof RetryPolicy>;

/** Codec of the dead-letter producer's batches: any codec a Kafka producer can use. */
export const DeadLetterCompression = Type.Union(
  [
    Type.Literal("none"),
    Type.Literal("gzip"),
    Type.Literal("snappy"),
    Type.Literal("lz4"),
    Type.Literal("zstd"),
  ],
  { description: "Codec of the dead-letter producer's batches; absent means none." },
);
export type DeadLetterCompression = Static<typeof DeadLetterCompression>;

export const DeadLetter = Type.Object(
  {
    type: Type.Literal("kafka"),
    topic: Type.String({ minLength: 1, maxLength: 249, pattern: "^[A-Za-z0-9._-]+$" }),
    // Optional without a filled-in default, so specs stored before this field read back unchanged.
    compression: Type.Optional(DeadLetterCompression),
  },
  {
    additionalProperties: false,
    description: "Defaults to the source topic plus .dlq on the source brokers.",
  },
);
export type DeadLetter = Static<typeof DeadLetter>;

/** A worker pool: workers whose token is bound to it run the pool's pipelines (and get their secrets). */
export const PoolName = Type.String({
  minLength: 1,
  maxLength: 64,
  pattern: "^[a-z0-9][a-z0-9-]*$",
  default: "default",
  description: "Worker pool that runs this pipeline (workers of other pools never see it).",
});

/**
 * How many live workers of the pool run the pipeline (Kafka's consumer group spreads the topic's
 * partitions among them). "auto": as many as the topic has partitions, at most the live workers.
 */
export const Replicas = Type.Union([Type.Literal("auto"), Type.Integer({ minimum: 1, maximum: 64 })], {
  default: "auto",
  description:
    'Workers that run this pipeline: "auto" (min(topic partitions, live workers of the pool)) or 1-64.',
});
export type Replicas = Static<typeof Replicas>;

/** Envelope of a spec before per-connector validation (used as the HTTP body schema). */
export const PipelineSpecInput = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 128, pattern: "^[A-Za-z0-9][A-Za-z0-9._-]*$" }),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    source: Type.Object({ type: Type.String(), config: Type.Object({}) }, { additionalProperties: false }),
    sink: Type.Object({ type: Type.String(), config: Type.Object({}) }, { additionalProperties: false }),
    env: Type.Optional(
      Type.Record(Type.String({ pattern: "^[A-Za-z_][A-Za-z0-9_]*$" }), Type.String(), {
        maxProperties: 200,
        additionalProperties: false,
      }),
    ),
    limits: Type.Optional(Type.Object({}, { additionalProperties: true })),
    retry: Type.Optional(Type.Object({}, { additionalProperties: true })),
    dead_letter: Type.Optional(Type.Object({}, { additionalProperties: true })),
    pool: Type.Optional(PoolName),
    replicas: Type.Optional(Replicas),
  },
  { additionalProperties: false },
);

export interface PipelineSpec {
  name: string;
  description?: string | undefined;
  source: SourceSpec;
  sink: SinkSpec;
  env: Record<string, string>;
  limits: Limits;
  retry: RetryPolicy;
  dead_letter: DeadLetter;
  /** Worker pool; "default" unless set. */
  pool: string;
  /** Workers that run it: "auto" unless set (see Replicas). */
  replicas: Replicas;
}

export interface SpecIssue {
  /** JSON-pointer-like path of the offending field, e.g. `/sink/config/table`. */
  path: string;
  message: string;
}

export type SpecResult = { ok: true; spec: PipelineSpec } | { ok: false; issues: SpecIssue[] };

function check(schema: TSchema, value: unknown, path: string, issues: SpecIssue[]): unknown {
  const withDefaults = Value.Default(schema, Value.Clone(value ?? {}));
  for (const e of Value.Errors(schema, withDefaults)) {
    issues.push({ path: `${path}${e.path}`, message: e.message });
    if (issues.length >= 20) break;
  }
  return withDefaults;
}

function connector(
  registry: Record<string, TSchema>,
  value: unknown,
  path: string,
  issues: SpecIssue[],
): { type: string; config: unknown } | undefined {
  if (typeof value !== "object" || value === null) {
    issues.push({ path, message: "must be an object {type, config}" });
    return undefined;
  }
  const { type, config, ...rest } = value as { type?: unknown; config?: unknown };
  for (const k of Object.keys(rest)) issues.push({ path: `${path}/${k}`, message: "unknown property" });
  if (typeof type !== "string" || !(type in registry)) {
    issues.push({
      path: `${path}/type`,
      message: `unknown connector type ${JSON.stringify(type)}; expected one of ${Object.keys(registry).join(", ")}`,
    });
    return undefined;
  }
  const schema = registry[type] as TSchema;
  return { type, config: check(schema, config, `${path}/config`, issues) };
}

/**
 * Validate a user's spec and fill in defaults. Errors name the field (`path`) and the reason; the
 * first 20 are returned. Secrets stay in whatever form they were written in.
 */
export function parsePipelineSpec(input: unknown): SpecResult {
  const issues: SpecIssue[] = [];
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return { ok: false, issues: [{ path: "", message: "must be a JSON object" }] };
  }
  const raw = input as Record<string, unknown>;
  const known = new Set([
    "name",
    "description",
    "source",
    "sink",
    "env",
    "limits",
    "retry",
    "dead_letter",
    "pool",
    "replicas",
  ]);
  for (const k of Object.keys(raw))
    if (!known.has(k)) issues.push({ path: `/${k}`, message: "unknown property" });
  if (typeof raw.name !== "string") issues.push({ path: "/name", message: "required string" });
  else check(PipelineSpecInput.properties.name, raw.name, "/name", issues);
  if (raw.description !== undefined)
    check(PipelineSpecInput.properties.description, raw.description, "/description", issues);
  const pool = raw.pool === undefined ? "default" : (check(PoolName, raw.pool, "/pool", issues) as string);
  const replicas =
    raw.replicas === undefined ? "auto" : (check(Replicas, raw.replicas, "/replicas", issues) as Replicas);
  const source = connector(SOURCE_CONFIGS, raw.source, "/source", issues);
  const sink = connector(SINK_CONFIGS, raw.sink, "/sink", issues);
  const env = check(
    Type.Record(Type.String({ pattern: "^[A-Za-z_][A-Za-z0-9_]*$" }), Type.String(), {
      maxProperties: 200,
      additionalProperties: false,
    }),
    raw.env ?? {},
    "/env",
    issues,
  );
  const limits = check(Limits, raw.limits, "/limits", issues) as Limits;
  const retry = check(RetryPolicy, raw.retry, "/retry", issues) as RetryPolicy;
  if (retry.initial_backoff_ms > retry.max_backoff_ms) {
    issues.push({ path: "/retry/initial_backoff_ms", message: "must not exceed max_backoff_ms" });
  }
  const sourceTopic = (source?.config as { topic?: string } | undefined)?.topic ?? "weir";
  const deadLetter = check(
    DeadLetter,
    raw.dead_letter ?? { type: "kafka", topic: `${sourceTopic}.dlq` },
    "/dead_letter",
    issues,
  );
  if (issues.length > 0 || !source || !sink) return { ok: false, issues };
  const spec: PipelineSpec = {
    name: raw.name as string,
    source: source as SourceSpec,
    sink: sink as SinkSpec,
    env: env as Record<string, string>,
    limits,
    retry,
    dead_letter: deadLetter as DeadLetter,
    pool,
    replicas,
  };
  if (typeof raw.description === "string") spec.description = raw.description;
  return { ok: true, spec };
}

/** Kafka brokers of a source as an array. */
export function brokerList(config: Pick<KafkaSourceConfig, "bootstrap_servers">): string[] {
  const b = config.bootstrap_servers;
  return (Array.isArray(b) ? b : b.split(",")).map((s) => s.trim()).filter(Boolean);
}
