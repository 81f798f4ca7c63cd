/**
 * Test run: sample events through the real sandbox with the pipeline's current (or a given) version.
 * Touches neither Kafka nor the sink: rows, logs, per-event errors and timings come back in the body.
 */
import { performance } from "node:perf_hooks";
import { TestRunRequest, TestRunResponse, WeirError } from "@weir/core";
import { getVersion, getVersionById } from "@weir/db";
import { createProcessSandbox } from "@weir/sandbox";
import type { FastifyInstance } from "fastify";
import type { AppContext } from "../context.ts";
import { mustGetPipeline, openSpec } from "../pipelines-service.ts";
import { IdParams, responses } from "../schemas.ts";

function parseRows(ndjson: string): unknown[] {
  return ndjson
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l));
}

export async function testRunRoutes(app: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  app.post<{ Params: { id: string }; Body: TestRunRequest }>(
    "/v1/pipelines/:id/test",
    {
      schema: {
        tags: ["handlers"],
        summary: "Run sample events through the handler in the sandbox (no Kafka, no sink)",
        params: IdParams,
        body: TestRunRequest,
        response: responses({ 200: TestRunResponse }),
      },
    },
    async (req) => {
      const pipeline = mustGetPipeline(ctx, req.params.id);
      const version =
        req.body.version !== undefined
          ? getVersion(ctx.db, pipeline.id, req.body.version)
          : pipeline.currentVersionId
            ? getVersionById(ctx.db, pipeline.currentVersionId)
            : undefined;
      if (!version) {
        throw new WeirError(
          "NOT_FOUND",
          req.body.version !== undefined
            ? `pipeline ${pipeline.id} has no version ${req.body.version}`
            : `pipeline ${pipeline.id} has no handler yet; upload one first`,
          { details: { issues: [{ path: "/body/version", message: "no such handler version" }] } },
        );
      }
      const spec = openSpec(ctx, pipeline);
      // Test events arrive as JSON: for json, otlp_json and otlp_proto sources they are the decoded
      // objects the handler sees (an otlp_proto message decodes to the otlp_json object).
      const format: "text" | "json" = spec.source.config.format === "text" ? "text" : "json";
      const topic = req.body.topic ?? spec.source.config.topic;
      const messages = req.body.events.map((event, i) => {
        const value = format === "text" && typeof event === "string" ? event : JSON.stringify(event);
        if (value === undefined) {
          throw new WeirError("VALIDATION", `/body/events/${i}: not representable as JSON`, {
            details: { issues: [{ path: `/body/events/${i}`, message: "not representable as JSON" }] },
          });
        }
        return { value, meta: { topic, partition: 0, offset: String(i), format } };
      });
      const started = performance.now();
      const sandbox = await createProcessSandbox({
        code: version.code,
        sourceMap: version.sourceMap,
        env: spec.env,
        limits: spec.limits,
        pipelineId: pipeline.id,
        handlerVersion: String(version.version),
        format,
      });
      try {
        const results = await sandbox.runBatch(messages);
        return {
          pipeline_id: pipeline.id,
          version: version.version,
          total_duration_ms: performance.now() - started,
          results: results.map((r, index) =>
            r.ok
              ? {
                  index,
                  ok: true,
                  rows: parseRows(r.rows),
                  row_count: r.rowCount,
                  duration_ms: r.durationMs,
                  error: null,
                  logs: r.logs,
                }
              : {
                  index,
                  ok: false,
                  rows: [],
                  row_count: 0,
                  duration_ms: r.durationMs,
                  error: r.error,
                  logs: r.logs,
                },
          ),
        };
      } finally {
        await sandbox.dispose();
      }
    },
  );
}
