/**
 * `weir logs <pipeline>`: recent lines oldest first, filtered by minimum level and time; `-f` then
 * follows the live tail (server-sent events) until Ctrl-C, reconnecting if the API goes away.
 */
import { isLogLevel, LOG_LEVELS, type LogEntry, type LogLevel } from "@weir/core";
import { type Command, Option } from "commander";
import type { Ctx } from "../context.ts";
import { usageError } from "../errors.ts";
import { parsePositiveInt, parseTime } from "../input.ts";
import { isoTime } from "../output.ts";
import { action, type CtxFactory, sleep } from "./shared.ts";

interface LogsOptions {
  level?: string;
  since?: string;
  until?: string;
  limit?: string;
  follow?: boolean;
}

/** Give up following after this long without a working connection. */
const RECONNECT_GIVE_UP_MS = 30_000;

export function formatLog(e: LogEntry): string {
  const fields = e.fields && Object.keys(e.fields).length > 0 ? ` ${JSON.stringify(e.fields)}` : "";
  const where =
    e.topic !== undefined
      ? ` [${e.topic}/${e.partition ?? "?"}@${e.offset ?? "?"}${e.handler_version ? ` ${e.handler_version}` : ""}]`
      : "";
  return `${isoTime(e.time)} ${e.level.toUpperCase().padEnd(5)} ${e.source.padEnd(7)} ${e.message}${fields}${where}`;
}

/** Up to `limit` lines, newest first from the API, returned oldest first. */
async function history(
  ctx: Ctx,
  id: string,
  q: { level?: LogLevel; since?: number; until?: number; limit: number },
): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  let cursor: string | undefined;
  do {
    const page = await ctx.client.getLogs(id, {
      ...q,
      limit: Math.min(1000, q.limit - out.length),
      ...(cursor ? { cursor } : {}),
    });
    out.push(...page.items);
    cursor = page.next_cursor ?? undefined;
  } while (cursor && out.length < q.limit);
  return out.reverse();
}

async function logs(ctx: Ctx, ref: string, opts: LogsOptions): Promise<void> {
  if (opts.level !== undefined && !isLogLevel(opts.level)) {
    throw usageError(`--level: expected one of ${LOG_LEVELS.join(", ")}, got "${opts.level}"`);
  }
  const level = opts.level as LogLevel | undefined;
  const since = opts.since === undefined ? undefined : parseTime(opts.since, "--since");
  const until = opts.until === undefined ? undefined : parseTime(opts.until, "--until");
  if (opts.follow && until !== undefined) throw usageError("--until cannot be combined with --follow");
  const limit = parsePositiveInt(opts.limit ?? "100", "--limit");
  const p = await ctx.pipeline(ref);
  const print = (e: LogEntry) => ctx.out(ctx.json ? JSON.stringify(e) : formatLog(e));
  const filters = { ...(level ? { level } : {}), ...(since !== undefined ? { since } : {}) };

  if (!opts.follow) {
    const lines = await history(ctx, p.id, { ...filters, ...(until !== undefined ? { until } : {}), limit });
    for (const e of lines) print(e);
    if (lines.length === 0 && !ctx.json) ctx.err(`no log lines for ${p.name} matching the filters`);
    return;
  }

  const signal = ctx.signal;
  let seen = -1;
  let failingSince: number | undefined;
  while (!signal?.aborted) {
    // One connection per attempt; Ctrl-C (the run's signal) ends it too.
    const conn = new AbortController();
    const stop = () => conn.abort();
    signal?.addEventListener("abort", stop, { once: true });
    // After a reconnect the API resumes after the last id seen (the gap first, oldest first).
    const resume = seen >= 0 ? { afterId: seen } : {};
    const tail = ctx.client.tailLogs(p.id, { ...(level ? { level } : {}), ...resume, signal: conn.signal });
    // On the first connection, ask for the tail before reading the backlog, so lines stored in
    // between are not missed; ids seen in the backlog are skipped when the tail repeats them.
    const first = tail.next();
    first.catch(() => {});
    try {
      for (const e of seen >= 0 ? [] : await history(ctx, p.id, { ...filters, limit })) {
        if (e.id <= seen) continue;
        print(e);
        seen = e.id;
      }
      if (failingSince !== undefined) ctx.err("tail: reconnected");
      failingSince = undefined;
      for (let next = await first; !next.done; next = await tail.next()) {
        const e = next.value;
        if (e.id <= seen) continue;
        print(e);
        seen = e.id;
      }
      if (!signal?.aborted) ctx.err("tail: the API closed the stream; reconnecting");
    } catch (err) {
      if (signal?.aborted) break;
      failingSince ??= Date.now();
      if (Date.now() - failingSince > RECONNECT_GIVE_UP_MS) throw err;
      ctx.err(`tail: ${(err as Error).message}; reconnecting`);
    } finally {
      conn.abort();
      signal?.removeEventListener("abort", stop);
    }
    if (signal?.aborted) break;
    failingSince ??= Date.now();
    await sleep(1000, signal);
  }
}

export function registerLogs(program: Command, makeCtx: CtxFactory): void {
  program
    .command("logs")
    .description("print a pipeline's log lines (handler and worker), oldest first; -f follows")
    .argument("<pipeline>", "id or name")
    .addOption(new Option("--level <level>", "minimum level").choices([...LOG_LEVELS]))
    .option("--since <time>", "from this time: a duration ago (10m, 2h, 1d), an ISO time or epoch ms")
    .option("--until <time>", "up to this time (same forms as --since)")
    .option("--limit <n>", "the most recent n lines (default 100)")
    .option("-f, --follow", "after the recent lines, print new lines as they arrive until Ctrl-C")
    .addHelpText(
      "after",
      "\nWith --json, one JSON object per line (NDJSON), also while following.\n" +
        "Following reconnects when the API restarts and gives up (exit 5) after 30 s without it.",
    )
    .action(action(makeCtx, logs));
}
