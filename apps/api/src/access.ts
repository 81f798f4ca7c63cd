/**
 * Who may do what, on which pipeline. Every user route is listed in ROUTES with the action it needs
 * and how its target is found; a route missing from the table is refused for every token but the
 * server admin (fail closed; a test checks the table covers every route). Checked before validation,
 * so a token never learns anything about a pipeline it may not see:
 *
 * - `admin` tokens (server-wide) may do everything, in every project.
 * - `project` tokens act in their project with their role (viewer < editor < admin, see ACTIONS in
 *   @weir/core); a pipeline of another project answers exactly like one that does not exist (404).
 * - `pipeline` tokens act on their one pipeline with the actions they carry, and may always read
 *   the pipeline itself (view, status, versions: what a logs-only dashboard shows next to the logs).
 * - `worker` tokens call only the worker routes (auth.ts); desired state carries only their pool.
 *
 * A pipeline is addressed by id or `project/name` (URL-encoded slash), or by a bare name inside the
 * token's own project (the `default` project for the server admin). The route handlers receive the
 * resolved id in `params.id`.
 */
import { ACTIONS, type Action, type ProjectRole, roleAllows, WeirError } from "@weir/core";
import {
  DEFAULT_PROJECT_ID,
  getPipeline,
  getPipelineByName,
  getProject,
  getProjectByName,
  type PipelineRow,
  type ProjectRow,
  type TokenRow,
  tokenActions,
} from "@weir/db";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { AppContext } from "./context.ts";

/** How a route's target is found: a pipeline in `params.id`, or the token's scope (lists, creates). */
export type Scope = "pipeline" | "project" | "none";

export interface RouteAccess {
  action: Action;
  scope: Scope;
  /** Audit entry name for routes that change something. */
  audit?: string;
}

const p = (action: Action, audit?: string): RouteAccess => ({ action, scope: "pipeline", audit });
const s = (action: Action, audit?: string): RouteAccess => ({ action, scope: "project", audit });

/** Every user route (worker routes, health and docs are handled by auth.ts). */
export const ROUTES: Record<string, RouteAccess> = {
  "GET /v1/pipelines": s("pipelines:read"),
  "POST /v1/pipelines": s("pipelines:write", "pipeline.create"),
  "GET /v1/pipelines/:id": p("pipelines:read"),
  "GET /v1/pipelines/:id/status": p("pipelines:read"),
  "GET /v1/pipelines/:id/history": p("pipelines:read"),
  "PUT /v1/pipelines/:id": p("pipelines:write", "pipeline.update"),
  "DELETE /v1/pipelines/:id": p("pipelines:write", "pipeline.delete"),
  "POST /v1/pipelines/:id/pause": p("pipelines:write", "pipeline.pause"),
  "POST /v1/pipelines/:id/resume": p("pipelines:write", "pipeline.resume"),
  "PUT /v1/pipelines/:id/handler": p("handlers:write", "handler.upload"),
  "GET /v1/pipelines/:id/versions": p("pipelines:read"),
  "GET /v1/pipelines/:id/versions/:version": p("pipelines:read"),
  "POST /v1/pipelines/:id/rollback": p("handlers:write", "handler.rollback"),
  "POST /v1/pipelines/:id/test": p("test:run"),
  "GET /v1/pipelines/:id/peek": p("test:run"),
  "GET /v1/pipelines/:id/logs": p("logs:read"),
  "GET /v1/pipelines/:id/logs/tail": p("logs:read"),
  "GET /v1/pipelines/:id/dlq": p("dlq:read"),
  "GET /v1/pipelines/:id/dlq/:recordId": p("dlq:read"),
  "POST /v1/pipelines/:id/dlq/replay": p("dlq:write", "dlq.replay"),
  "DELETE /v1/pipelines/:id/dlq": p("dlq:write", "dlq.purge"),
  "GET /v1/types/handler.d.ts": { action: "pipelines:read", scope: "none" },
  "GET /v1/tokens": s("tokens:manage"),
  "POST /v1/tokens": s("tokens:manage", "token.create"),
  "DELETE /v1/tokens/:id": s("tokens:manage", "token.revoke"),
  "GET /v1/audit": s("audit:read"),
  "GET /v1/projects": { action: "pipelines:read", scope: "none" },
  "POST /v1/projects": { action: "tokens:manage", scope: "none", audit: "project.create" },
  "DELETE /v1/projects/:name": { action: "tokens:manage", scope: "none", audit: "project.delete" },
  "GET /v1/workers": { action: "pipelines:read", scope: "none" },
};

/** Routes only the server admin may call, whatever the table says a project admin may do. */
const SERVER_ADMIN_ONLY = new Set(["POST /v1/projects", "DELETE /v1/projects/:name", "GET /v1/workers"]);

export function routeKey(req: FastifyRequest): string {
  return `${req.method} ${req.routeOptions.url ?? ""}`;
}

/** The caller as the routes see it. */
export interface Principal {
  token: TokenRow;
  /** null: every project (server admin). */
  projectId: string | null;
  /** The resolved pipeline of a pipeline route. */
  pipeline: PipelineRow | null;
  /** May read dead-letter payloads (key, value, header values). */
  dlqPayload: boolean;
}

declare module "fastify" {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyInstance {
    /** Every route as "METHOD /url" (for the access table's coverage test). */
    weirRoutes: string[];
  }
}

/** What the token may do with `action` on a pipeline of `projectId` (true for the server admin). */
export function may(token: TokenRow, action: Action, pipeline?: PipelineRow): boolean {
  if (token.kind === "admin") return true;
  if (token.kind === "project")
    return (
      roleAllows(token.role as ProjectRole, action) && (!pipeline || pipeline.projectId === token.projectId)
    );
  if (token.kind === "pipeline")
    return (
      (action === "pipelines:read" || tokenActions(token).includes(action)) &&
      (!pipeline || pipeline.id === token.pipelineId)
    );
  return false;
}

/** Exactly the answer for a pipeline that does not exist. */
export function pipelineNotFound(ref: string): WeirError {
  return new WeirError("NOT_FOUND", `pipeline ${ref} not found`, { details: { path: "/params/id" } });
}

export function projectNotFound(name: string, path = "/querystring/project"): WeirError {
  return new WeirError("NOT_FOUND", `project ${name} not found`, { details: { path } });
}

/** The pipeline `ref` names (id, `project/name`, or a bare name in `homeProject`), if it exists. */
export function resolvePipeline(ctx: AppContext, ref: string, homeProject: string): PipelineRow | undefined {
  const slash = ref.indexOf("/");
  if (slash > 0) {
    const project = getProjectByName(ctx.db, ref.slice(0, slash));
    return project ? getPipelineByName(ctx.db, project.id, ref.slice(slash + 1)) : undefined;
  }
  return getPipeline(ctx.db, ref) ?? getPipelineByName(ctx.db, homeProject, ref);
}

/**
 * The project a list or create acts in: the token's own, or for the server admin the one named in
 * `?project=` (every project for a list without it, `default` for a create). A project token naming
 * another project gets the same 404 as a project that does not exist.
 */
export function projectFor(ctx: AppContext, req: FastifyRequest, forList: boolean): ProjectRow | null {
  const principal = req.principal!;
  const named = (req.query as { project?: unknown } | undefined)?.project;
  const name = typeof named === "string" && named !== "" ? named : undefined;
  if (principal.projectId !== null) {
    const own = getProject(ctx.db, principal.projectId)!;
    if (name !== undefined && name !== own.name) throw projectNotFound(name);
    return own;
  }
  if (name === undefined) return forList ? null : getProject(ctx.db, DEFAULT_PROJECT_ID)!;
  const project = getProjectByName(ctx.db, name);
  if (!project) throw projectNotFound(name);
  return project;
}

function forbidden(token: TokenRow, action: Action): WeirError {
  const who =
    token.kind === "project"
      ? `a ${token.role} of this project`
      : token.kind === "pipeline"
        ? "this pipeline token"
        : `a ${token.kind} token`;
  const needs = token.kind === "project" ? ` (needs the ${ACTIONS[action]} role)` : "";
  return new WeirError("FORBIDDEN", `${who} cannot ${action}${needs}`);
}

/** Check a user request against ROUTES; runs after auth.ts identified the token, before validation. */
export function installAccess(app: FastifyInstance, ctx: AppContext): void {
  app.decorateRequest("principal", null);
  const served: string[] = [];
  app.decorate("weirRoutes", served);
  // The role each route needs, in the OpenAPI document.
  app.addHook("onRoute", (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const m of methods) {
      served.push(`${m} ${route.url}`);
      const access = ROUTES[`${m} ${route.url}`];
      if (!access || !route.schema) continue;
      const needs = SERVER_ADMIN_ONLY.has(`${m} ${route.url}`)
        ? "the server admin token"
        : `${access.action}: project role ${ACTIONS[access.action]} or higher, a pipeline token with ${access.action}, or the server admin`;
      route.schema = {
        ...route.schema,
        description: `${route.schema.description ? `${route.schema.description}\n\n` : ""}Requires ${needs}.`,
        ...({ "x-weir-action": access.action } as object),
      };
    }
  });
  app.addHook("preValidation", async (req) => {
    const token = req.token;
    if (!token || token.kind === "worker") return; // public or worker routes: auth.ts decided
    const key = routeKey(req);
    const access = ROUTES[key];
    const principal: Principal = {
      token,
      projectId: token.kind === "admin" ? null : token.projectId,
      pipeline: null,
      dlqPayload: false,
    };
    req.principal = principal;
    if (token.kind === "admin") {
      principal.dlqPayload = true;
    } else {
      if (!access || SERVER_ADMIN_ONLY.has(key))
        throw new WeirError("FORBIDDEN", "only the server admin token can call this route");
    }
    if (!access) return;
    if (access.scope === "pipeline") {
      const params = req.params as { id: string };
      const home = principal.projectId ?? DEFAULT_PROJECT_ID;
      const row = resolvePipeline(ctx, params.id, home);
      // Another project's pipeline is indistinguishable from a missing one.
      if (!row || !visible(token, row)) throw pipelineNotFound(params.id);
      if (!may(token, access.action, row)) throw forbidden(token, access.action);
      principal.pipeline = row;
      principal.dlqPayload = may(token, "dlq:payload", row);
      params.id = row.id;
      return;
    }
    if (!may(token, access.action)) throw forbidden(token, access.action);
  });
}

/** Whether the token can see that the pipeline exists at all. */
function visible(token: TokenRow, row: PipelineRow): boolean {
  if (token.kind === "admin") return true;
  if (token.kind === "project") return row.projectId === token.projectId;
  if (token.kind === "pipeline") return row.id === token.pipelineId;
  return false;
}
