/** `weir test <pipeline> <sample>`: run sample events through the handler in the API's sandbox. */
import type { TestRunResponse } from "@weir/core";
import type { Command } from "commander";
import type { Ctx } from "../context.ts";
import { EXIT, usageError } from "../errors.ts";
import { parsePositiveInt, readEvents } from "../input.ts";
import { millis } from "../output.ts";
import { action, type CtxFactory } from "./shared.ts";

/** The API takes at most this many events per request; bigger files go in several requests. */
const MAX_EVENTS_PER_REQUEST = 1000;

type Result = TestRunResponse["results"][number];

interface TestOptions {
  version?: string;
  topic?: string;
  rows: boolean;
  maxRows?: string;
  last?: string;
}

/** One event's outcome as `weir test` and `weir dev` print it. */
export function printResult(ctx: Ctx, r: Result, maxRows: number): void {
  const from = r.source ? ` (partition ${r.source.partition} offset ${r.source.offset})` : "";
  const head = `#${r.index}${from} ${r.ok ? "ok" : "FAILED"}  ${r.row_count} row${r.row_count === 1 ? "" : "s"}  ${millis(r.duration_ms)}`;
  ctx.out(head);
  for (const l of r.logs) {
    const fields = l.fields && Object.keys(l.fields).length > 0 ? ` ${JSON.stringify(l.fields)}` : "";
    ctx.out(`  log ${l.level}: ${l.message}${fields}`);
  }
  if (r.error) {
    ctx.out(`  error ${r.error.code}: ${r.error.message}`);
    const frames = (r.error.stack ?? "").split("\n").filter((s) => /^\s+at /.test(s));
    for (const f of frames.slice(0, 5)) ctx.out(`    ${f.trim()}`);
  }
  for (const row of r.rows.slice(0, maxRows)) ctx.out(`  row ${JSON.stringify(row)}`);
  if (r.rows.length > maxRows) ctx.out(`  ... ${r.rows.length - maxRows} more rows`);
}

async function test(ctx: Ctx, ref: string, file: string | undefined, opts: TestOptions): Promise<void> {
  const version = opts.version === undefined ? undefined : parsePositiveInt(opts.version, "--version");
  const maxRows = opts.maxRows === undefined ? 20 : parsePositiveInt(opts.maxRows, "--max-rows", 0);
  const last = opts.last === undefined ? undefined : parsePositiveInt(opts.last, "--last");
  if ((file === undefined) === (last === undefined))
    throw usageError(
      "give a <sample> file or --last <n> (the newest n messages of the source topic), not both",
    );
  if (last !== undefined && last > 100) throw usageError("--last: at most 100 messages");
  const events = file === undefined ? [] : readEvents(ctx.cwd, file);
  const p = await ctx.pipeline(ref);
  const progress = ctx.progress();
  const merged: TestRunResponse = { pipeline_id: p.id, version: 0, results: [], total_duration_ms: 0 };
  if (last !== undefined) {
    progress.update(`testing ${p.name} on the newest ${last} messages of its source topic`);
    const res = await ctx.client.testRunOnSource(p.id, last, version !== undefined ? { version } : {});
    Object.assign(merged, { version: res.version, total_duration_ms: res.total_duration_ms });
    merged.results.push(...res.results);
  }
  for (let start = 0; start < events.length; start += MAX_EVENTS_PER_REQUEST) {
    progress.update(`testing ${p.name}: ${start}/${events.length} events`);
    const chunk = events.slice(start, start + MAX_EVENTS_PER_REQUEST);
    const res = await ctx.client.testRun(p.id, chunk, {
      ...(version !== undefined ? { version } : {}),
      ...(opts.topic ? { topic: opts.topic } : {}),
    });
    merged.version = res.version;
    merged.total_duration_ms += res.total_duration_ms;
    merged.results.push(...res.results.map((r) => ({ ...r, index: r.index + start })));
  }
  progress.done();
  const failed = merged.results.filter((r) => !r.ok);
  const rows = merged.results.reduce((n, r) => n + r.row_count, 0);
  if (failed.length > 0) ctx.exitCode = EXIT.FAILED;
  ctx.emit(merged, () => {
    for (const r of merged.results) printResult(ctx, r, opts.rows ? maxRows : 0);
    ctx.out(
      `${merged.results.length} events with version ${merged.version}: ${merged.results.length - failed.length} ok, ${failed.length} failed, ${rows} rows, ${millis(merged.total_duration_ms)}`,
    );
  });
  if (failed.length > 0) ctx.err(`error: ${failed.length} of ${merged.results.length} events failed`);
}

export function registerTest(program: Command, makeCtx: CtxFactory): void {
  program
    .command("test")
    .description("run sample events through a handler version in the sandbox (no Kafka, no sink)")
    .argument("<pipeline>", "id or name")
    .argument("[sample]", "a .json file (an array of events, or one event) or .ndjson (one event per line)")
    .option(
      "--last <n>",
      "instead of a file: the newest n (<= 100) messages of the source topic, read without committing",
    )
    .option("--version <n>", "handler version to test (default: the current one)")
    .option("--topic <name>", "topic name passed to the handler's log tags")
    .option("--no-rows", "do not print rows, only counts, logs and errors")
    .option("--max-rows <n>", "rows printed per event (default 20)")
    .addHelpText(
      "after",
      "\nPrints rows, log lines, per-event errors and timings. Exits 1 if any event failed.\n" +
        "Examples:\n  weir test my-pipeline samples.json\n  weir test my-pipeline --last 10",
    )
    .action(action(makeCtx, test));
}
