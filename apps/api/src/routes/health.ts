/** Unauthenticated operational routes: liveness, readiness and Prometheus metrics. */
import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import type { AppContext } from "../context.ts";

export async function healthRoutes(app: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  const tags = ["operations"];
  const Ok = Type.Object({ ok: Type.Boolean(), reason: Type.Optional(Type.String()) });

  app.get(
    "/healthz",
    { config: { auth: "none" }, schema: { tags, summary: "Liveness", response: { 200: Ok } } },
    async () => ({
      ok: true,
    }),
  );

  app.get(
    "/readyz",
    {
      config: { auth: "none" },
      schema: { tags, summary: "Readiness: the database answers", response: { 200: Ok, 503: Ok } },
    },
    async (_req, reply) => {
      try {
        ctx.db.sqlite.prepare("SELECT 1").get();
        return { ok: true };
      } catch (err) {
        return reply.status(503).send({ ok: false, reason: (err as Error).message });
      }
    },
  );

  app.get(
    "/metrics",
    { config: { auth: "none" }, schema: { tags, summary: "Prometheus metrics", produces: ["text/plain"] } },
    async (_req, reply) => {
      const body = await ctx.metrics.registry.metrics();
      return reply.type(ctx.metrics.registry.contentType).send(body);
    },
  );
}
