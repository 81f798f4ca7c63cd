/**
 * The worker interface. Workers authenticate with a worker token and can call nothing else; user
 * tokens cannot call these. Desired state carries decrypted connector config: this is the only
 * place secrets leave the API in clear, and only to workers.
 *
 * `GET /v1/worker/desired-state?worker_id=<id>&since=<revision>&etag=<etag>`: the pipelines placed
 * on this worker (running and paused; see placement.ts), as `{changed: true, revision, etag,
 * pipelines}`, or `{changed: false, revision, etag}` when `since` equals the current global revision
 * or `etag` equals the fingerprint of this worker's pipelines (their ids and revisions: other
 * workers' placement changes bump the global revision without changing it). A pipeline missing from
 * the list was deleted or moved to another worker. The poll is also a heartbeat. Without
 * `worker_id` (an old worker) the answer holds every pipeline of the pool and places nothing.
 */
import { createHash } from "node:crypto";
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
  pipelinesOn,
  recordHeartbeat,
  replaceReports,
  setPartitions,
} from "@weir/db";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { AppContext } from "../context.ts";
import { egressListsOf, egressPolicyOf } from "../egress.ts";
import { recordReport } from "../history.ts";
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
  partitions: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
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
  /** Fingerprint of this worker's pipelines (ids and revisions); pass it back as `etag`. */
  etag: Type.Optional(Type.String()),
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
  const inPool = (row: PipelineRow, pool: string) => row.pool === pool;
  /** A worker is alive; one the placement has not seen live gets its share right away. */
  const alive = (workerId: string, pool: string, startedAt?: number) => {
    recordHeartbeat(ctx.db, workerId, startedAt, Date.now(), pool);
    if (!ctx.placer.knows(workerId)) ctx.placer.poke();
  };

  app.get<{ Querystring: { since?: number; pool?: string; worker_id?: string; etag?: string } }>(
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
          worker_id: Type.Optional(WorkerId),
          etag: Type.Optional(Type.String({ maxLength: 100 })),
        }),
        response: responses({ 200: DesiredStateSchema }),
      },
    },
    async (req): Promise<DesiredStateResponse> => {
      const pool = poolOf(req, req.query.pool);
      const workerId = req.query.worker_id;
      if (workerId !== undefined) alive(workerId, pool);
      // One read transaction so the revision matches the list.
      return ctx.db.sqlite.transaction((): DesiredStateResponse => {
        const revision = currentRevision(ctx.db);
        if (req.query.since === revision) return { changed: false, revision, egress, etag: req.query.etag };
        // A named worker reads only the rows placed on it; an unnamed (older) one gets its whole pool.
        const rows = workerId === undefined ? allPipelines(ctx.db) : pipelinesOn(ctx.db, workerId);
        const mine = rows.filter((row) => inPool(row, pool));
        const etag = createHash("sha1")
          .update(mine.map((r) => `${r.id}:${r.revision}`).join(","))
          .digest("base64url");
        if (req.query.etag === etag) return { changed: false, revision, egress, etag };
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
        return { changed: true, revision, etag, pipelines, egress };
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
      alive(r.worker_id, pool, r.started_at);
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
      recordReport(ctx.history, r.worker_id, own, now); // the console's charts (GET /v1/pipelines/:id/history)
      // A topic's partition count decides "auto" replicas: a change re-places the pipeline now.
      let partitionsChanged = false;
      for (const p of own)
        if (p.partitions !== undefined && setPartitions(ctx.db, p.pipeline_id, p.partitions))
          partitionsChanged = true;
      if (partitionsChanged) ctx.placer.poke();
      return reply.status(204).send();
    },
  );

  app.post<{ Body: { worker_id: string } }>(
    "/v1/worker/leave",
    {
      config,
      schema: {
        tags,
        summary: "A worker is shutting down: its pipelines are placed on the other live workers now",
        body: Type.Object({ worker_id: WorkerId }, { additionalProperties: false }),
        response: responses({ 204: Type.Null() }),
      },
    },
    async (req, reply) => {
      poolOf(req);
      ctx.placer.leave(req.body.worker_id);
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
      alive(req.body.worker_id, poolOf(req), req.body.started_at);
      return reply.status(204).send();
    },
  );
}
