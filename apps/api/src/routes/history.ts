/**
 * `GET /v1/pipelines/:id/history`: the rolling history of worker reports (history.ts), for charts of
 * rows in/out, DLQ, retries and lag over the last hour. Same access as the pipeline's status.
 */
import { Type } from "@sinclair/typebox";
import { HistoryPointSchema } from "@weir/core";
import type { FastifyInstance } from "fastify";
import type { AppContext } from "../context.ts";
import { mustGetPipeline } from "../pipelines-service.ts";
import { IdParams, responses } from "../schemas.ts";

export const HistoryResponse = Type.Object({
  bucket_ms: Type.Integer(),
  max_age_ms: Type.Integer(),
  max_points: Type.Integer(),
  points: Type.Array(HistoryPointSchema),
});

export async function historyRoutes(app: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  app.get<{ Params: { id: string }; Querystring: { since?: number } }>(
    "/v1/pipelines/:id/history",
    {
      schema: {
        tags: ["pipelines"],
        summary: "Counters and total lag over the last hour, one point per time bucket, oldest first",
        description:
          "Kept in the API's memory (empty after a restart), bounded in age, points per pipeline and pipelines. " +
          "Counters are cumulative sums over live workers: draw rates from the difference of two points " +
          "(a drop means a worker restarted or left).",
        params: IdParams,
        querystring: Type.Object({
          since: Type.Optional(
            Type.Integer({ minimum: 0, description: "Epoch ms: only points from then on." }),
          ),
        }),
        response: responses({ 200: HistoryResponse }),
      },
    },
    async (req) => {
      const row = mustGetPipeline(ctx, req.params.id);
      const o = ctx.history.options;
      return {
        bucket_ms: o.bucketMs,
        max_age_ms: o.maxAgeMs,
        max_points: o.maxPoints,
        points: ctx.history.points(row.id, req.query.since ?? 0),
      };
    },
  );
}
