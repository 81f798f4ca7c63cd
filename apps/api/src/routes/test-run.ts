/**
 * Test run: sample events through the real sandbox with the pipeline's current (or a given) version.
 * Touches neither Kafka nor the sink: rows, logs, per-event errors and timings come back in the body.
 */
import { performance } from "node:perf_hooks";
import { checkEgress, TestRunRequest, TestRunResponse, WeirError } from "@weir/core";
import { getVersion, getVersionById } from "@weir/db";
import {
  createProcessSandbox,
  isBinaryFormat,
  type MessageFormat,
  type SandboxMessage,
  sandboxFormat,
} from "@weir/sandbox";
import type { FastifyInstance } from "fastify";
import type { AppContext } from "../context.ts";
import { egressPolicyOf } from "../egress.ts";
import { PEEK_MAX_BYTES, peekSource } from "../peek.ts";
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
      const { events, source_last: last } = req.body;
      if ((events === undefined) === (last === undefined))
        throw new WeirError("VALIDATION", "/body: give either events or source_last", {
          details: { issues: [{ path: "/body/events", message: "give either events or source_last" }] },
        });
      const topic = req.body.topic ?? spec.source.config.topic;
      let format: MessageFormat;
      let messages: SandboxMessage[];
      let sources: { partition: number; offset: string }[] | undefined;
      if (last !== undefined) {
        // Real messages, as the worker runs them: raw bytes for binary formats, text otherwise.
        const egress = egressPolicyOf(ctx.env);
        await checkEgress(egress, spec, "source");
        const peeked = await peekSource(spec, egress, last, PEEK_MAX_BYTES);
        format = sandboxFormat(spec.source.config);
        const binary = isBinaryFormat(format);
        sources = peeked.messages.map((m) => ({ partition: m.partition, offset: m.offset }));
        messages = peeked.messages.map((m) => ({
          value: binary ? new Uint8Array(m.value ?? Buffer.alloc(0)) : (m.value?.toString("utf8") ?? ""),
          meta: { topic: spec.source.config.topic, partition: m.partition, offset: m.offset, format },
        }));
        if (messages.length === 0)
          throw new WeirError(
            "NOT_FOUND",
            `source topic ${spec.source.config.topic} has no messages to test on`,
            {
              details: { issues: [{ path: "/body/source_last", message: "the source topic is empty" }] },
            },
          );
      } else {
        // Test events arrive as JSON: for json, otlp_json and otlp_proto sources they are the decoded
        // objects the handler sees (an otlp_proto message decodes to the otlp_json object).
        format = spec.source.config.format === "text" ? "text" : "json";
        messages = events!.map((event, i) => {
          const value = format === "text" && typeof event === "string" ? event : JSON.stringify(event);
          if (value === undefined) {
            throw new WeirError("VALIDATION", `/body/events/${i}: not representable as JSON`, {
              details: { issues: [{ path: `/body/events/${i}`, message: "not representable as JSON" }] },
            });
          }
          return { value, meta: { topic, partition: 0, offset: String(i), format } };
        });
      }
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
        const from = (index: number) => (sources?.[index] ? { source: sources[index] } : {});
        return {
          pipeline_id: pipeline.id,
          version: version.version,
          total_duration_ms: performance.now() - started,
          results: results.map((r, index) =>
            r.ok
              ? {
                  index,
                  ...from(index),
                  ok: true,
                  rows: parseRows(r.rows),
                  row_count: r.rowCount,
                  duration_ms: r.durationMs,
                  error: null,
                  logs: r.logs,
                }
              : {
                  index,
                  ...from(index),
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
