/**
 * Encryption of secret config values at rest (AES-256-GCM, random 96-bit IV per value) and the
 * transforms between what users send, what is stored and what is shown:
 *   user input  {"secret": "x"} or a plain string under a secret key
 *   stored      {"$enc": "v1.<iv>.<tag>.<ciphertext>"} (base64url parts)
 *   responses   "[redacted]";  workers  "x"
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { isEncryptedRef, isSecretRef, mapSecrets, REDACTED, WeirError } from "@weir/core";

/** Decode a key given as 64 hex chars or base64 of 32 bytes. */
export function decodeKey(text: string): Buffer {
  const t = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, "hex") : Buffer.from(t, "base64");
  if (key.length !== 32) throw new Error("secret key must be 32 bytes (64 hex chars or base64)");
  return key;
}

/** The key from `WEIR_SECRET_KEY`, else the key file, created with 32 random bytes when missing. */
export function loadOrCreateKey(opts: { key?: string | undefined; file: string }): Buffer {
  if (opts.key) return decodeKey(opts.key);
  if (existsSync(opts.file)) return decodeKey(readFileSync(opts.file, "utf8"));
  mkdirSync(dirname(opts.file), { recursive: true });
  // "wx": never overwrite a key another process just wrote; losing the key loses every secret.
  writeFileSync(opts.file, `${randomBytes(32).toString("hex")}\n`, { flag: "wx", mode: 0o600 });
  chmodSync(opts.file, 0o600);
  return decodeKey(readFileSync(opts.file, "utf8"));
}

export class SecretBox {
  private readonly key: Buffer;
  constructor(key: Buffer) {
    this.key = key;
  }

  encrypt(plain: string): { $enc: string } {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    const ct = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
    const tag = cipher.getAuthTag();
    return {
      $enc: ["v1", iv, tag, ct].map((p) => (typeof p === "string" ? p : p.toString("base64url"))).join("."),
    };
  }

  decrypt(ref: { $enc: string }): string {
    const [v, iv, tag, ct] = ref.$enc.split(".");
    if (v !== "v1" || !iv || !tag || ct === undefined)
      throw new WeirError("INTERNAL", "malformed encrypted value");
    try {
      const d = createDecipheriv("aes-256-gcm", this.key, Buffer.from(iv, "base64url"));
      d.setAuthTag(Buffer.from(tag, "base64url"));
      return Buffer.concat([d.update(Buffer.from(ct, "base64url")), d.final()]).toString("utf8");
    } catch (cause) {
      throw new WeirError("INTERNAL", "cannot decrypt a stored secret: wrong WEIR_SECRET_KEY?", { cause });
    }
  }

  /**
   * Encrypt every secret of a user's spec for storage. A value equal to "[redacted]" means "keep
   * what is stored": clients can GET a pipeline, edit it and PUT it back without knowing secrets.
   */
  seal(value: unknown, previous?: unknown): unknown {
    const old = new Map<string, unknown>();
    if (previous !== undefined) mapSecrets(previous, (v, path) => old.set(path, v));
    // A redacted view shows `{"secret": x}` under an ordinary key as a bare "[redacted]" string, so
    // restore every "[redacted]" at a path that held a secret before looking for secrets.
    const restored = restoreRedacted(value, "", (path) => {
      const prior = old.get(path);
      return isEncryptedRef(prior) ? { secret: this.decrypt(prior) } : undefined;
    });
    return mapSecrets(restored, (v, path) => {
      if (isEncryptedRef(v))
        throw new WeirError("VALIDATION", "`$enc` values are reserved", { details: { path } });
      const plain = isSecretRef(v) ? v.secret : String(v);
      if (plain === REDACTED) {
        throw new WeirError("VALIDATION", `${path}: "[redacted]" given but no stored secret to keep`, {
          details: { issues: [{ path, message: "no stored secret at this path to keep" }] },
        });
      }
      return this.encrypt(plain);
    });
  }

  /** Stored form to plain strings, for workers and the test run. */
  open<T>(stored: T): T {
    return mapSecrets(stored, (v) =>
      isEncryptedRef(v) ? this.decrypt(v) : isSecretRef(v) ? v.secret : v,
    ) as T;
  }
}

/** Collect every plain secret value of a stored spec (used by tests and log scrubbing). */
export function secretValues(box: SecretBox, stored: unknown): string[] {
  const out: string[] = [];
  mapSecrets(stored, (v) => {
    if (isEncryptedRef(v)) out.push(box.decrypt(v));
    return v;
  });
  return out;
}

function restoreRedacted(value: unknown, path: string, lookup: (path: string) => unknown): unknown {
  if (value === REDACTED) return lookup(path) ?? value;
  if (Array.isArray(value)) return value.map((v, i) => restoreRedacted(v, `${path}/${i}`, lookup));
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = restoreRedacted(v, `${path}/${k}`, lookup);
    return out;
  }
  return value;
}
