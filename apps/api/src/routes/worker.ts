/**
 * The worker interface. Workers authenticate with a worker token and can call nothing else; user
 * tokens cannot call these. Desired state carries decrypted connector config: this is the only
 * place secrets leave the API in clear, and only to workers.
 *
 * `GET /v1/worker/desired-state?since=<revision>`: `{changed: false, revision}` when `since` equals
 * the current global revision, else `{changed: true, revision, pipelines}` with every pipeline
 * (running and paused). A pipeline missing from the list was deleted.
 */
import { type Static, Type } from "@sinclair/typebox";
import {
  CountersSchema,
  type DesiredPipeline,
  type DesiredStateResponse,
  LogRecordSchema,
  PartitionLagSchema,
  PipelineStateSchema,
  SerializedErrorSchema,
  WeirError,
} from "@weir/core";
import {
  allPipelines,
  currentRevision,
  getPipeline,
  getVersionById,
  type PipelineRow,
  recordHeartbeat,
  replaceReports,
} from "@weir/db";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { AppContext } from "../context.ts";
import { egressListsOf, egressPolicyOf } from "../egress.ts";
import { openSpec } from "../pipelines-service.ts";
import { responses } from "../schemas.ts";

const WorkerId = Type.String({ minLength: 1, maxLength: 200 });

const PipelineReportSchema = Type.Object({
  pipeline_id: Type.String({ minLength: 1 }),
  revision: Type.Integer({ minimum: 0 }),
  state: PipelineStateSchema,
  last_error: Type.Union([SerializedErrorSchema, Type.Null()]),
  counters: CountersSchema,
  lag: Type.Array(PartitionLagSchema),
  handler_version: Type.Union([Type.String(), Type.Null()]),
});
const WorkerReportSchema = Type.Object({
  worker_id: WorkerId,
  started_at: Type.Number(),
  pipelines: Type.Array(PipelineReportSchema, { maxItems: 10_000 }),
});
const LogBatchSchema = Type.Object({
  worker_id: WorkerId,
  pipeline_id: Type.String({ minLength: 1 }),
  records: Type.Array(LogRecordSchema, { maxItems: 100_000 }),
  dropped: Type.Integer({ minimum: 0, default: 0 }),
});
const DesiredStateSchema = Type.Object({
  changed: Type.Boolean(),
  revision: Type.Integer(),
  pipelines: Type.Optional(
    Type.Array(
      Type.Object({
        id: Type.String(),
        revision: Type.Integer(),
        desired: Type.String(),
        spec: Type.Unknown(),
        handler: Type.Unknown(),
      }),
    ),
  ),
  /** The operator's egress lists (workers add the default deny rules); also when unchanged, so a new policy reaches running workers. */
  egress: Type.Optional(Type.Object({ allow: Type.Array(Type.String()), deny: Type.Array(Type.String()) })),
});

export async function workerRoutes(app: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  const tags = ["worker"];
  const config = { auth: "worker" as const };
  const bodyLimit = ctx.env.WEIR_WORKER_BODY_LIMIT;
  egressPolicyOf(ctx.env); // a malformed list fails the API's start, not a worker's poll
  const egress = egressListsOf(ctx.env);

  /** The worker token's pool; a worker that names another pool (WEIR_WORKER_POOL) is refused. */
  const poolOf = (req: FastifyRequest, named?: string): string => {
    const pool = req.token?.pool ?? "default";
    if (named !== undefined && named !== pool)
      throw new WeirError("FORBIDDEN", `this worker token serves pool ${pool}, not ${named}`);
    return pool;
  };
  /** Ids of the pipelines a pool runs (read from the sealed spec: nothing is decrypted for other pools). */
  const inPool = (row: PipelineRow, pool: string) =>
    ((JSON.parse(row.specJson) as { pool?: string }).pool ?? "default") === pool;

  app.get<{ Querystring: { since?: number; pool?: string } }>(
    "/v1/worker/desired-state",
    {
      config,
      schema: {
        tags,
        summary:
          "Pipelines of the worker token's pool, with compiled handlers and decrypted config (no other pool's)",
        querystring: Type.Object({
          since: Type.Optional(Type.Integer({ minimum: 0 })),
          pool: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
        }),
        response: responses({ 200: DesiredStateSchema }),
      },
    },
    async (req): Promise<DesiredStateResponse> => {
      // One read transaction so the revision matches the list.
      return ctx.db.sqlite.transaction((): DesiredStateResponse => {
        const pool = poolOf(req, req.query.pool);
        const revision = currentRevision(ctx.db);
        if (req.query.since === revision) return { changed: false, revision, egress };
        const mine = allPipelines(ctx.db).filter((row) => inPool(row, pool));
        const pipelines: DesiredPipeline[] = mine.map((row) => {
          const v = row.currentVersionId ? getVersionById(ctx.db, row.currentVersionId) : undefined;
          return {
            id: row.id,
            revision: row.revision,
            desired: row.desired,
            spec: openSpec(ctx, row),
            handler: v
              ? {
                  version_id: v.id,
                  version: v.version,
                  sha256: v.sha256,
                  code: v.code,
                  source_map: v.sourceMap,
                }
              : null,
          };
        });
        return { changed: true, revision, pipelines, egress };
      })();
    },
  );

  app.post<{ Body: Static<typeof LogBatchSchema> }>(
    "/v1/worker/logs",
    {
      config,
      bodyLimit,
      schema: {
        tags,
        summary: "Send a batch of log lines for one pipeline (buffered, written within ~200 ms)",
        body: LogBatchSchema,
        response: responses({ 202: Type.Object({ accepted: Type.Integer() }) }),
      },
    },
    async (req, reply) => {
      const b = req.body;
      const row = getPipeline(ctx.db, b.pipeline_id);
      if (row && !inPool(row, poolOf(req)))
        throw new WeirError("FORBIDDEN", `pipeline ${b.pipeline_id} is not in this worker token's pool`);
      const accepted = ctx.logs.enqueue(b.pipeline_id, b.records, {
        workerId: b.worker_id,
        dropped: b.dropped,
      });
      return reply.status(202).send({ accepted });
    },
  );

  app.post<{ Body: Static<typeof WorkerReportSchema> }>(
    "/v1/worker/status",
    {
      config,
      bodyLimit,
      schema: {
        tags,
        summary: "Report per-pipeline state, counters and lag (also a heartbeat)",
        body: WorkerReportSchema,
        response: responses({ 204: Type.Null() }),
      },
    },
    async (req, reply) => {
      const r = req.body;
      const now = Date.now();
      const pool = poolOf(req);
      recordHeartbeat(ctx.db, r.worker_id, r.started_at, now);
      // Reports on another pool's pipelines are ignored: a worker speaks only for what it runs.
      const own = r.pipelines.filter((p) => {
        const row = getPipeline(ctx.db, p.pipeline_id);
        return !row || inPool(row, pool);
      });
      replaceReports(
        ctx.db,
        r.worker_id,
        own.map((p) => ({
          pipelineId: p.pipeline_id,
          revision: p.revision,
          state: p.state,
          lastErrorJson: p.last_error ? JSON.stringify(p.last_error) : null,
          countersJson: JSON.stringify(p.counters),
          lagJson: JSON.stringify(p.lag),
          handlerVersion: p.handler_version,
          reportedAt: now,
        })),
      );
      return reply.status(204).send();
    },
  );

  app.post<{ Body: { worker_id: string; started_at?: number } }>(
    "/v1/worker/heartbeat",
    {
      config,
      schema: {
        tags,
        summary: "Tell the API this worker is alive",
        body: Type.Object(
          { worker_id: WorkerId, started_at: Type.Optional(Type.Number()) },
          { additionalProperties: false },
        ),
        response: responses({ 204: Type.Null() }),
      },
    },
    async (req, reply) => {
      recordHeartbeat(ctx.db, req.body.worker_id, req.body.started_at);
      return reply.status(204).send();
    },
  );
}
