/**
 * Pipeline logs: newest-first pages with a keyset cursor, and a live tail over server-sent events.
 * SSE is written on fastify's raw reply (hijacked): the protocol is a few lines of text, and no
 * SSE plugin was both maintained for Fastify 5 and needed for something this small.
 */
import { type Static, Type } from "@sinclair/typebox";
import { LOG_LEVEL_RANK, LOG_LEVELS, LogPage, WeirError } from "@weir/core";
import { logsAfter, queryLogs } from "@weir/db";
import type { FastifyInstance } from "fastify";
import type { AppContext } from "../context.ts";
import { toLogEntry } from "../log-writer.ts";
import { mustGetPipeline } from "../pipelines-service.ts";
import { IdParams, responses } from "../schemas.ts";

const Level = Type.Union(
  LOG_LEVELS.map((l) => Type.Literal(l)),
  { description: "Minimum level." },
);
const LogQuery = Type.Object({
  level: Type.Optional(Level),
  since: Type.Optional(Type.Integer({ minimum: 0, description: "Epoch ms, inclusive." })),
  until: Type.Optional(Type.Integer({ minimum: 0, description: "Epoch ms, inclusive." })),
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
  cursor: Type.Optional(
    Type.String({ pattern: "^\\d+-\\d+$", description: "next_cursor of the previous page." }),
  ),
});

function cursorOf(row: { time: number; id: number }): string {
  return `${row.time}-${row.id}`;
}

export async function logRoutes(app: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  const tags = ["logs"];
  const streams = new Set<() => void>();
  // Open tails would keep the server from closing; end them first.
  app.addHook("preClose", async () => {
    for (const end of streams) end();
  });

  app.get<{ Params: { id: string }; Querystring: Static<typeof LogQuery> }>(
    "/v1/pipelines/:id/logs",
    {
      schema: {
        tags,
        summary: "Log lines, newest first, filtered by minimum level and time range",
        params: IdParams,
        querystring: LogQuery,
        response: responses({ 200: LogPage }),
      },
    },
    async (req) => {
      const pipeline = mustGetPipeline(ctx, req.params.id);
      const q = req.query;
      if (q.since !== undefined && q.until !== undefined && q.since > q.until) {
        throw new WeirError("VALIDATION", "/querystring/since: must not be after until", {
          details: { issues: [{ path: "/querystring/since", message: "must not be after until" }] },
        });
      }
      // Lines still in the write buffer would be invisible for up to one flush interval.
      ctx.logs.flush();
      const [time, id] = (q.cursor ?? "").split("-").map(Number);
      const rows = queryLogs(ctx.db, {
        pipelineId: pipeline.id,
        minRank: q.level ? LOG_LEVEL_RANK[q.level] : undefined,
        since: q.since,
        until: q.until,
        before: q.cursor ? { time: time ?? 0, id: id ?? 0 } : undefined,
        limit: q.limit + 1,
      });
      const page = rows.slice(0, q.limit);
      const last = page[page.length - 1];
      return {
        items: page.map(toLogEntry),
        next_cursor: rows.length > q.limit && last ? cursorOf(last) : null,
      };
    },
  );

  app.get<{
    Params: { id: string };
    Querystring: { level?: (typeof LOG_LEVELS)[number]; after_id?: number };
    Headers: { "last-event-id"?: string };
  }>(
    "/v1/pipelines/:id/logs/tail",
    {
      schema: {
        tags,
        summary: "Live tail (text/event-stream): one `log` event per line as it is stored",
        description:
          "Resumes after a line: `Last-Event-ID` (sent by EventSource on reconnect; the event ids are `<time>-<id>`) or `after_id` (a line's `id`). The lines stored since then, up to the retention limit, come first, oldest first, then live lines, with no gap and no repeat.",
        produces: ["text/event-stream"],
        params: IdParams,
        querystring: Type.Object({
          level: Type.Optional(Level),
          after_id: Type.Optional(Type.Integer({ minimum: 0, description: "Resume after this line id." })),
        }),
        headers: Type.Object({
          "last-event-id": Type.Optional(
            Type.String({ pattern: "^(\\d+-)?\\d+$", description: "Id of the last event received." }),
          ),
        }),
      },
    },
    async (req, reply) => {
      const pipeline = mustGetPipeline(ctx, req.params.id);
      const min = req.query.level ? LOG_LEVEL_RANK[req.query.level] : 0;
      const lastEventId = req.headers["last-event-id"];
      const afterId = req.query.after_id ?? (lastEventId ? Number(lastEventId.split("-").pop()) : undefined);
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache, no-transform",
        connection: "keep-alive",
        "x-accel-buffering": "no",
      });
      raw.write(": tail started\nretry: 2000\n\n");
      const send = (row: Parameters<typeof toLogEntry>[0]) =>
        raw.write(`id: ${cursorOf(row)}\nevent: log\ndata: ${JSON.stringify(toLogEntry(row))}\n\n`);
      // Backfill and subscription happen in one synchronous section: stored lines are only fanned
      // out from flush(), on another tick, so nothing lands between the query and the subscription.
      if (afterId !== undefined) {
        ctx.logs.flush();
        for (const row of logsAfter(ctx.db, {
          pipelineId: pipeline.id,
          afterId,
          minRank: min,
          limit: 100_000,
        }))
          send(row);
      }
      const unsubscribe = ctx.logs.subscribe(pipeline.id, (row) => {
        if (row.levelRank >= min) send(row);
      });
      const ping = setInterval(() => raw.write(": ping\n\n"), 15_000);
      ping.unref();
      const end = () => {
        clearInterval(ping);
        unsubscribe();
        streams.delete(end);
        if (!raw.writableEnded) raw.end();
      };
      streams.add(end);
      req.raw.on("close", end);
    },
  );
}
