/**
 * `GET /v1/pipelines/:id/peek?limit=&max_bytes=`: the newest messages of the pipeline's source topic,
 * read without committing (see peek.ts). Values are shown as UTF-8 text when they are, else base64.
 */
import { Type } from "@sinclair/typebox";
import { checkEgress } from "@weir/core";
import type { FastifyInstance } from "fastify";
import type { AppContext } from "../context.ts";
import { egressPolicyOf } from "../egress.ts";
import { PEEK_MAX_BYTES, PEEK_MAX_MESSAGES, peekSource } from "../peek.ts";
import { mustGetPipeline, openSpec } from "../pipelines-service.ts";
import { IdParams, responses } from "../schemas.ts";

const PeekQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: PEEK_MAX_MESSAGES, default: 10 }),
  max_bytes: Type.Integer({ minimum: 1, maximum: PEEK_MAX_BYTES, default: 1024 * 1024 }),
});

export const PeekedMessage = Type.Object({
  partition: Type.Integer(),
  offset: Type.String(),
  timestamp: Type.String(),
  key: Type.Union([Type.String(), Type.Null()]),
  /** The value as UTF-8 text, or null when it is not valid UTF-8 (then see value_base64). */
  value: Type.Union([Type.String(), Type.Null()]),
  value_base64: Type.Union([Type.String(), Type.Null()]),
  size: Type.Integer(),
});

const decoder = new TextDecoder("utf-8", { fatal: true });
export function textOrNull(b: Buffer | null): string | null {
  if (!b) return null;
  try {
    return decoder.decode(b);
  } catch {
    return null;
  }
}

export async function peekRoutes(app: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  app.get<{ Params: { id: string }; Querystring: { limit: number; max_bytes: number } }>(
    "/v1/pipelines/:id/peek",
    {
      schema: {
        tags: ["handlers"],
        summary: `The newest messages of the source topic, without committing (at most ${PEEK_MAX_MESSAGES} and ${PEEK_MAX_BYTES} bytes)`,
        params: IdParams,
        querystring: PeekQuery,
        response: responses({
          200: Type.Object({
            topic: Type.String(),
            items: Type.Array(PeekedMessage),
            truncated: Type.Boolean(),
          }),
        }),
      },
    },
    async (req) => {
      const row = mustGetPipeline(ctx, req.params.id);
      const spec = openSpec(ctx, row);
      // The API connects to the pipeline's brokers itself: the same egress check as a worker's.
      const egress = egressPolicyOf(ctx.env);
      await checkEgress(egress, spec, "source");
      const { messages, truncated } = await peekSource(spec, egress, req.query.limit, req.query.max_bytes);
      return {
        topic: spec.source.config.topic,
        truncated,
        items: messages.map((m) => {
          const value = textOrNull(m.value);
          return {
            partition: m.partition,
            offset: m.offset,
            timestamp: m.timestamp,
            key: m.key ? (textOrNull(m.key) ?? `base64:${m.key.toString("base64")}`) : null,
            value,
            value_base64: value === null && m.value ? m.value.toString("base64") : null,
            size: m.value?.length ?? 0,
          };
        }),
      };
    },
  );
}
