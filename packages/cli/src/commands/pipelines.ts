/** `weir pipelines ...`: list, get, create, apply, update, delete, pause, resume, status. */
import { isWeirError, type PipelineStatus, type PipelineView } from "@weir/core";
import type { PipelineSpecInput } from "@weir/sdk";
import { type Command, Option } from "commander";
import { stringify as toYaml } from "yaml";
import type { Ctx } from "../context.ts";
import { CliError, EXIT } from "../errors.ts";
import { readSpecFile } from "../input.ts";
import { clip, count, isoTime, table } from "../output.ts";
import { action, type CtxFactory } from "./shared.ts";

const fileOption = () => new Option("-f, --file <path>", "pipeline spec, YAML or JSON").makeOptionMandatory();

function versionLabel(p: PipelineView): string {
  return p.current_version ? `v${p.current_version.version}` : "-";
}

function summary(p: PipelineView): string {
  return `${p.id}  ${p.name}  revision ${p.revision}  handler ${versionLabel(p)}  ${p.status.state}`;
}

function readSpec(ctx: Ctx, file: string): PipelineSpecInput {
  return readSpecFile(ctx.cwd, file) as unknown as PipelineSpecInput;
}

function printStatus(ctx: Ctx, p: PipelineView, s: PipelineStatus): void {
  const c = s.counters;
  const totalLag = s.lag.reduce((n, l) => n + l.lag, 0);
  ctx.out(`pipeline   ${p.name} (${p.id})`);
  ctx.out(`state      ${s.state} (desired ${s.desired}), revision ${s.revision}`);
  ctx.out(
    `handler    ${p.current_version ? `v${p.current_version.version} sha256 ${p.current_version.sha256.slice(0, 12)}` : "none uploaded"}`,
  );
  ctx.out(`last error ${s.last_error ? `${s.last_error.code}: ${clip(s.last_error.message, 200)}` : "-"}`);
  ctx.out("");
  ctx.out(
    table(
      ["MESSAGES_IN", "ROWS_OUT", "DROPPED", "FAILED", "DLQ", "RETRIES"],
      [[c.messages_in, c.rows_out, c.dropped, c.failed, c.dlq, c.retries].map(count)],
    ),
  );
  ctx.out("");
  if (s.lag.length === 0) ctx.out("lag: no partitions reported");
  else {
    ctx.out(`lag: ${count(totalLag)} total`);
    ctx.out(
      table(
        ["TOPIC", "PARTITION", "COMMITTED", "HIGH_WATERMARK", "LAG"],
        s.lag.map((l) => [l.topic, String(l.partition), l.committed ?? "-", l.high_watermark, count(l.lag)]),
      ),
    );
  }
  ctx.out("");
  if (s.workers.length === 0) ctx.out("workers: none reporting");
  else {
    ctx.out(
      table(
        ["WORKER", "STATE", "REVISION", "HANDLER_VERSION", "REPORTED_AT"],
        s.workers.map((w) => [
          w.worker_id,
          w.state,
          String(w.revision),
          w.handler_version ?? "-",
          isoTime(w.reported_at),
        ]),
      ),
    );
  }
  const pl = s.placement;
  if (pl) {
    ctx.out("");
    const on = pl.workers.map((w) => `${w.worker_id} (since ${isoTime(w.since)})`).join(", ");
    ctx.out(
      `placement  pool ${pl.pool}, replicas ${pl.replicas}${pl.replicas === "auto" ? ` (${pl.partitions ?? "?"} partitions)` : ""}: ${on || (pl.reason ?? "none")}`,
    );
    if (pl.history.length > 0)
      ctx.out(
        table(
          ["CHANGED_AT", "WORKERS", "REASON"],
          pl.history.map((h) => [isoTime(h.at), h.workers.join(",") || "-", h.reason]),
        ),
      );
  }
}

async function list(ctx: Ctx): Promise<void> {
  const items = await ctx.client.listAllPipelines(200, ctx.project);
  ctx.emit(items, () => {
    if (items.length === 0) return ctx.out("no pipelines");
    ctx.out(
      table(
        ["ID", "PROJECT", "NAME", "STATE", "HANDLER", "REVISION", "UPDATED"],
        items.map((p) => [
          p.id,
          p.project,
          p.name,
          p.status.state,
          versionLabel(p),
          String(p.revision),
          isoTime(p.updated_at),
        ]),
      ),
    );
  });
}

async function get(ctx: Ctx, ref: string): Promise<void> {
  const p = await ctx.pipeline(ref);
  ctx.emit(p, () => {
    ctx.out(`# ${summary(p)}`);
    ctx.out("# spec with defaults; secrets show as [redacted] and keep their value when applied back");
    ctx.out(toYaml(p.spec).trimEnd());
  });
}

async function apply(ctx: Ctx, opts: { file: string }): Promise<void> {
  const spec = readSpec(ctx, opts.file);
  if (typeof spec.name !== "string" || spec.name === "") {
    throw new CliError(EXIT.USAGE, "USAGE", `${opts.file}: the spec needs a "name" to apply by name`);
  }
  // The name in the project a create would use: --project, else the token's own (API's default).
  const project = ctx.project;
  const found = await ctx.client
    .getPipeline(project ? `${project}/${spec.name}` : spec.name)
    .catch((err) => (isWeirError(err) && err.code === "NOT_FOUND" ? undefined : Promise.reject(err)));
  const existing = found?.name === spec.name ? found : undefined;
  const p = existing
    ? await ctx.client.updatePipeline(existing.id, spec)
    : await ctx.client.createPipeline(spec, ctx.projectQuery());
  const verb = existing ? "updated" : "created";
  ctx.emit({ action: verb, pipeline: p }, () => ctx.out(`${verb} ${summary(p)}`));
}

export function registerPipelines(program: Command, makeCtx: CtxFactory): void {
  const cmd = program
    .command("pipelines")
    .alias("pipeline")
    .description("create, change and inspect pipelines (referenced by id, project/name or name)");

  cmd
    .command("list")
    .alias("ls")
    .description("list pipelines: id, project, name, state, handler version, revision (--project narrows)")
    .action(action(makeCtx, list));

  cmd
    .command("get")
    .description("show one pipeline: its spec as YAML (with --json, the whole view)")
    .argument("<pipeline>", "id or name")
    .action(action(makeCtx, get));

  cmd
    .command("create")
    .description("create a pipeline from a spec file (fails with CONFLICT if the name is taken)")
    .addOption(fileOption())
    .action(
      action(makeCtx, async (ctx, opts: { file: string }) => {
        const p = await ctx.client.createPipeline(readSpec(ctx, opts.file), ctx.projectQuery());
        ctx.emit(p, () => ctx.out(`created ${summary(p)}`));
      }),
    );

  cmd
    .command("apply")
    .description("create the pipeline named in the file, or replace the spec of the existing one")
    .addOption(fileOption())
    .addHelpText(
      "after",
      "\nThe pipeline is looked up and created in --project (or WEIR_PROJECT), else in the token's own\n" +
        "project (the server admin's: default). With --json, prints {action: created|updated, pipeline}.",
    )
    .action(action(makeCtx, apply));

  cmd
    .command("update")
    .description('replace the spec of a pipeline ("[redacted]" secrets keep their stored value)')
    .argument("<pipeline>", "id or name")
    .addOption(fileOption())
    .action(
      action(makeCtx, async (ctx, ref: string, opts: { file: string }) => {
        const spec = readSpec(ctx, opts.file);
        const p = await ctx.client.updatePipeline((await ctx.pipeline(ref)).id, spec);
        ctx.emit(p, () => ctx.out(`updated ${summary(p)}`));
      }),
    );

  cmd
    .command("delete")
    .alias("rm")
    .description("delete a pipeline, its handler versions and logs (workers stop it)")
    .argument("<pipeline>", "id or name")
    .action(
      action(makeCtx, async (ctx, ref: string) => {
        const p = await ctx.pipeline(ref);
        await ctx.client.deletePipeline(p.id);
        ctx.emit({ deleted: p.id, name: p.name }, () => ctx.out(`deleted ${p.id} ${p.name}`));
      }),
    );

  for (const verb of ["pause", "resume"] as const) {
    cmd
      .command(verb)
      .description(
        verb === "pause"
          ? "stop consuming (workers finish in-flight batches and commit)"
          : "start consuming again from the committed offsets",
      )
      .argument("<pipeline>", "id or name")
      .action(
        action(makeCtx, async (ctx, ref: string) => {
          const id = (await ctx.pipeline(ref)).id;
          const p =
            verb === "pause" ? await ctx.client.pausePipeline(id) : await ctx.client.resumePipeline(id);
          ctx.emit(p, () => ctx.out(`${verb}d ${p.id} ${p.name} (desired ${p.status.desired})`));
        }),
      );
  }

  cmd
    .command("status")
    .description("state, last error, counters, per-partition lag and workers of a pipeline")
    .argument("<pipeline>", "id or name")
    .action(
      action(makeCtx, async (ctx, ref: string) => {
        const p = await ctx.pipeline(ref);
        const s = await ctx.client.getPipelineStatus(p.id);
        ctx.emit(s, () => printStatus(ctx, p, s));
      }),
    );
}
