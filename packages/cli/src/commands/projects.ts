/**
 * `weir projects ...`: list, create and delete projects. Every pipeline belongs to one project; the
 * server admin creates and deletes them, a project token lists only its own.
 */
import type { Command } from "commander";
import type { Ctx } from "../context.ts";
import { isProjectName } from "../context.ts";
import { usageError } from "../errors.ts";
import { isoTime, table } from "../output.ts";
import { action, type CtxFactory } from "./shared.ts";

function checkName(name: string): string {
  if (!isProjectName(name))
    throw usageError(`<name>: expected lower-case letters, digits and "-" (at most 64), got "${name}"`);
  return name;
}

async function list(ctx: Ctx): Promise<void> {
  const { items } = await ctx.client.listProjects();
  ctx.emit(items, () => {
    if (items.length === 0) return ctx.out("no projects");
    ctx.out(
      table(
        ["ID", "NAME", "CREATED"],
        items.map((p) => [p.id, p.name, isoTime(p.created_at)]),
      ),
    );
  });
}

async function create(ctx: Ctx, name: string): Promise<void> {
  const p = await ctx.client.createProject({ name: checkName(name) });
  ctx.emit(p, () => ctx.out(`created project ${p.name} (${p.id})`));
}

async function remove(ctx: Ctx, name: string): Promise<void> {
  await ctx.client.deleteProject(checkName(name));
  ctx.emit({ deleted: name }, () => ctx.out(`deleted project ${name}`));
}

export function registerProjects(program: Command, makeCtx: CtxFactory): void {
  const cmd = program
    .command("projects")
    .alias("project")
    .description("list, create and delete projects (create and delete: the server admin token only)");

  cmd
    .command("list")
    .alias("ls")
    .description("list projects: every project for the server admin, its own for a project token")
    .action(action(makeCtx, list));

  cmd
    .command("create")
    .description("create a project (server admin)")
    .argument("<name>", 'lower-case letters, digits and "-"')
    .addHelpText(
      "after",
      "\nExamples:\n  weir projects create team-a\n" +
        "  weir tokens create --name team-a-admin --kind project --role admin --project team-a",
    )
    .action(action(makeCtx, create));

  cmd
    .command("delete")
    .alias("rm")
    .description("delete an empty project and its tokens (server admin; CONFLICT while it has pipelines)")
    .argument("<name>", "project name")
    .addHelpText("after", '\nThe "default" project cannot be deleted.')
    .action(action(makeCtx, remove));
}
