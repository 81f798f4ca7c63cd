/**
 * First-start bootstrap of credentials. Tokens from the environment are (re)registered on every
 * start, so rotating `WEIR_ADMIN_TOKEN` just works; without them, a token is generated once and
 * written to a 0600 file next to the database, never to the log.
 */
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { countTokens, createToken, type Db, findTokenBySecret, type TokenKind } from "@weir/db";

export interface BootstrapResult {
  /** Files holding generated tokens (first start without the env variables). */
  generated: { kind: TokenKind; file: string }[];
}

export function bootstrapTokens(
  db: Db,
  dataDir: string,
  fromEnv: { admin?: string | undefined; worker?: string | undefined },
): BootstrapResult {
  const generated: BootstrapResult["generated"] = [];
  for (const kind of ["admin", "worker"] as const) {
    const secret = fromEnv[kind];
    if (secret) {
      const existing = findTokenBySecret(db, secret);
      if (!existing) createToken(db, { name: `${kind} (from environment)`, kind, secret });
      else if (existing.kind !== kind)
        throw new Error(`WEIR_${kind.toUpperCase()}_TOKEN is registered as a ${existing.kind} token`);
      continue;
    }
    if (countTokens(db, kind) > 0) continue;
    const { secret: made } = createToken(db, { name: `${kind} (generated on first start)`, kind });
    const file = join(dataDir, `${kind}.token`);
    writeFileSync(file, `${made}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
    generated.push({ kind, file });
  }
  return { generated };
}
