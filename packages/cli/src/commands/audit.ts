/**
 * `weir audit`: the audit log, oldest first. Every change made through the API (pipeline create,
 * update, delete, pause, resume; handler upload and rollback; DLQ replay and purge; token create and
 * revoke; project create and delete) with who did it, on what, and the pipeline's revision before
 * and after. Project admins read their project's; the server admin every project's, or --project's.
 */
import type { AuditEntry } from "@weir/core";
import type { Command } from "commander";
import type { Ctx } from "../context.ts";
import { EXIT, exitCodeFor } from "../errors.ts";
import { parsePositiveInt } from "../input.ts";
import { isoTime, table } from "../output.ts";
import { action, type CtxFactory } from "./shared.ts";

interface AuditOpts {
  pipeline?: string;
  limit?: string;
  after?: string;
}

/** "1->2"; a create is "->1", a delete "3->"; "-" when no pipeline revision is involved. */
function revisions(e: AuditEntry): string {
  if (e.revision_before === null && e.revision_after === null) return "-";
  return `${e.revision_before ?? ""}->${e.revision_after ?? ""}`;
}

/**
 * The id to filter by. A deleted pipeline can no longer be looked up, so an id-shaped reference
 * that is not found is used as is (its history stays in the log).
 */
async function pipelineId(ctx: Ctx, ref: string): Promise<string> {
  try {
    return (await ctx.pipeline(ref)).id;
  } catch (err) {
    if (exitCodeFor(err) === EXIT.NOT_FOUND && /^pl_[0-9a-f]+$/.test(ref)) return ref;
    throw err;
  }
}

async function audit(ctx: Ctx, o: AuditOpts): Promise<void> {
  const limit = o.limit === undefined ? undefined : parsePositiveInt(o.limit, "--limit");
  const after = o.after === undefined ? undefined : parsePositiveInt(o.after, "--after", 0);
  const page = await ctx.client.listAudit({
    ...ctx.projectQuery(),
    ...(o.pipeline !== undefined ? { pipeline_id: await pipelineId(ctx, o.pipeline) } : {}),
    ...(limit !== undefined ? { limit } : {}),
    ...(after !== undefined ? { after } : {}),
  });
  ctx.emit(page, () => {
    if (page.items.length === 0) return ctx.out("no audit entries");
    ctx.out(
      table(
        ["TIME", "PROJECT", "WHO", "ACTION", "TARGET", "REV"],
        page.items.map((e) => [
          isoTime(e.time),
          e.project ?? "-",
          e.token_name ?? e.token_id ?? "-",
          e.action,
          e.target ?? "-",
          revisions(e),
        ]),
      ),
    );
    if (page.next_after !== null) ctx.err(`more entries: pass --after ${page.next_after}`);
  });
}

export function registerAudit(program: Command, makeCtx: CtxFactory): void {
  program
    .command("audit")
    .description("the audit log, oldest first: time, project, who (token name), action, target, revisions")
    .option("--pipeline <pipeline>", "only this pipeline's entries: id, project/name or name")
    .option("--limit <n>", "at most n entries (default 100, max 1000)")
    .option("--after <id>", "entries after this one (the id --json shows; printed when there are more)")
    .addHelpText(
      "after",
      `
A project admin reads its project's log (--project may only name it); the server admin reads
every project's, or --project's. REV is the pipeline's revision before->after the change.
With --json, prints {items, next_after}; each item has the token's id and name and the HTTP status.

Examples:
  weir audit --project team-a
  weir audit --pipeline team-a/otel-traces --limit 20
  weir audit --after 120 --json`,
    )
    .action(action(makeCtx, audit));
}
