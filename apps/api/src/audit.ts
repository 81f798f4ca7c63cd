/**
 * The audit log: every change made through the API (the routes with an `audit` name in access.ts's
 * table) is recorded after it answered, with who (token id and name), what, on which pipeline, and
 * the pipeline's revision before and after. Refused or failed attempts (4xx, 5xx) change nothing and
 * are not recorded; the request log has them.
 */
import { getPipeline, getProject, getToken, recordAudit } from "@weir/db";
import type { FastifyInstance } from "fastify";
import { ROUTES, routeKey } from "./access.ts";
import type { AppContext } from "./context.ts";

declare module "fastify" {
  interface FastifyRequest {
    /** The id in a create's response (pipeline, token or project), captured on send. */
    createdId: string | null;
    /** The project a token create or revoke concerns (the token's, not the caller's). */
    auditProject: string | null;
  }
}

export function installAudit(app: FastifyInstance, ctx: AppContext): void {
  app.decorateRequest("createdId", null);
  app.decorateRequest("auditProject", null);
  // A revoked token is gone by the time the response is sent: note its project first.
  app.addHook("preHandler", async (req) => {
    if (ROUTES[routeKey(req)]?.audit === "token.revoke")
      req.auditProject = getToken(ctx.db, (req.params as { id: string }).id)?.projectId ?? null;
  });
  app.addHook("onSend", async (req, reply, payload) => {
    if (req.method !== "POST" || reply.statusCode !== 201 || typeof payload !== "string") return payload;
    if (!ROUTES[routeKey(req)]?.audit) return payload;
    try {
      const id = (JSON.parse(payload) as { id?: unknown }).id;
      if (typeof id === "string") req.createdId = id;
    } catch {
      // not JSON: nothing to capture
    }
    return payload;
  });
  app.addHook("onResponse", async (req, reply) => {
    const action = ROUTES[routeKey(req)]?.audit;
    const principal = req.principal;
    if (!action || !principal || reply.statusCode >= 400) return;
    if (action === "token.create" && req.createdId)
      req.auditProject = getToken(ctx.db, req.createdId)?.projectId ?? null;
    const before = principal.pipeline;
    const pipelineId = before?.id ?? (action === "pipeline.create" ? req.createdId : null);
    const after = pipelineId ? getPipeline(ctx.db, pipelineId) : undefined;
    const projectId = before?.projectId ?? after?.projectId ?? req.auditProject ?? principal.projectId;
    const params = req.params as { id?: string; name?: string };
    const target =
      pipelineId && (before ?? after)
        ? `${getProject(ctx.db, (before ?? after)!.projectId)?.name}/${(after ?? before)!.name}`
        : (req.createdId ?? params.id ?? params.name ?? null);
    recordAudit(ctx.db, {
      time: Date.now(),
      projectId,
      tokenId: principal.token.id,
      tokenName: principal.token.name,
      action,
      target,
      pipelineId,
      revisionBefore: before?.revision ?? null,
      revisionAfter: after?.revision ?? null,
      status: reply.statusCode,
    });
  });
}
