/** `weir wait <pipeline> --rows N`: poll status until enough rows were written, or time out. */
import type { Command } from "commander";
import type { Ctx } from "../context.ts";
import { CliError, EXIT, usageError } from "../errors.ts";
import { parseDuration, parsePositiveInt } from "../input.ts";
import { count } from "../output.ts";
import { action, type CtxFactory, sleep } from "./shared.ts";

interface WaitOptions {
  rows?: string;
  timeout: string;
  interval?: string;
}

async function wait(ctx: Ctx, ref: string, opts: WaitOptions): Promise<void> {
  if (opts.rows === undefined) throw usageError("--rows <n> is required");
  const target = parsePositiveInt(opts.rows, "--rows", 0);
  const timeoutMs = parseDuration(opts.timeout, "--timeout");
  const intervalMs = opts.interval === undefined ? ctx.pollMs : parseDuration(opts.interval, "--interval");
  const p = await ctx.pipeline(ref);
  const progress = ctx.progress();
  const started = Date.now();
  for (;;) {
    const s = await ctx.client.getPipelineStatus(p.id);
    const rows = s.counters.rows_out;
    const lag = s.lag.reduce((n, l) => n + l.lag, 0);
    const elapsed = ((Date.now() - started) / 1000).toFixed(0);
    const pct = target > 0 ? ` (${Math.min(100, Math.floor((rows / target) * 100))}%)` : "";
    progress.update(
      `${p.name}: ${count(rows)}/${count(target)} rows${pct}, lag ${count(lag)}, ${s.state}, ${s.workers.length} worker(s), ${elapsed}s`,
    );
    if (rows >= target) {
      progress.done();
      const result = { pipeline: p.id, rows_out: rows, target, elapsed_ms: Date.now() - started };
      ctx.emit(result, () => ctx.out(`${p.name}: ${count(rows)} rows out (wanted ${count(target)})`));
      return;
    }
    if (ctx.signal?.aborted) {
      progress.done();
      throw new CliError(EXIT.INTERRUPTED, "INTERRUPTED", `stopped at ${count(rows)}/${count(target)} rows`);
    }
    if (Date.now() - started >= timeoutMs) {
      progress.done();
      throw new CliError(
        EXIT.TIMEOUT,
        "TIMEOUT",
        `${p.name}: ${count(rows)}/${count(target)} rows after ${opts.timeout} (state ${s.state}, ${s.workers.length} worker(s), lag ${count(lag)})`,
        { rows_out: rows, target },
      );
    }
    await sleep(Math.min(intervalMs, Math.max(0, started + timeoutMs - Date.now())), ctx.signal);
  }
}

export function registerWait(program: Command, makeCtx: CtxFactory): void {
  program
    .command("wait")
    .description("wait until a pipeline has written at least --rows rows (counters.rows_out)")
    .argument("<pipeline>", "id or name")
    .option("--rows <n>", "rows written to reach")
    .option("--timeout <duration>", "give up after this long (exit 6)", "60s")
    .option("--interval <duration>", "status poll interval (default 1s)")
    .addHelpText(
      "after",
      "\nrows_out sums the counters of live workers since they started. Progress goes to stderr\n" +
        "(on a terminal, or with --progress). Exits 0 when reached, 6 on timeout.",
    )
    .action(action(makeCtx, wait));
}
