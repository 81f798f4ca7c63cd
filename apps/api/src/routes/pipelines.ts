/** Pipelines: create, list, get, update, delete, pause, resume, status. */
import { Type } from "@sinclair/typebox";
import { PipelinePage, PipelineSpecInput, PipelineStatus, PipelineView, WeirError } from "@weir/core";
import { deletePipeline, insertPipeline, listPipelines, updatePipeline } from "@weir/db";
import type { FastifyInstance } from "fastify";
import { projectFor } from "../access.ts";
import type { AppContext } from "../context.ts";
import { assertEgressAllowed } from "../egress.ts";
import { assertNameFree, mustGetPipeline, statusOf, toView, validateSpec } from "../pipelines-service.ts";
import { Empty, IdParams, responses } from "../schemas.ts";

type IdReq = { Params: { id: string } };
const ProjectQuery = Type.Object({ project: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })) });

function encodeCursor(row: { createdAt: number; id: string }): string {
  return Buffer.from(JSON.stringify([row.createdAt, row.id])).toString("base64url");
}

function decodeCursor(cursor: string): { createdAt: number; id: string } {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (typeof createdAt === "number" && typeof id === "string") return { createdAt, id };
  } catch {}
  throw new WeirError("VALIDATION", "/querystring/cursor: not a cursor from this API", {
    details: { issues: [{ path: "/querystring/cursor", message: "invalid cursor" }] },
  });
}

/** Translate a UNIQUE violation that raced past the name check into the same 409. */
function uniqueName<T>(name: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (
      err instanceof Error &&
      /UNIQUE constraint failed: pipelines\.(project_id, pipelines\.)?name/.test(err.message)
    ) {
      throw new WeirError("CONFLICT", `a pipeline named "${name}" already exists`, {
        details: { issues: [{ path: "/name", message: "already taken" }] },
      });
    }
    throw err;
  }
}

export async function pipelineRoutes(app: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  const tags = ["pipelines"];

  app.post<{ Body: unknown }>(
    "/v1/pipelines",
    {
      schema: {
        tags,
        summary: "Create a pipeline (in the token's project, or ?project= for the server admin)",
        querystring: ProjectQuery,
        body: PipelineSpecInput,
        response: responses({ 201: PipelineView }),
      },
    },
    async (req, reply) => {
      const project = projectFor(ctx, req, false)!;
      const spec = validateSpec(req.body);
      assertEgressAllowed(ctx.env, spec);
      assertNameFree(ctx, project.id, spec.name);
      const sealed = ctx.box.seal(spec);
      const row = uniqueName(spec.name, () =>
        insertPipeline(ctx.db, { projectId: project.id, name: spec.name, specJson: JSON.stringify(sealed) }),
      );
      req.log.info({ pipeline: row.id, revision: row.revision }, "pipeline created");
      ctx.placer.poke();
      return reply.status(201).send(toView(ctx, row));
    },
  );

  app.get<{ Querystring: { limit: number; cursor?: string; project?: string } }>(
    "/v1/pipelines",
    {
      schema: {
        tags,
        summary: "List the pipelines the token can see, oldest first, paginated (?project= narrows)",
        querystring: Type.Object({
          limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
          cursor: Type.Optional(Type.String({ minLength: 1 })),
          project: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
        }),
        response: responses({ 200: PipelinePage }),
      },
    },
    async (req) => {
      const after = req.query.cursor ? decodeCursor(req.query.cursor) : undefined;
      const project = projectFor(ctx, req, true);
      const token = req.principal!.token;
      const rows = listPipelines(ctx.db, {
        limit: req.query.limit + 1,
        after,
        projectId: project?.id,
        ids: token.kind === "pipeline" ? [token.pipelineId!] : undefined,
      });
      const page = rows.slice(0, req.query.limit);
      const last = page[page.length - 1];
      return {
        items: page.map((r) => toView(ctx, r)),
        next_cursor: rows.length > req.query.limit && last ? encodeCursor(last) : null,
      };
    },
  );

  app.get<IdReq>(
    "/v1/pipelines/:id",
    {
      schema: {
        tags,
        summary: "Get a pipeline",
        params: IdParams,
        response: responses({ 200: PipelineView }),
      },
    },
    async (req) => toView(ctx, mustGetPipeline(ctx, req.params.id)),
  );

  app.get<IdReq>(
    "/v1/pipelines/:id/status",
    {
      schema: {
        tags,
        summary: "State, last error, counters and lag",
        params: IdParams,
        response: responses({ 200: PipelineStatus }),
      },
    },
    async (req) => statusOf(ctx, mustGetPipeline(ctx, req.params.id)),
  );

  app.put<IdReq & { Body: unknown }>(
    "/v1/pipelines/:id",
    {
      schema: {
        tags,
        summary: 'Replace a pipeline\'s spec ("[redacted]" keeps a stored secret)',
        params: IdParams,
        body: PipelineSpecInput,
        response: responses({ 200: PipelineView }),
      },
    },
    async (req) => {
      const row = mustGetPipeline(ctx, req.params.id);
      const spec = validateSpec(req.body);
      assertEgressAllowed(ctx.env, spec);
      assertNameFree(ctx, row.projectId, spec.name, row.id);
      const sealed = ctx.box.seal(spec, JSON.parse(row.specJson));
      const updated = uniqueName(spec.name, () =>
        updatePipeline(ctx.db, row.id, { name: spec.name, specJson: JSON.stringify(sealed) }),
      );
      if (!updated) throw new WeirError("NOT_FOUND", `pipeline ${row.id} not found`);
      ctx.placer.poke(); // pool or replicas may have changed
      return toView(ctx, updated);
    },
  );

  app.delete<IdReq>(
    "/v1/pipelines/:id",
    {
      schema: {
        tags,
        summary: "Delete a pipeline, its versions and logs",
        params: IdParams,
        response: responses({ 204: Empty }),
      },
    },
    async (req, reply) => {
      if (!deletePipeline(ctx.db, req.params.id)) mustGetPipeline(ctx, req.params.id);
      req.log.info({ pipeline: req.params.id }, "pipeline deleted");
      return reply.status(204).send();
    },
  );

  for (const [action, desired] of [
    ["pause", "paused"],
    ["resume", "running"],
  ] as const) {
    app.post<IdReq>(
      `/v1/pipelines/:id/${action}`,
      {
        schema: {
          tags,
          summary: action === "pause" ? "Pause (workers stop consuming)" : "Resume",
          params: IdParams,
          response: responses({ 200: PipelineView }),
        },
      },
      async (req) => {
        const row = mustGetPipeline(ctx, req.params.id);
        // Idempotent: no revision bump when nothing changes, so workers are not disturbed.
        if (row.desired === desired) return toView(ctx, row);
        const updated = updatePipeline(ctx.db, row.id, { desired });
        if (!updated) throw new WeirError("NOT_FOUND", `pipeline ${row.id} not found`);
        return toView(ctx, updated);
      },
    );
  }
}
