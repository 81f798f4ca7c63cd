/**
 * Token management. The server admin manages every token; a project admin manages its project's
 * project and pipeline tokens (never admin or worker tokens). The secret is returned once, at
 * creation; revoked tokens stop working at once.
 */

import { Type } from "@sinclair/typebox";
import { CreateTokenRequest, TokenCreated, TokenView, WeirError } from "@weir/core";
import {
  createToken,
  deleteToken,
  getProject,
  getProjectByName,
  getToken,
  listTokens,
  type TokenRow,
  tokenActions,
} from "@weir/db";
import type { FastifyInstance } from "fastify";
import { may, pipelineNotFound, projectFor, projectNotFound, resolvePipeline } from "../access.ts";
import type { AppContext } from "../context.ts";
import { Empty, IdParams, responses } from "../schemas.ts";

export function tokenView(ctx: AppContext, row: TokenRow): TokenView {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    project: row.projectId ? (getProject(ctx.db, row.projectId)?.name ?? null) : null,
    role: row.role,
    pipeline_id: row.pipelineId,
    actions: row.kind === "pipeline" ? tokenActions(row) : null,
    pool: row.pool,
    expires_at: row.expiresAt,
    created_at: row.createdAt,
    last_used_at: row.lastUsedAt,
  };
}

const invalid = (path: string, message: string) =>
  new WeirError("VALIDATION", `${path}: ${message}`, { details: { issues: [{ path, message }] } });

export async function tokenRoutes(app: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  const tags = ["tokens"];
  const ProjectQuery = Type.Object({ project: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })) });

  app.post<{ Body: CreateTokenRequest }>(
    "/v1/tokens",
    {
      schema: {
        tags,
        summary: "Create a token (the secret is in this response only)",
        body: CreateTokenRequest,
        response: responses({ 201: TokenCreated }),
      },
    },
    async (req, reply) => {
      const b = req.body;
      const caller = req.principal!;
      const serverAdmin = caller.projectId === null;
      if ((b.kind === "admin" || b.kind === "worker") && !serverAdmin)
        throw new WeirError("FORBIDDEN", `only the server admin can create ${b.kind} tokens`);
      const only = (field: keyof CreateTokenRequest, kinds: string[]) => {
        if (b[field] !== undefined && !kinds.includes(b.kind))
          throw invalid(`/${field}`, `not allowed for a ${b.kind} token`);
      };
      only("role", ["project"]);
      only("actions", ["pipeline"]);
      only("pipeline", ["pipeline"]);
      only("pool", ["worker"]);
      only("project", ["project", "pipeline"]);
      const expiresAt = b.expires_in_s ? Date.now() + b.expires_in_s * 1000 : null;
      const base = { name: b.name, createdBy: caller.token.id, expiresAt };
      let made: { row: TokenRow; secret: string };
      if (b.kind === "admin" || b.kind === "worker") {
        made = createToken(ctx.db, { ...base, kind: b.kind, pool: b.pool ?? "default" });
      } else if (b.kind === "project") {
        if (!b.role) throw invalid("/role", "required for a project token (viewer, editor or admin)");
        const project = projectNamed(b.project, caller.projectId);
        made = createToken(ctx.db, { ...base, kind: "project", projectId: project.id, role: b.role });
      } else {
        if (!b.pipeline) throw invalid("/pipeline", "required for a pipeline token (id or project/name)");
        if (!b.actions) throw invalid("/actions", "required for a pipeline token");
        const home = b.project
          ? projectNamed(b.project, caller.projectId).id
          : (caller.projectId ?? "prj_default");
        const row = resolvePipeline(ctx, b.pipeline, home);
        if (!row || !may(caller.token, "tokens:manage", row)) throw pipelineNotFound(b.pipeline);
        made = createToken(ctx.db, {
          ...base,
          kind: "pipeline",
          projectId: row.projectId,
          pipelineId: row.id,
          actions: b.actions,
        });
      }
      req.log.info({ token: made.row.id, kind: made.row.kind }, "token created");
      return reply.status(201).send({ ...tokenView(ctx, made.row), token: made.secret });
    },
  );

  /** A project by name that the caller may manage: its own, or any for the server admin. */
  function projectNamed(name: string | undefined, callerProject: string | null) {
    if (callerProject !== null) {
      const own = getProject(ctx.db, callerProject)!;
      if (name !== undefined && name !== own.name) throw projectNotFound(name, "/project");
      return own;
    }
    if (name === undefined)
      throw invalid("/project", "required (the server admin has no project of its own)");
    const project = getProjectByName(ctx.db, name);
    if (!project) throw projectNotFound(name, "/project");
    return project;
  }

  app.get<{ Querystring: { project?: string } }>(
    "/v1/tokens",
    {
      schema: {
        tags,
        summary: "List tokens (no secrets): a project admin sees its project's",
        querystring: ProjectQuery,
        response: responses({ 200: Type.Object({ items: Type.Array(TokenView) }) }),
      },
    },
    async (req) => {
      const project = projectFor(ctx, req, true);
      return { items: listTokens(ctx.db, project?.id).map((t) => tokenView(ctx, t)) };
    },
  );

  app.delete<{ Params: { id: string } }>(
    "/v1/tokens/:id",
    {
      schema: { tags, summary: "Revoke a token", params: IdParams, response: responses({ 204: Empty }) },
    },
    async (req, reply) => {
      const caller = req.principal!;
      if (caller.token.id === req.params.id) throw new WeirError("CONFLICT", "a token cannot revoke itself");
      const row = getToken(ctx.db, req.params.id);
      // Another project's token answers like a missing one.
      if (!row || (caller.projectId !== null && row.projectId !== caller.projectId))
        throw new WeirError("NOT_FOUND", `token ${req.params.id} not found`, {
          details: { path: "/params/id" },
        });
      deleteToken(ctx.db, row.id);
      return reply.status(204).send();
    },
  );
}
