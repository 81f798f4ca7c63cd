/** `weir dlq ...`: list, show, replay and purge a pipeline's dead letters. */
import type { DlqRecord } from "@weir/core";
import type { Command } from "commander";
import type { Ctx } from "../context.ts";
import { usageError } from "../errors.ts";
import { parsePositiveInt } from "../input.ts";
import { clip, isoTime, table } from "../output.ts";
import { action, type CtxFactory } from "./shared.ts";

function value(r: DlqRecord): string {
  if (r.value === null) return "(null)";
  if (r.encoding === "base64") return `(base64) ${r.value}`;
  try {
    return JSON.stringify(JSON.parse(r.value), null, 2);
  } catch {
    return r.value;
  }
}

async function list(ctx: Ctx, ref: string, opts: { limit?: string }): Promise<void> {
  const limit = opts.limit === undefined ? 100 : parsePositiveInt(opts.limit, "--limit");
  const p = await ctx.pipeline(ref);
  const page = await ctx.client.listDlq(p.id, { limit });
  ctx.emit(page, () => {
    if (page.items.length === 0) return ctx.out(`no dead letters for ${p.name} (topic ${page.topic})`);
    ctx.out(
      table(
        ["ID", "STAGE", "SOURCE", "ATTEMPTS", "VERSION", "FAILED_AT", "ERROR"],
        page.items.map((r) => [
          r.id,
          r.stage,
          `${r.source.topic}/${r.source.partition}@${r.source.offset}`,
          String(r.attempts),
          r.handler_version ?? "-",
          isoTime(r.failed_at),
          clip(`${r.error.code}: ${r.error.message}`, 80),
        ]),
      ),
    );
    if (page.truncated) ctx.err(`showing the first ${page.items.length}; pass --limit for more`);
  });
}

async function show(ctx: Ctx, ref: string, id: string): Promise<void> {
  const p = await ctx.pipeline(ref);
  const r = await ctx.client.getDlqRecord(p.id, id);
  ctx.emit(r, () => {
    ctx.out(`id         ${r.id}`);
    ctx.out(`source     ${r.source.topic}/${r.source.partition}@${r.source.offset}`);
    ctx.out(`stage      ${r.stage}, ${r.attempts} attempt(s), handler ${r.handler_version ?? "-"}`);
    ctx.out(`failed at  ${isoTime(r.failed_at)}`);
    ctx.out(`error      ${r.error.code}: ${r.error.message}`);
    if (r.error.stack) ctx.out(r.error.stack.replace(/^/gm, "  "));
    if (r.key !== null) ctx.out(`key        ${r.key}`);
    for (const [k, v] of Object.entries(r.headers)) ctx.out(`header     ${k}: ${v}`);
    ctx.out("value");
    ctx.out(value(r));
  });
}

async function replay(ctx: Ctx, ref: string, ids: string[], opts: { all?: boolean }): Promise<void> {
  if (opts.all && ids.length > 0) throw usageError("pass record ids or --all, not both");
  if (!opts.all && ids.length === 0) throw usageError("pass record ids (<partition>-<offset>) or --all");
  for (const id of ids)
    if (!/^\d+-\d+$/.test(id)) throw usageError(`record id "${id}": expected <partition>-<offset>`);
  const p = await ctx.pipeline(ref);
  const progress = ctx.progress();
  progress.update(`replaying ${opts.all ? "every dead letter" : `${ids.length} record(s)`} of ${p.name}...`);
  const res = await ctx.client.replayDlq(p.id, opts.all ? "all" : ids);
  progress.done();
  ctx.emit(res, () => ctx.out(`replayed ${res.replayed} record(s) to ${res.topic}`));
}

async function purge(ctx: Ctx, ref: string): Promise<void> {
  const p = await ctx.pipeline(ref);
  const res = await ctx.client.purgeDlq(p.id);
  ctx.emit(res, () => ctx.out(`purged ${res.purged} record(s) of ${p.name} from ${res.topic}`));
}

export function registerDlq(program: Command, makeCtx: CtxFactory): void {
  const cmd = program.command("dlq").description("inspect and replay a pipeline's dead letters");

  cmd
    .command("list")
    .alias("ls")
    .description("dead letters of a pipeline, oldest first")
    .argument("<pipeline>", "id or name")
    .option("--limit <n>", "at most n records (default 100, max 1000)")
    .action(action(makeCtx, list));

  cmd
    .command("show")
    .description("one dead letter: source, stage, error with stack, headers and the original value")
    .argument("<pipeline>", "id or name")
    .argument("<id>", "record id, <partition>-<offset> as listed")
    .action(action(makeCtx, show));

  cmd
    .command("replay")
    .description("produce dead letters back to the source topic (after fixing the handler or sink)")
    .argument("<pipeline>", "id or name")
    .argument("[ids...]", "record ids, <partition>-<offset>")
    .option("--all", "every dead letter of the pipeline")
    .action(action(makeCtx, replay));

  cmd
    .command("purge")
    .description("hide every current dead letter of the pipeline from list and replay")
    .argument("<pipeline>", "id or name")
    .action(action(makeCtx, purge));
}
