/**
 * Where the CLI finds the API, its token and the project it works in: flags win over the
 * environment, which wins over the defaults. Read once per invocation from the `env` and `cwd`
 * given to `run` (tests pass their own).
 */
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";

/** The environment variables the CLI reads. */
export interface CliEnv {
  /** Base URL of the API (`--api` wins). Default http://127.0.0.1:8080. */
  WEIR_API_URL?: string | undefined;
  /** Bearer token (`--token` wins). Unset: `.weir/api/admin.token` under the cwd, if present. */
  WEIR_TOKEN?: string | undefined;
  /** Project that bare pipeline names, lists and creates refer to (`--project` wins). */
  WEIR_PROJECT?: string | undefined;
}

export const DEFAULT_API_URL = "http://127.0.0.1:8080";
/** Where the API writes a generated admin token when started with default settings. */
export const TOKEN_FILE = ".weir/api/admin.token";

export interface Settings {
  apiUrl: string;
  token: string | undefined;
  /** Where the token came from, for the hint on 401. */
  tokenSource: "flag" | "env" | "file" | "none";
  /**
   * Unset: the token's own project decides (the server admin lists every project and creates in
   * `default`). Not validated here: a command that uses it checks it (`Ctx.project`).
   */
  project: string | undefined;
  projectSource: "flag" | "env" | "none";
}

export function resolveSettings(
  flags: { api?: string | undefined; token?: string | undefined; project?: string | undefined },
  env: CliEnv & Record<string, string | undefined>,
  cwd: string,
): Settings {
  const apiUrl = flags.api || env.WEIR_API_URL || DEFAULT_API_URL;
  const project = flags.project
    ? { project: flags.project, projectSource: "flag" as const }
    : env.WEIR_PROJECT
      ? { project: env.WEIR_PROJECT, projectSource: "env" as const }
      : { project: undefined, projectSource: "none" as const };
  if (flags.token) return { apiUrl, token: flags.token, tokenSource: "flag", ...project };
  if (env.WEIR_TOKEN) return { apiUrl, token: env.WEIR_TOKEN, tokenSource: "env", ...project };
  const file = resolve(cwd, TOKEN_FILE);
  if (existsSync(file)) {
    const token = readFileSync(file, "utf8").trim();
    if (token) return { apiUrl, token, tokenSource: "file", ...project };
  }
  return { apiUrl, token: undefined, tokenSource: "none", ...project };
}

/**
 * Hint printed with an auth error, saying where the token came from. `forbidden` (403): the token
 * was accepted but may not do this, which a new token with the right role fixes, not a retyped one.
 */
export function authHint(s: Settings, forbidden = false): string {
  if (forbidden) {
    const from = { flag: "--token", env: "WEIR_TOKEN", file: TOKEN_FILE, none: "no token" }[s.tokenSource];
    return `the token (from ${from}) was accepted but may not do this: use a token with the role or action named above`;
  }
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
