/**
 * Bearer-token auth: who is calling. Each route says which kind of token may call it in
 * `config.auth`:
 *   "none"   health, readiness, metrics, docs
 *   "user"   admin, project and pipeline tokens (the default for every route that says nothing);
 *            what each may do there is access.ts's decision
 *   "admin"  the server admin token only
 *   "worker" worker tokens only; user tokens cannot drive the worker interface and vice versa
 * Tokens are looked up by sha256; the secret itself is never stored. An expired token is refused.
 */

import { WeirError } from "@weir/core";
import { findTokenBySecret, type TokenRow, touchToken } from "@weir/db";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { AppContext } from "./context.ts";

export type AuthRule = "none" | "user" | "admin" | "worker";

declare module "fastify" {
  interface FastifyContextConfig {
    auth?: AuthRule;
  }
  interface FastifyRequest {
    token: TokenRow | null;
  }
}

function bearer(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (typeof h !== "string") return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m?.[1];
}

export function installAuth(app: FastifyInstance, ctx: AppContext): void {
  app.decorateRequest("token", null);
  app.addHook("onRequest", async (req) => {
    // The docs routes belong to @fastify/swagger-ui, which cannot carry our route config.
    const isDocs = req.routeOptions.url === "/docs" || req.routeOptions.url?.startsWith("/docs/") === true;
    const rule: AuthRule = isDocs ? "none" : (req.routeOptions.config?.auth ?? "user");
    if (rule === "none") return;
    const secret = bearer(req);
    if (!secret) throw new WeirError("UNAUTHORIZED", "missing bearer token (Authorization: Bearer <token>)");
    const token = findTokenBySecret(ctx.db, secret);
    if (!token) throw new WeirError("UNAUTHORIZED", "invalid token");
    if (token.expiresAt !== null && token.expiresAt <= Date.now())
      throw new WeirError("UNAUTHORIZED", "token expired");
    const ok =
      rule === "worker"
        ? token.kind === "worker"
        : rule === "admin"
          ? token.kind === "admin"
          : token.kind !== "worker";
    if (!ok) throw new WeirError("FORBIDDEN", `a ${token.kind} token cannot call this route (needs ${rule})`);
    touchToken(ctx.db, token);
    req.token = token;
  });
}
