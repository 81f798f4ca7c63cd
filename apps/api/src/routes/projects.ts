/**
 * Projects (GlassFlow's "spaces"): every pipeline belongs to one. The server admin creates and
 * deletes them; a project token sees only its own.
 */
import { Type } from "@sinclair/typebox";
import { CreateProjectRequest, ProjectName, ProjectView, WeirError } from "@weir/core";
import {
  countProjectPipelines,
  createProject,
  DEFAULT_PROJECT_ID,
  deleteProject,
  getProject,
  getProjectByName,
  listProjects,
  type ProjectRow,
} from "@weir/db";
import type { FastifyInstance } from "fastify";
import { projectNotFound } from "../access.ts";
import type { AppContext } from "../context.ts";
import { Empty, responses } from "../schemas.ts";

const view = (row: ProjectRow): ProjectView => ({ id: row.id, name: row.name, created_at: row.createdAt });

export async function projectRoutes(app: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  const tags = ["projects"];

  app.post<{ Body: CreateProjectRequest }>(
    "/v1/projects",
    {
      schema: {
        tags,
        summary: "Create a project",
        body: CreateProjectRequest,
        response: responses({ 201: ProjectView }),
      },
    },
    async (req, reply) => {
      if (getProjectByName(ctx.db, req.body.name))
        throw new WeirError("CONFLICT", `a project named "${req.body.name}" already exists`, {
          details: { issues: [{ path: "/name", message: "already taken" }] },
        });
      return reply.status(201).send(view(createProject(ctx.db, req.body.name)));
    },
  );

  app.get(
    "/v1/projects",
    {
      schema: {
        tags,
        summary: "List projects: every project for the server admin, its own for a project or pipeline token",
        response: responses({ 200: Type.Object({ items: Type.Array(ProjectView) }) }),
      },
    },
    async (req) => {
      const own = req.principal?.projectId;
      if (own) return { items: [view(getProject(ctx.db, own)!)] };
      return { items: listProjects(ctx.db).map(view) };
    },
  );

  app.delete<{ Params: { name: string } }>(
    "/v1/projects/:name",
    {
      schema: {
        tags,
        summary: "Delete an empty project and its tokens",
        params: Type.Object({ name: ProjectName }),
        response: responses({ 204: Empty }),
      },
    },
    async (req, reply) => {
      const project = getProjectByName(ctx.db, req.params.name);
      if (!project) throw projectNotFound(req.params.name, "/params/name");
      if (project.id === DEFAULT_PROJECT_ID)
        throw new WeirError("CONFLICT", "the default project cannot be deleted");
      const n = countProjectPipelines(ctx.db, project.id);
      if (n > 0) throw new WeirError("CONFLICT", `project ${project.name} still has ${n} pipeline(s)`);
      deleteProject(ctx.db, project.id);
      return reply.status(204).send();
    },
  );
}
