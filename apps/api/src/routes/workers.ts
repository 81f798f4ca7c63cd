/**
 * `GET /v1/workers`: the workers the API has heard from, whether placement counts them as live, and
 * how many pipelines each is assigned (server admin only: workers serve every project).
 */
import { Type } from "@sinclair/typebox";
import { WorkerView } from "@weir/core";
import { allAssignments, allWorkers } from "@weir/db";
import type { FastifyInstance } from "fastify";
import type { AppContext } from "../context.ts";
import { responses } from "../schemas.ts";

export async function workersRoutes(app: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  app.get(
    "/v1/workers",
    {
      schema: {
        tags: ["workers"],
        summary: "Workers, their pool, liveness and number of assigned pipelines (server admin)",
        response: responses({ 200: Type.Object({ items: Type.Array(WorkerView) }) }),
      },
    },
    async () => {
      const since = Date.now() - ctx.env.WEIR_PLACEMENT_DEAD_MS;
      const counts = new Map<string, number>();
      for (const ws of allAssignments(ctx.db).values())
        for (const w of ws.keys()) counts.set(w, (counts.get(w) ?? 0) + 1);
      const items = allWorkers(ctx.db)
        .map((w) => ({
          id: w.id,
          pool: w.pool,
          started_at: w.startedAt,
          last_seen: w.lastSeen,
          live: w.lastSeen >= since && w.pool !== null,
          pipelines: counts.get(w.id) ?? 0,
        }))
        .sort((a, b) => Number(b.live) - Number(a.live) || a.id.localeCompare(b.id));
      return { items };
    },
  );
}
