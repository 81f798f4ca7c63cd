/** Token management (admin only). The secret is returned once, at creation. */

import { Type } from "@sinclair/typebox";
import { CreateTokenRequest, TokenCreated, TokenView, WeirError } from "@weir/core";
import { createToken, deleteToken, listTokens, type TokenRow } from "@weir/db";
import type { FastifyInstance } from "fastify";
import type { AppContext } from "../context.ts";
import { Empty, IdParams, responses } from "../schemas.ts";

function view(row: TokenRow): TokenView {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    created_at: row.createdAt,
    last_used_at: row.lastUsedAt,
  };
}

export async function tokenRoutes(app: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  const tags = ["tokens"];
  const config = { auth: "admin" as const };

  app.post<{ Body: CreateTokenRequest }>(
    "/v1/tokens",
    {
      config,
      schema: {
        tags,
        summary: "Create a token",
        body: CreateTokenRequest,
        response: responses({ 201: TokenCreated }),
      },
    },
    async (req, reply) => {
      const { row, secret } = createToken(ctx.db, req.body);
      return reply.status(201).send({ ...view(row), token: secret });
    },
  );

  app.get(
    "/v1/tokens",
    {
      config,
      schema: {
        tags,
        summary: "List tokens (no secrets)",
        response: responses({ 200: Type.Object({ items: Type.Array(TokenView) }) }),
      },
    },
    async () => ({ items: listTokens(ctx.db).map(view) }),
  );

  app.delete<{ Params: { id: string } }>(
    "/v1/tokens/:id",
    {
      config,
      schema: { tags, summary: "Revoke a token", params: IdParams, response: responses({ 204: Empty }) },
    },
    async (req, reply) => {
      if (req.token?.id === req.params.id) throw new WeirError("CONFLICT", "a token cannot revoke itself");
      if (!deleteToken(ctx.db, req.params.id))
        throw new WeirError("NOT_FOUND", `token ${req.params.id} not found`);
      return reply.status(204).send();
    },
  );
}
