/** API tokens. The secret is shown once at creation; only its sha256 is stored. */
import { createHash, randomBytes } from "node:crypto";
import { and, asc, eq } from "drizzle-orm";
import { newId } from "./ids.ts";
import type { Db } from "./open.ts";
import { type TokenRow, tokens } from "./schema.ts";

export type TokenKind = TokenRow["kind"];
export type ProjectRole = NonNullable<TokenRow["role"]>;

/** sha256 hex of a token secret. Tokens are random (not passwords), so a fast hash is enough. */
export function hashToken(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

/** A fresh random token secret, `weir_<kind>_<43 base64url chars>`. */
export function generateTokenSecret(kind: TokenKind): string {
  return `weir_${kind}_${randomBytes(32).toString("base64url")}`;
}

export interface NewToken {
  name: string;
  kind: TokenKind;
  /** Register a known value (bootstrap from the environment) instead of generating one. */
  secret?: string;
  projectId?: string | null;
  role?: ProjectRole | null;
  pipelineId?: string | null;
  actions?: string[] | null;
  pool?: string | null;
  createdBy?: string | null;
  expiresAt?: number | null;
}

/** Store a token. The scope columns must match the kind (the table's CHECK constraints enforce it). */
export function createToken(db: Db, input: NewToken): { row: TokenRow; secret: string } {
  const secret = input.secret ?? generateTokenSecret(input.kind);
  const row: TokenRow = {
    id: newId("tok"),
    name: input.name,
    kind: input.kind,
    hash: hashToken(secret),
    projectId: input.projectId ?? null,
    role: input.role ?? null,
    pipelineId: input.pipelineId ?? null,
    actionsJson: input.actions ? JSON.stringify(input.actions) : null,
    pool: input.kind === "worker" ? (input.pool ?? "default") : null,
    createdBy: input.createdBy ?? null,
    expiresAt: input.expiresAt ?? null,
    createdAt: Date.now(),
    lastUsedAt: null,
  };
  db.orm.insert(tokens).values(row).run();
  return { row, secret };
}

export function findTokenBySecret(db: Db, secret: string): TokenRow | undefined {
  return db.orm
    .select()
    .from(tokens)
    .where(eq(tokens.hash, hashToken(secret)))
    .get();
}

export function getToken(db: Db, id: string): TokenRow | undefined {
  return db.orm.select().from(tokens).where(eq(tokens.id, id)).get();
}

export function countTokens(db: Db, kind: TokenKind): number {
  return db.orm.select().from(tokens).where(eq(tokens.kind, kind)).all().length;
}

/** Every token, or a project's (its project and pipeline tokens). */
export function listTokens(db: Db, projectId?: string): TokenRow[] {
  return db.orm
    .select()
    .from(tokens)
    .where(projectId === undefined ? undefined : and(eq(tokens.projectId, projectId)))
    .orderBy(asc(tokens.createdAt), asc(tokens.id))
    .all();
}

export function deleteToken(db: Db, id: string): boolean {
  return db.orm.delete(tokens).where(eq(tokens.id, id)).run().changes > 0;
}

/** Record use, at most once a minute per token so reads do not turn into a write per request. */
export function touchToken(db: Db, row: TokenRow, now = Date.now()): void {
  if (row.lastUsedAt !== null && now - row.lastUsedAt < 60_000) return;
  db.orm.update(tokens).set({ lastUsedAt: now }).where(eq(tokens.id, row.id)).run();
}

/** The actions of a pipeline token. */
export function tokenActions(row: TokenRow): string[] {
  return row.actionsJson ? (JSON.parse(row.actionsJson) as string[]) : [];
}
