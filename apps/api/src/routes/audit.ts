/** The audit log, for project admins (their project) and the server admin (any, or all). */
import { Type } from "@sinclair/typebox";
import { type AuditEntry, AuditPage } from "@weir/core";
import { type AuditRow, getProject, listAudit } from "@weir/db";
import type { FastifyInstance } from "fastify";
import { projectFor } from "../access.ts";
import type { AppContext } from "../context.ts";
import { responses } from "../schemas.ts";

export async function auditRoutes(app: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  const view = (r: AuditRow): AuditEntry => ({
    id: r.id,
    time: r.time,
    project: r.projectId ? (getProject(ctx.db, r.projectId)?.name ?? r.projectId) : null,
    token_id: r.tokenId,
    token_name: r.tokenName,
    action: r.action,
    target: r.target,
    pipeline_id: r.pipelineId,
    revision_before: r.revisionBefore,
    revision_after: r.revisionAfter,
    status: r.status,
  });

  app.get<{ Querystring: { project?: string; pipeline_id?: string; after?: number; limit: number } }>(
    "/v1/audit",
    {
      schema: {
        tags: ["audit"],
        summary: "Changes made through the API, oldest first; pass next_after as after for the next page",
        querystring: Type.Object({
          project: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
          pipeline_id: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
          after: Type.Optional(Type.Integer({ minimum: 0 })),
          limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
        }),
        response: responses({ 200: AuditPage }),
      },
    },
    async (req) => {
      const project = projectFor(ctx, req, true);
      const rows = listAudit(ctx.db, {
        projectId: project?.id,
        pipelineId: req.query.pipeline_id,
        ...(req.query.after !== undefined ? { afterId: req.query.after } : {}),
        limit: req.query.limit + 1,
      });
      const page = rows.slice(0, req.query.limit);
      return {
        items: page.map(view),
        next_after: rows.length > req.query.limit ? (page[page.length - 1]?.id ?? null) : null,
      };
    },
  );
}
