/**
 * `weir tokens ...`: list, create and revoke API tokens. The server admin manages every token; a
 * project admin manages its project's project and pipeline tokens. The secret is printed once, by
 * `create`; the API keeps only its hash.
 */
import {
  type CreateTokenRequest,
  PIPELINE_ACTIONS,
  PROJECT_ROLES,
  type TokenKind,
  type TokenView,
} from "@weir/core";
import { type Command, InvalidArgumentError, Option } from "commander";
import type { Ctx } from "../context.ts";
import { usageError } from "../errors.ts";
import { parseDuration } from "../input.ts";
import { isoTime, table } from "../output.ts";
import { action, type CtxFactory } from "./shared.ts";

const TOKEN_KINDS = ["project", "pipeline", "worker", "admin"] as const satisfies readonly TokenKind[];
/** The API's bounds on `expires_in_s`. */
const MIN_EXPIRY_S = 60;
const MAX_EXPIRY_S = 10 * 365 * 86400;

interface CreateOpts {
  name: string;
  kind: TokenKind;
  role?: (typeof PROJECT_ROLES)[number];
  pipeline?: string;
  action?: string[];
  pool?: string;
  expiresIn?: string;
}

/** `--action` parser: repeatable, each value one action or a comma-separated list of them. */
function collectActions(value: string, previous: string[] | undefined): string[] {
  const out = [...(previous ?? [])];
  for (const a of value.split(",").map((x) => x.trim())) {
    if (!(PIPELINE_ACTIONS as readonly string[]).includes(a))
      throw new InvalidArgumentError(`Allowed actions are ${PIPELINE_ACTIONS.join(", ")}.`);
    if (!out.includes(a)) out.push(a);
  }
  return out;
}

/** What the token may do, in one cell. */
function access(t: TokenView): string {
  switch (t.kind) {
    case "admin":
      return "everything (server admin)";
    case "worker":
      return `pool ${t.pool ?? "default"}`;
    case "project":
      return t.role ?? "-";
    default:
      return `${t.pipeline_id ?? "-"}: ${(t.actions ?? []).join(",")}`;
  }
}

function expires(t: TokenView, now = Date.now()): string {
  if (t.expires_at === null) return "never";
  return `${isoTime(t.expires_at)}${t.expires_at <= now ? " (expired)" : ""}`;
}

async function list(ctx: Ctx): Promise<void> {
  const { items } = await ctx.client.listTokens(ctx.projectQuery());
  ctx.emit(items, () => {
    if (items.length === 0) return ctx.out("no tokens");
    ctx.out(
      table(
        ["ID", "NAME", "KIND", "PROJECT", "ACCESS", "EXPIRES", "LAST_USED"],
        items.map((t) => [
          t.id,
          t.name,
          t.kind,
          t.project ?? "-",
          access(t),
          expires(t),
          isoTime(t.last_used_at),
        ]),
      ),
    );
  });
}

const an = (kind: TokenKind) => (kind === "admin" ? "an admin" : `a ${kind}`);

/** Flags that only some kinds take: a usage error (exit 2, nothing sent) names the flag. */
function checkKindFlags(ctx: Ctx, o: CreateOpts): void {
  const allowed: Record<string, TokenKind[]> = {
    "--role": ["project"],
    "--pipeline": ["pipeline"],
    "--action": ["pipeline"],
    "--pool": ["worker"],
  };
  const given: Record<string, unknown> = {
    "--role": o.role,
    "--pipeline": o.pipeline,
    "--action": o.action,
    "--pool": o.pool,
  };
  for (const [flag, kinds] of Object.entries(allowed)) {
    if (given[flag] !== undefined && !kinds.includes(o.kind))
      throw usageError(`${flag}: not for ${an(o.kind)} token (only --kind ${kinds.join(" or ")})`);
  }
  // A project from WEIR_PROJECT is ignored for server-wide tokens; an explicit --project is a mistake.
  if ((o.kind === "admin" || o.kind === "worker") && ctx.settings.projectSource === "flag")
    throw usageError(`--project: not for ${an(o.kind)} token (it is not bound to a project)`);
  if (o.kind === "project" && o.role === undefined)
    throw usageError(`--role: required for a project token (${PROJECT_ROLES.join(", ")})`);
  if (o.kind === "pipeline" && o.pipeline === undefined)
    throw usageError("--pipeline: required for a pipeline token (id, project/name or name)");
  if (o.kind === "pipeline" && o.action === undefined)
    throw usageError(
      `--action: required for a pipeline token (one or more of ${PIPELINE_ACTIONS.join(", ")})`,
    );
}

function expiresInSeconds(text: string): number {
  const s = Math.round(parseDuration(text, "--expires-in") / 1000);
  if (s < MIN_EXPIRY_S || s > MAX_EXPIRY_S)
    throw usageError(`--expires-in: expected between 1m and 3650d, got "${text}"`);
  return s;
}

async function create(ctx: Ctx, o: CreateOpts): Promise<void> {
  checkKindFlags(ctx, o);
  const req: CreateTokenRequest = { name: o.name, kind: o.kind };
  if (o.expiresIn !== undefined) req.expires_in_s = expiresInSeconds(o.expiresIn);
  if (o.kind === "project") {
    req.role = o.role;
    if (ctx.project !== undefined) req.project = ctx.project;
  } else if (o.kind === "pipeline") {
    // Resolved here as every command does (--project, names across projects); the API gets the id.
    req.pipeline = (await ctx.pipeline(o.pipeline as string)).id;
    req.actions = o.action as CreateTokenRequest["actions"];
  } else if (o.kind === "worker" && o.pool !== undefined) {
    req.pool = o.pool;
  }
  const t = await ctx.client.createToken(req);
  ctx.emit(t, () => {
    ctx.out(
      `created ${t.id}  ${t.name}  ${t.kind}${t.project ? ` in ${t.project}` : ""}  ${access(t)}  expires ${expires(t)}`,
    );
    ctx.out(`token: ${t.token}`);
    ctx.err("this is the only time the token is shown: it will not be shown again, so store it now");
  });
}

async function revoke(ctx: Ctx, id: string): Promise<void> {
  await ctx.client.deleteToken(id);
  ctx.emit({ revoked: id }, () => ctx.out(`revoked ${id}`));
}

export function registerTokens(program: Command, makeCtx: CtxFactory): void {
  const cmd = program
    .command("tokens")
    .alias("token")
    .description("list, create and revoke API tokens (server admin, or a project admin for its project)");

  cmd
    .command("list")
    .alias("ls")
    .description("list tokens (never their secrets): id, name, kind, project, access, expiry, last use")
    .addHelpText(
      "after",
      "\nA project admin sees its project's tokens; the server admin sees all, or --project's.",
    )
    .action(action(makeCtx, list));

  cmd
    .command("create")
    .description("create a token and print its secret (shown this once)")
    .requiredOption("--name <name>", "a name to recognise it by (shown in the audit log)")
    .addOption(
      new Option("--kind <kind>", "project: a role in a project; pipeline: actions on one pipeline")
        .choices([...TOKEN_KINDS])
        .makeOptionMandatory(),
    )
    .addOption(new Option("--role <role>", "role of a project token").choices([...PROJECT_ROLES]))
    .option("--pipeline <pipeline>", "the pipeline of a pipeline token: id, project/name or name")
    .addOption(
      new Option(
        "--action <action>",
        "an action of a pipeline token (repeatable, or comma-separated)",
      ).argParser(collectActions),
    )
    .option("--pool <pool>", 'the worker pool of a worker token (default "default")')
    .option("--expires-in <duration>", "lifetime: 90m, 12h, 30d (default: no expiry)")
    .addHelpText(
      "after",
      `
Roles: viewer (read pipelines, status, logs, dead-letter metadata), editor (also change pipelines,
upload handlers, test, replay and purge, read dead-letter payloads), admin (also the project's
tokens and audit log). Pipeline token actions: ${PIPELINE_ACTIONS.join(", ")}.
A project token is made in --project (or WEIR_PROJECT), else in the caller's own project. Only the
server admin creates admin and worker tokens. With --json, prints the whole token, secret included.

Examples:
  weir tokens create --name ci --kind project --role editor --project team-a
  weir tokens create --name grafana --kind pipeline --pipeline team-a/otel-traces --action logs:read --expires-in 30d
  weir tokens create --name workers-eu --kind worker --pool eu`,
    )
    .action(action(makeCtx, create));

  cmd
    .command("revoke")
    .alias("rm")
    .description("revoke a token by id: it stops working at once")
    .argument("<id>", "token id (tok_...), as `weir tokens list` shows")
    .action(action(makeCtx, revoke));
}
