/**
 * Where the CLI finds the API and its token: flags win over the environment, which wins over the
 * defaults. Read once per invocation from the `env` and `cwd` given to `run` (tests pass their own).
 */
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";

/** The environment variables the CLI reads. */
export interface CliEnv {
  /** Base URL of the API (`--api` wins). Default http://127.0.0.1:8080. */
  WEIR_API_URL?: string | undefined;
  /** Bearer token (`--token` wins). Unset: `.weir/api/admin.token` under the cwd, if present. */
  WEIR_TOKEN?: string | undefined;
}

export const DEFAULT_API_URL = "http://127.0.0.1:8080";
/** Where the API writes a generated admin token when started with default settings. */
export const TOKEN_FILE = ".weir/api/admin.token";

export interface Settings {
  apiUrl: string;
  token: string | undefined;
  /** Where the token came from, for the hint on 401. */
  tokenSource: "flag" | "env" | "file" | "none";
}

export function resolveSettings(
  flags: { api?: string | undefined; token?: string | undefined },
  env: CliEnv & Record<string, string | undefined>,
  cwd: string,
): Settings {
  const apiUrl = flags.api || env.WEIR_API_URL || DEFAULT_API_URL;
  if (flags.token) return { apiUrl, token: flags.token, tokenSource: "flag" };
  if (env.WEIR_TOKEN) return { apiUrl, token: env.WEIR_TOKEN, tokenSource: "env" };
  const file = resolve(cwd, TOKEN_FILE);
  if (existsSync(file)) {
    const token = readFileSync(file, "utf8").trim();
    if (token) return { apiUrl, token, tokenSource: "file" };
  }
  return { apiUrl, token: undefined, tokenSource: "none" };
}

/** Hint printed with an auth error, saying where the token came from. */
export function authHint(s: Settings): string {
  switch (s.tokenSource) {
    case "none":
      return `no token: pass --token, set WEIR_TOKEN, or run from the folder holding ${TOKEN_FILE}`;
    case "file":
      return `token read from ${TOKEN_FILE}; pass --token or set WEIR_TOKEN to use another`;
    case "env":
      return "token from WEIR_TOKEN was refused";
    default:
      return "token from --token was refused";
  }
}
