/**
 * Secret values in connector config. A user marks any config value secret by writing
 * `{"secret": "value"}`; a few fields (passwords, SASL credentials, Authorization headers) are
 * secret whatever their form. At rest the API stores `{"$enc": "..."}`; responses and log lines
 * carry {@link REDACTED} instead.
 */
export const REDACTED = "[redacted]";

export interface SecretRef {
  secret: string;
}

export interface EncryptedRef {
  $enc: string;
}

export function isSecretRef(value: unknown): value is SecretRef {
  return (
    typeof value === "object" &&
    value !== null &&
    Object.keys(value).length === 1 &&
    typeof (value as { secret?: unknown }).secret === "string"
  );
}

export function isEncryptedRef(value: unknown): value is EncryptedRef {
  return (
    typeof value === "object" &&
    value !== null &&
    Object.keys(value).length === 1 &&
    typeof (value as { $enc?: unknown }).$enc === "string"
  );
}

/** Config keys whose values are secret even when written as plain strings (matched case-insensitively). */
const SECRET_KEYS = new Set([
  "password",
  "sasl_password",
  "authorization",
  "proxy-authorization",
  "key",
  "token",
  "api_key",
]);

export function isSecretKey(key: string): boolean {
  return SECRET_KEYS.has(key.toLowerCase());
}

/** The plain value of a config value that may be a {@link SecretRef}. */
export function reveal(value: string | SecretRef | undefined): string | undefined {
  if (value === undefined) return undefined;
  return typeof value === "string" ? value : value.secret;
}

/**
 * Walk a JSON value and replace every secret (by key or by `{"secret"}` / `{"$enc"}` form) with
 * `replace(value, path)`. Used for encryption at rest, decryption for workers and redaction.
 */
export function mapSecrets(
  value: unknown,
  replace: (secret: unknown, path: string) => unknown,
  path = "",
  underSecretKey = false,
): unknown {
  if (isSecretRef(value) || isEncryptedRef(value)) return replace(value, path);
  if (underSecretKey && (typeof value === "string" || typeof value === "number")) return replace(value, path);
  if (Array.isArray(value))
    return value.map((v, i) => mapSecrets(v, replace, `${path}/${i}`, underSecretKey));
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = mapSecrets(v, replace, `${path}/${k}`, underSecretKey || isSecretKey(k));
    }
    return out;
  }
  return value;
}

/** A deep copy of `value` with every secret replaced by {@link REDACTED}. */
export function redact<T>(value: T): T {
  return mapSecrets(value, () => REDACTED) as T;
}
