/** Dead-letter records of a pipeline: list, show, replay to the source topic, purge. */
import { type Static, Type } from "@sinclair/typebox";
import {
  checkEgress,
  DlqPage,
  DlqPurgeResponse,
  DlqRecordSchema,
  DlqReplayRequest,
  DlqReplayResponse,
  REDACTED,
  WeirError,
} from "@weir/core";
import { getPurgeMarks, type PipelineRow, setPurgeMarks } from "@weir/db";
import type { FastifyInstance } from "fastify";
import type { AppContext } from "../context.ts";
import {
  kafkaFor,
  pipelineOf,
  type ReadRange,
  readRanges,
  replay,
  toDlqRecord,
  watermarks,
} from "../dlq-kafka.ts";
import { egressPolicyOf } from "../egress.ts";
import { mustGetPipeline, openSpec } from "../pipelines-service.ts";
import { IdParams, responses } from "../schemas.ts";

const MAX_REPLAY = 100_000;

/**
 * A record for a token without `dlq:payload` (viewers): stage, error, offsets and header names,
 * but not the message's key, value or header values (raw bytes of someone's data).
 */
function metadataOnly(m: Parameters<typeof toDlqRecord>[0]) {
  const r = toDlqRecord(m);
  return {
    ...r,
    key: r.key === null ? null : REDACTED,
    value: r.value === null ? null : REDACTED,
    headers: Object.fromEntries(Object.keys(r.headers).map((k) => [k, REDACTED])),
  };
}

// Math.min/max do not take bigint offsets.
const bigMin = (a: bigint, b: bigint) => (a < b ? a : b);
const bigMax = (a: bigint, b: bigint) => (a > b ? a : b);

/** Kafka client and topic of a pipeline's DLQ, plus the ranges not purged for this pipeline. */
async function dlqOf(ctx: AppContext, row: PipelineRow) {
  const spec = openSpec(ctx, row);
  // The API connects to the pipeline's brokers itself: the same egress check as a worker's.
  const egress = egressPolicyOf(ctx.env);
  await checkEgress(egress, spec, "source");
  const kafka = kafkaFor(spec.source.config, egress); // and at every broker connection
  const topic = spec.dead_letter.topic;
  const marks = new Map(getPurgeMarks(ctx.db, row.id, topic).map((m) => [m.partition, BigInt(m.offset)]));
  const wm = await watermarks(kafka, topic);
  const ranges: ReadRange[] = wm.map((w) => {
    const mark = marks.get(w.partition) ?? 0n;
    return { partition: w.partition, start: bigMax(mark, w.low), end: w.high };
  });
  return { spec, kafka, topic, ranges };
}

function parseRecordId(id: string, path: string): { partition: number; offset: bigint } {
  const m = /^(\d+)-(\d+)$/.exec(id);
  if (!m)
    throw new WeirError("VALIDATION", `${path}: expected <partition>-<offset>`, {
      details: { issues: [{ path, message: "expected <partition>-<offset>" }] },
    });
  return { partition: Number(m[1]), offset: BigInt(m[2] as string) };
}

export async function dlqRoutes(app: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  const tags = ["dlq"];

  app.get<{ Params: { id: string }; Querystring: { limit: number } }>(
    "/v1/pipelines/:id/dlq",
    {
      schema: {
        tags,
        summary: "Dead-letter records of the pipeline, oldest first (read from its dead-letter topic)",
        params: IdParams,
        querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }) }),
        response: responses({ 200: DlqPage }),
      },
    },
    async (req) => {
      const row = mustGetPipeline(ctx, req.params.id);
      const { kafka, topic, ranges } = await dlqOf(ctx, row);
      const { messages, truncated } = await readRanges(
        kafka,
        topic,
        ranges,
        (m) => pipelineOf(m) === row.id,
        req.query.limit,
      );
      const view = req.principal?.dlqPayload ? toDlqRecord : metadataOnly;
      return { topic, items: messages.map(view), truncated };
    },
  );

  app.get<{ Params: { id: string; recordId: string } }>(
    "/v1/pipelines/:id/dlq/:recordId",
    {
      schema: {
        tags,
        summary: "One dead-letter record by id (<partition>-<offset>)",
        params: Type.Object({
          id: Type.String({ minLength: 1 }),
          recordId: Type.String({ pattern: "^\\d+-\\d+$" }),
        }),
        response: responses({ 200: DlqRecordSchema }),
      },
    },
    async (req) => {
      const row = mustGetPipeline(ctx, req.params.id);
      const { partition, offset } = parseRecordId(req.params.recordId, "/params/recordId");
      const { kafka, topic, ranges } = await dlqOf(ctx, row);
      const range = ranges.find((r) => r.partition === partition);
      const notFound = new WeirError(
        "NOT_FOUND",
        `no dead-letter record ${req.params.recordId} for pipeline ${row.id}`,
        {
          details: { path: "/params/recordId" },
        },
      );
      if (!range || offset < range.start || offset >= range.end) throw notFound;
      const { messages } = await readRanges(
        kafka,
        topic,
        [{ partition, start: offset, end: offset + 1n }],
        (m) => pipelineOf(m) === row.id,
        1,
      );
      const found = messages[0];
      if (!found) throw notFound;
      return req.principal?.dlqPayload ? toDlqRecord(found) : metadataOnly(found);
    },
  );

  app.post<{ Params: { id: string }; Body: Static<typeof DlqReplayRequest> }>(
    "/v1/pipelines/:id/dlq/replay",
    {
      schema: {
        tags,
        summary: "Produce selected records (ids) or all of them back to the pipeline's source topic",
        params: IdParams,
        body: DlqReplayRequest,
        response: responses({ 200: DlqReplayResponse }),
      },
    },
    async (req) => {
      const row = mustGetPipeline(ctx, req.params.id);
      const { ids, all } = req.body;
      if (!all && !ids) {
        throw new WeirError("VALIDATION", '/body: give "ids" or "all": true', {
          details: { issues: [{ path: "/body/ids", message: 'give "ids" or "all": true' }] },
        });
      }
      const { spec, kafka, topic, ranges } = await dlqOf(ctx, row);
      let wanted: Set<string> | undefined;
      let read = ranges;
      if (!all && ids) {
        wanted = new Set(ids);
        // Narrow each partition's range to the requested offsets.
        const byPartition = new Map<number, bigint[]>();
        ids.forEach((id, i) => {
          const { partition, offset } = parseRecordId(id, `/body/ids/${i}`);
          byPartition.set(partition, [...(byPartition.get(partition) ?? []), offset]);
        });
        read = ranges.flatMap((r) => {
          const offs = byPartition.get(r.partition);
          if (!offs) return [];
          const lo = offs.reduce(bigMin);
          const hi = offs.reduce(bigMax);
          return [
            {
              partition: r.partition,
              start: bigMax(lo, r.start),
              end: bigMin(hi + 1n, r.end),
            },
          ];
        });
      }
      const { messages } = await readRanges(
        kafka,
        topic,
        read,
        (m) => pipelineOf(m) === row.id && (!wanted || wanted.has(`${m.partition}-${m.offset}`)),
        MAX_REPLAY,
      );
      if (wanted && messages.length < wanted.size) {
        const found = new Set(messages.map((m) => `${m.partition}-${m.offset}`));
        const missing = [...wanted].filter((id) => !found.has(id));
        throw new WeirError(
          "NOT_FOUND",
          `no dead-letter record ${missing.join(", ")} for pipeline ${row.id}`,
          {
            details: {
              issues: missing.map((id) => ({
                path: `/body/ids/${ids?.indexOf(id)}`,
                message: "no such record",
              })),
            },
          },
        );
      }
      await replay(kafka, spec.source.config.topic, messages);
      req.log.info({ pipeline: row.id, replayed: messages.length }, "dead-letter records replayed");
      return { replayed: messages.length, topic: spec.source.config.topic };
    },
  );

  app.delete<{ Params: { id: string } }>(
    "/v1/pipelines/:id/dlq",
    {
      schema: {
        tags,
        summary: "Purge: hide every current dead-letter record of this pipeline (a per-pipeline watermark)",
        params: IdParams,
        response: responses({ 200: DlqPurgeResponse }),
      },
    },
    async (req) => {
      const row = mustGetPipeline(ctx, req.params.id);
      const { kafka, topic, ranges } = await dlqOf(ctx, row);
      // Count without holding the records: keep nothing.
      let purged = 0;
      await readRanges(
        kafka,
        topic,
        ranges,
        (m) => {
          if (pipelineOf(m) === row.id) purged++;
          return false;
        },
        1,
      );
      setPurgeMarks(
        ctx.db,
        row.id,
        ranges.map((r) => ({ topic, partition: r.partition, offset: r.end.toString() })),
      );
      return { purged, topic };
    },
  );
}
