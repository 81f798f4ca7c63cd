/**
 * The REST API's wire shapes, as TypeBox schemas shared by the API (route schemas, OpenAPI) and the
 * SDK (types). Everything here is what a client sees: secrets are redacted, times are epoch ms.
 */
import { type Static, Type } from "@sinclair/typebox";
import { PIPELINE_STATES } from "./worker.ts";

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

/** `{error: {code, message, details}}`: the body of every 4xx/5xx response. */
export const ApiErrorBody = Type.Object({
  error: Type.Object({
    code: Type.String(),
    message: Type.String(),
    details: Type.Optional(Type.Unknown()),
  }),
});
export type ApiErrorBody = Static<typeof ApiErrorBody>;

export const SerializedErrorSchema = Type.Object({
  name: Type.String(),
  message: Type.String(),
  code: Type.String(),
  retryable: Type.Boolean(),
  stack: Type.Optional(Type.String()),
  details: Type.Optional(Type.Unknown()),
});

export const CountersSchema = Type.Object({
  messages_in: Type.Number(),
  rows_out: Type.Number(),
  dropped: Type.Number(),
  failed: Type.Number(),
  dlq: Type.Number(),
  retries: Type.Number(),
});

/** One point of a pipeline's report history (GET /v1/pipelines/:id/history): counters summed over workers. */
export const HistoryPointSchema = Type.Composite([
  Type.Object({
    t: Type.Number({ description: "Start of the time bucket, epoch ms." }),
    workers: Type.Integer({ description: "Live workers whose latest reports were summed." }),
  }),
  CountersSchema,
  Type.Object({ lag: Type.Number({ description: "Total lag over every partition." }) }),
]);
export type HistoryPoint = Static<typeof HistoryPointSchema>;

export const PartitionLagSchema = Type.Object({
  topic: Type.String(),
  partition: Type.Integer(),
  committed: Nullable(Type.String()),
  high_watermark: Type.String(),
  lag: Type.Number(),
});

export const PipelineStateSchema = Type.Union(PIPELINE_STATES.map((s) => Type.Literal(s)));

/** One change of a pipeline's workers, newest first in a status. */
export const PlacementChange = Type.Object({
  at: Type.Number(),
  workers: Type.Array(Type.String()),
  /** Why, e.g. "placed", "w2 joined the pool", "w1 stopped heartbeating", "replicas 1 -> 3". */
  reason: Type.String(),
});
export type PlacementChange = Static<typeof PlacementChange>;

/** Where the API placed a pipeline: its workers (live workers of its pool) and the recent changes. */
export const PlacementView = Type.Object({
  pool: Type.String(),
  replicas: Type.Union([Type.Literal("auto"), Type.Integer()]),
  /** Partitions of the source topic as a worker last reported them; null until one has. */
  partitions: Nullable(Type.Integer()),
  workers: Type.Array(Type.Object({ worker_id: Type.String(), since: Type.Number() })),
  /** Set when the pipeline has no worker (for example no live worker in its pool). */
  reason: Nullable(Type.String()),
  history: Type.Array(PlacementChange),
});
export type PlacementView = Static<typeof PlacementView>;

/** A worker as the API sees it (`GET /v1/workers`). */
export const WorkerView = Type.Object({
  id: Type.String(),
  pool: Nullable(Type.String()),
  started_at: Nullable(Type.Number()),
  last_seen: Type.Number(),
  /** Heartbeat within the placement's liveness window: it gets assignments. */
  live: Type.Boolean(),
  pipelines: Type.Integer(),
});
export type WorkerView = Static<typeof WorkerView>;

/** State as computed from desired state plus the latest reports of live workers. */
export const PipelineStatus = Type.Object({
  state: PipelineStateSchema,
  desired: Type.Union([Type.Literal("running"), Type.Literal("paused")]),
  revision: Type.Integer(),
  last_error: Nullable(SerializedErrorSchema),
  /** Sum over live workers; counters are cumulative per worker since it started. */
  counters: CountersSchema,
  lag: Type.Array(PartitionLagSchema),
  workers: Type.Array(
    Type.Object({
      worker_id: Type.String(),
      revision: Type.Integer(),
      state: Type.String(),
      handler_version: Nullable(Type.String()),
      reported_at: Type.Number(),
    }),
  ),
  placement: Type.Optional(PlacementView),
});
export type PipelineStatus = Static<typeof PipelineStatus>;

export const VersionRef = Type.Object({
  id: Type.String(),
  version: Type.Integer(),
  sha256: Type.String(),
});

export const PipelineView = Type.Object({
  id: Type.String(),
  /** The project's name; `project/name` addresses the pipeline in every route, like its id. */
  project: Type.String(),
  name: Type.String(),
  revision: Type.Integer(),
  /** The validated spec with defaults filled in and every secret replaced by "[redacted]". */
  spec: Type.Unknown(),
  current_version: Nullable(VersionRef),
  created_at: Type.Number(),
  updated_at: Type.Number(),
  status: PipelineStatus,
});
export type PipelineView = Static<typeof PipelineView> & { spec: import("./spec.ts").PipelineSpec };

export const PipelinePage = Type.Object({
  items: Type.Array(PipelineView),
  /** Pass back as `cursor` for the next page; null on the last page. */
  next_cursor: Nullable(Type.String()),
});
export type PipelinePage = { items: PipelineView[]; next_cursor: string | null };

/**
 * What a bundled upload was made of (`weir handler upload` bundles on the user's machine): the entry,
 * every input file with its sha256, and the npm packages read from the package.json files the bundler
 * resolved. Paths are relative to the folder holding the handler's own files; package files are
 * `node_modules/<name>/<path in the package>`.
 */
export const HandlerManifest = Type.Object(
  {
    entry: Type.String({ minLength: 1, maxLength: 256, description: "e.g. otel-traces/index.ts" }),
    files: Type.Array(
      Type.Object(
        {
          path: Type.String({ minLength: 1, maxLength: 1024 }),
          sha256: Type.String({ pattern: "^[0-9a-f]{64}$" }),
          bytes: Type.Integer({ minimum: 0 }),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 10_000 },
    ),
    packages: Type.Array(
      Type.Object(
        { name: Type.String({ minLength: 1, maxLength: 214 }), version: Type.String({ maxLength: 256 }) },
        { additionalProperties: false },
      ),
      { maxItems: 5_000 },
    ),
    bundler: Type.Optional(
      Type.Object(
        { name: Type.String({ maxLength: 64 }), version: Type.String({ maxLength: 64 }) },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type HandlerManifest = Static<typeof HandlerManifest>;

/** Content type of a bundled upload to `PUT /v1/pipelines/:id/handler` (body: {@link HandlerBundleUpload}). */
export const HANDLER_BUNDLE_CONTENT_TYPE = "application/vnd.weir.handler-bundle+json";

/**
 * A bundled upload: one self-contained ES module (no import left) exporting `handler`, its source
 * map v3 (sources named as in the manifest, contents embedded: stack traces map to them) and the
 * manifest. Made by `weir handler upload` / `@weir/sdk/bundle`.
 */
export const HandlerBundleUpload = Type.Object(
  {
    bundle: Type.String({ minLength: 1, description: "One ES module, JavaScript, exporting `handler`" }),
    source_map: Type.String({ minLength: 1, description: "Source map v3 of the bundle, JSON text" }),
    manifest: HandlerManifest,
  },
  { additionalProperties: false },
);
export type HandlerBundleUpload = Static<typeof HandlerBundleUpload>;

export const HandlerVersionView = Type.Object({
  id: Type.String(),
  pipeline_id: Type.String(),
  version: Type.Integer(),
  /** The uploaded file's name; for a bundle, the manifest's entry. */
  filename: Type.String(),
  /** Raw upload: of the source. Bundle: of the bundle, a NUL byte, then its source map. */
  sha256: Type.String(),
  /** Bytes of the source (raw upload) or of the bundle. */
  size: Type.Integer(),
  created_at: Type.Number(),
  current: Type.Boolean(),
  /** Null for a raw single-file upload. */
  manifest: Nullable(HandlerManifest),
});
export type HandlerVersionView = Static<typeof HandlerVersionView>;

export const HandlerVersionDetail = Type.Composite([
  HandlerVersionView,
  Type.Object({ source: Type.String(), code: Type.String(), source_map: Nullable(Type.String()) }),
]);
export type HandlerVersionDetail = Static<typeof HandlerVersionDetail>;

export const VersionList = Type.Object({ items: Type.Array(HandlerVersionView) });
export type VersionList = Static<typeof VersionList>;

/** One line of a compile diagnostic (1-based line, 0-based column as esbuild reports). */
export const Diagnostic = Type.Object({
  line: Type.Integer(),
  column: Type.Integer(),
  message: Type.String(),
});
export type Diagnostic = Static<typeof Diagnostic>;

export const LogRecordSchema = Type.Object({
  time: Type.Number(),
  level: Type.Union([
    Type.Literal("debug"),
    Type.Literal("info"),
    Type.Literal("warn"),
    Type.Literal("error"),
  ]),
  message: Type.String(),
  fields: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  source: Type.Union([Type.Literal("handler"), Type.Literal("worker")]),
  topic: Type.Optional(Type.String()),
  partition: Type.Optional(Type.Integer()),
  offset: Type.Optional(Type.String()),
  handler_version: Type.Optional(Type.String()),
  worker_id: Type.Optional(Type.String()),
});

export const TestRunRequest = Type.Object(
  {
    /** Sample events: JSON values (sent as JSON), or strings for a `text` source. */
    events: Type.Optional(Type.Array(Type.Unknown(), { minItems: 1, maxItems: 1000 })),
    /**
     * Instead of `events`: the newest N messages of the pipeline's source topic, read without
     * committing (as `GET /v1/pipelines/:id/peek`), run as the worker would (binary formats too).
     */
    source_last: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    /** Handler version number; defaults to the pipeline's current version. */
    version: Type.Optional(Type.Integer({ minimum: 1 })),
    topic: Type.Optional(Type.String({ description: "Topic name passed to the handler's log tags." })),
  },
  { additionalProperties: false },
);
export type TestRunRequest = Static<typeof TestRunRequest>;

export const TestRunEventResult = Type.Object({
  index: Type.Integer(),
  /** With `source_last`: where the message came from. */
  source: Type.Optional(Type.Object({ partition: Type.Integer(), offset: Type.String() })),
  ok: Type.Boolean(),
  rows: Type.Array(Type.Unknown()),
  row_count: Type.Integer(),
  duration_ms: Type.Number(),
  error: Nullable(SerializedErrorSchema),
  logs: Type.Array(LogRecordSchema),
});

export const TestRunResponse = Type.Object({
  pipeline_id: Type.String(),
  version: Type.Integer(),
  results: Type.Array(TestRunEventResult),
  total_duration_ms: Type.Number(),
});
export type TestRunResponse = Static<typeof TestRunResponse>;

export const LogEntry = Type.Composite([LogRecordSchema, Type.Object({ id: Type.Integer() })]);
export type LogEntry = import("./log.ts").LogRecord & { id: number };

export const LogPage = Type.Object({ items: Type.Array(LogEntry), next_cursor: Nullable(Type.String()) });
export type LogPage = { items: LogEntry[]; next_cursor: string | null };

export const DlqRecordSchema = Type.Object({
  id: Type.String(),
  dlq_partition: Type.Integer(),
  dlq_offset: Type.String(),
  pipeline_id: Type.String(),
  source: Type.Object({ topic: Type.String(), partition: Type.Integer(), offset: Type.String() }),
  stage: Type.String(),
  error: SerializedErrorSchema,
  attempts: Type.Integer(),
  handler_version: Nullable(Type.String()),
  failed_at: Type.Number(),
  key: Nullable(Type.String()),
  value: Nullable(Type.String()),
  encoding: Type.Union([Type.Literal("utf8"), Type.Literal("base64")]),
  headers: Type.Record(Type.String(), Type.String()),
});

export const DlqPage = Type.Object({
  topic: Type.String(),
  items: Type.Array(DlqRecordSchema),
  /** True when more records matched than `limit`. */
  truncated: Type.Boolean(),
});
export type DlqPage = { topic: string; items: import("./dlq.ts").DlqRecord[]; truncated: boolean };

export const DlqReplayRequest = Type.Object(
  {
    ids: Type.Optional(
      Type.Array(Type.String({ pattern: "^\\d+-\\d+$" }), { minItems: 1, maxItems: 10_000 }),
    ),
    all: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type DlqReplayRequest = Static<typeof DlqReplayRequest>;

export const DlqReplayResponse = Type.Object({ replayed: Type.Integer(), topic: Type.String() });
export type DlqReplayResponse = Static<typeof DlqReplayResponse>;

export const DlqPurgeResponse = Type.Object({ purged: Type.Integer(), topic: Type.String() });
export type DlqPurgeResponse = Static<typeof DlqPurgeResponse>;

/**
 * Token kinds: `admin` (server-wide, for bootstrap and operators), `project` (a role in one project),
 * `pipeline` (a subset of actions on one pipeline), `worker` (runs one pool's pipelines).
 */
export const TokenKindSchema = Type.Union([
  Type.Literal("admin"),
  Type.Literal("project"),
  Type.Literal("pipeline"),
  Type.Literal("worker"),
]);
export type TokenKind = Static<typeof TokenKindSchema>;

/** Roles of a project token; each includes the one before it. */
export const PROJECT_ROLES = ["viewer", "editor", "admin"] as const;
export type ProjectRole = (typeof PROJECT_ROLES)[number];
export const ProjectRoleSchema = Type.Union(PROJECT_ROLES.map((r) => Type.Literal(r)));

/**
 * What a token may do. Project roles: viewer = read; editor = viewer + write; admin = editor +
 * tokens and audit. A pipeline token carries a subset of the pipeline actions.
 */
export const ACTIONS = {
  /** Pipelines, status, handler versions and types. */
  "pipelines:read": "viewer",
  /** Logs, including the live tail. */
  "logs:read": "viewer",
  /** Dead-letter records without their payload (stage, error, offsets, headers' names). */
  "dlq:read": "viewer",
  /** Dead-letter records' key, value and headers (raw message bytes). */
  "dlq:payload": "editor",
  /** Create, update, delete, pause, resume. */
  "pipelines:write": "editor",
  /** Upload a handler version, roll back. */
  "handlers:write": "editor",
  /** Run a handler on sample events. */
  "test:run": "editor",
  /** Replay and purge dead letters. */
  "dlq:write": "editor",
  /** The project's tokens. */
  "tokens:manage": "admin",
  /** The project's audit log. */
  "audit:read": "admin",
} as const satisfies Record<string, ProjectRole>;
export type Action = keyof typeof ACTIONS;
export const ACTION_NAMES = Object.keys(ACTIONS) as Action[];
/** The actions a pipeline token may carry (not token or audit management). */
export type PipelineAction = Exclude<Action, "tokens:manage" | "audit:read">;
export const PIPELINE_ACTIONS = ACTION_NAMES.filter(
  (a): a is PipelineAction => a !== "tokens:manage" && a !== "audit:read",
);
export const PipelineActionSchema = Type.Union(PIPELINE_ACTIONS.map((a) => Type.Literal(a)));

/** Whether `role` includes `action`. */
export function roleAllows(role: ProjectRole, action: Action): boolean {
  return PROJECT_ROLES.indexOf(role) >= PROJECT_ROLES.indexOf(ACTIONS[action]);
}

export const TokenView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  kind: TokenKindSchema,
  /** Project and pipeline tokens. */
  project: Nullable(Type.String()),
  role: Nullable(ProjectRoleSchema),
  /** Pipeline tokens: the pipeline id and its actions. */
  pipeline_id: Nullable(Type.String()),
  actions: Nullable(Type.Array(Type.String())),
  /** Worker tokens. */
  pool: Nullable(Type.String()),
  expires_at: Nullable(Type.Number()),
  created_at: Type.Number(),
  last_used_at: Nullable(Type.Number()),
});
export type TokenView = Static<typeof TokenView>;
export const TokenCreated = Type.Composite([TokenView, Type.Object({ token: Type.String() })]);
export type TokenCreated = Static<typeof TokenCreated>;
export const CreateTokenRequest = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 128 }),
    kind: TokenKindSchema,
    project: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description: "Project name (project and pipeline tokens); a project admin's own project by default",
      }),
    ),
    role: Type.Optional(ProjectRoleSchema),
    pipeline: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description: "Pipeline id or project/name (pipeline tokens)",
      }),
    ),
    actions: Type.Optional(Type.Array(PipelineActionSchema, { minItems: 1, uniqueItems: true })),
    pool: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: "^[a-z0-9][a-z0-9-]*$" })),
    expires_in_s: Type.Optional(
      Type.Integer({
        minimum: 60,
        maximum: 10 * 365 * 86400,
        description: "Lifetime in seconds; no expiry when absent",
      }),
    ),
  },
  { additionalProperties: false },
);
export type CreateTokenRequest = Static<typeof CreateTokenRequest>;

export const ProjectName = Type.String({ minLength: 1, maxLength: 64, pattern: "^[a-z0-9][a-z0-9-]*$" });
export const ProjectView = Type.Object({ id: Type.String(), name: Type.String(), created_at: Type.Number() });
export type ProjectView = Static<typeof ProjectView>;
export const CreateProjectRequest = Type.Object({ name: ProjectName }, { additionalProperties: false });
export type CreateProjectRequest = Static<typeof CreateProjectRequest>;

export const AuditEntry = Type.Object({
  id: Type.Integer(),
  time: Type.Number(),
  project: Nullable(Type.String()),
  token_id: Nullable(Type.String()),
  token_name: Nullable(Type.String()),
  action: Type.String({ description: "e.g. pipeline.create, handler.upload, token.revoke" }),
  target: Nullable(Type.String()),
  pipeline_id: Nullable(Type.String()),
  revision_before: Nullable(Type.Integer()),
  revision_after: Nullable(Type.Integer()),
  status: Type.Integer(),
});
export type AuditEntry = Static<typeof AuditEntry>;
export const AuditPage = Type.Object({ items: Type.Array(AuditEntry), next_after: Nullable(Type.Integer()) });
export type AuditPage = Static<typeof AuditPage>;

/**
 * `GET /v1/worker/desired-state?since=<revision>`: when `since` equals the current revision the
 * answer is `{changed: false, revision}`; otherwise the full list of pipelines with `changed: true`.
 * Both carry the operator's egress lists: a changed policy comes with an unchanged revision.
 */
export type DesiredStateResponse =
  | {
      changed: false;
      revision: number;
      egress?: import("./egress.ts").EgressLists | undefined;
      etag?: string | undefined;
    }
  | ({ changed: true; etag?: string | undefined } & import("./worker.ts").DesiredState);
