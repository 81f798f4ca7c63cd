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

export const PartitionLagSchema = Type.Object({
  topic: Type.String(),
  partition: Type.Integer(),
  committed: Nullable(Type.String()),
  high_watermark: Type.String(),
  lag: Type.Number(),
});

export const PipelineStateSchema = Type.Union(PIPELINE_STATES.map((s) => Type.Literal(s)));

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
});
export type PipelineStatus = Static<typeof PipelineStatus>;

export const VersionRef = Type.Object({
  id: Type.String(),
  version: Type.Integer(),
  sha256: Type.String(),
});

export const PipelineView = Type.Object({
  id: Type.String(),
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

export const HandlerVersionView = Type.Object({
  id: Type.String(),
  pipeline_id: Type.String(),
  version: Type.Integer(),
  filename: Type.String(),
  sha256: Type.String(),
  size: Type.Integer(),
  created_at: Type.Number(),
  current: Type.Boolean(),
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
    events: Type.Array(Type.Unknown(), { minItems: 1, maxItems: 1000 }),
    /** Handler version number; defaults to the pipeline's current version. */
    version: Type.Optional(Type.Integer({ minimum: 1 })),
    topic: Type.Optional(Type.String({ description: "Topic name passed to the handler's log tags." })),
  },
  { additionalProperties: false },
);
export type TestRunRequest = Static<typeof TestRunRequest>;

export const TestRunEventResult = Type.Object({
  index: Type.Integer(),
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

export const TokenKindSchema = Type.Union([
  Type.Literal("admin"),
  Type.Literal("user"),
  Type.Literal("worker"),
]);
export const TokenView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  kind: TokenKindSchema,
  created_at: Type.Number(),
  last_used_at: Nullable(Type.Number()),
});
export type TokenView = Static<typeof TokenView>;
export const TokenCreated = Type.Composite([TokenView, Type.Object({ token: Type.String() })]);
export type TokenCreated = Static<typeof TokenCreated>;
export const CreateTokenRequest = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 128 }), kind: TokenKindSchema },
  { additionalProperties: false },
);
export type CreateTokenRequest = Static<typeof CreateTokenRequest>;

/**
 * `GET /v1/worker/desired-state?since=<revision>`: when `since` equals the current revision the
 * answer is `{changed: false, revision}`; otherwise the full list of pipelines with `changed: true`.
 */
export type DesiredStateResponse =
  | { changed: false; revision: number }
  | ({ changed: true } & import("./worker.ts").DesiredState);
