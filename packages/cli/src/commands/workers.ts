/** `weir workers`: the workers the API has heard from, live or not, and their assigned pipelines. */
import type { Command } from "commander";
import type { Ctx } from "../context.ts";
import { isoTime, table } from "../output.ts";
import { action, type CtxFactory } from "./shared.ts";

async function list(ctx: Ctx): Promise<void> {
  const { items } = await ctx.client.listWorkers();
  ctx.emit(items, () => {
    if (items.length === 0) return ctx.out("no workers have polled this API");
    ctx.out(
      table(
        ["WORKER", "POOL", "LIVE", "PIPELINES", "LAST_SEEN", "STARTED"],
        items.map((w) => [
          w.id,
          w.pool ?? "-",
          w.live ? "yes" : "no",
          String(w.pipelines),
          isoTime(w.last_seen),
          w.started_at ? isoTime(w.started_at) : "-",
        ]),
      ),
    );
  });
}

export function registerWorkers(program: Command, makeCtx: CtxFactory): void {
  program
    .command("workers")
    .description(
      "list workers: pool, liveness (placement counts live ones) and assigned pipelines (server admin)",
    )
    .action(action(makeCtx, list));
}
