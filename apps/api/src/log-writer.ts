/**
 * Buffered writes of pipeline log lines. Workers' batches are queued in memory and committed in
 * one SQLite transaction every `flushMs` or `flushLines`, with retention pruning in the same
 * transaction, so a chatty handler costs one write per interval instead of one per line. The
 * buffer is bounded: past `maxBuffer` lines are dropped and the drop is itself logged as a line.
 * Committed lines are fanned out to live tails (SSE).
 */
import { EventEmitter } from "node:events";
import { LOG_LEVEL_RANK, type LogRecord, REDACTED, redact } from "@weir/core";
import { type Db, insertLogs, type LogRow, type NewLogRow, type Retention } from "@weir/db";
import type { FastifyBaseLogger } from "fastify";

export interface LogWriterOptions {
  retention: Retention;
  flushMs: number;
  flushLines: number;
  maxBuffer: number;
}

export class LogWriter {
  private buffer: NewLogRow[] = [];
  private readonly dropped = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;
  private readonly events = new EventEmitter();

  private readonly db: Db;
  private readonly opts: LogWriterOptions;
  private readonly log: FastifyBaseLogger;
  private readonly secretsOf: (pipelineId: string) => string[];
  private readonly onCount: (outcome: "stored" | "dropped", n: number) => void;
  constructor(
    db: Db,
    opts: LogWriterOptions,
    log: FastifyBaseLogger,
    /** Plain secret values of a pipeline, scrubbed from every line before it is stored. */
    secretsOf: (pipelineId: string) => string[],
    onCount: (outcome: "stored" | "dropped", n: number) => void = () => {},
  ) {
    this.db = db;
    this.opts = opts;
    this.log = log;
    this.secretsOf = secretsOf;
    this.onCount = onCount;
    this.timer = setInterval(() => this.flush(), opts.flushMs);
    this.timer.unref();
    this.events.setMaxListeners(0);
  }

  /** Queue lines of one pipeline; `dropped` are lines the worker already dropped. */
  enqueue(
    pipelineId: string,
    records: LogRecord[],
    extra: { workerId?: string; dropped?: number } = {},
  ): number {
    const secrets = this.secretsOf(pipelineId);
    let accepted = 0;
    for (const r of records) {
      if (this.buffer.length >= this.opts.maxBuffer) break;
      this.buffer.push(toRow(pipelineId, r, secrets, extra.workerId));
      accepted++;
    }
    const lost = records.length - accepted + (extra.dropped ?? 0);
    if (lost > 0) this.dropped.set(pipelineId, (this.dropped.get(pipelineId) ?? 0) + lost);
    if (records.length - accepted > 0) this.onCount("dropped", records.length - accepted);
    if (this.buffer.length >= this.opts.flushLines) this.flush();
    return accepted;
  }

  /** Commit everything buffered. Synchronous: better-sqlite3 is, and it keeps ordering simple. */
  flush(): void {
    for (const [pipelineId, n] of this.dropped) {
      this.buffer.push({
        pipelineId,
        time: Date.now(),
        level: "warn",
        levelRank: LOG_LEVEL_RANK.warn,
        message: `${n} log lines dropped (rate limit or buffer full)`,
        fieldsJson: JSON.stringify({ dropped: n }),
        source: "worker",
      });
    }
    this.dropped.clear();
    if (this.buffer.length === 0) return;
    const batch = this.buffer;
    this.buffer = [];
    let stored: LogRow[];
    try {
      stored = insertLogs(this.db, batch, this.opts.retention);
    } catch (err) {
      this.log.error({ err, lines: batch.length }, "writing pipeline logs failed; lines dropped");
      this.onCount("dropped", batch.length);
      return;
    }
    this.onCount("stored", stored.length);
    for (const row of stored) this.events.emit(row.pipelineId, row);
  }

  /** Live lines of a pipeline as they are committed. Returns the unsubscribe function. */
  subscribe(pipelineId: string, fn: (row: LogRow) => void): () => void {
    this.events.on(pipelineId, fn);
    return () => this.events.off(pipelineId, fn);
  }

  close(): void {
    clearInterval(this.timer);
    this.flush();
  }
}

function scrub(text: string, secrets: string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4 && out.includes(s)) out = out.split(s).join(REDACTED);
  return out;
}

function toRow(pipelineId: string, r: LogRecord, secrets: string[], workerId?: string): NewLogRow {
  const level = r.level in LOG_LEVEL_RANK ? r.level : "info";
  const fields = r.fields === undefined ? null : scrub(JSON.stringify(redact(r.fields)), secrets);
  return {
    pipelineId,
    time: Number.isFinite(r.time) ? r.time : Date.now(),
    level,
    levelRank: LOG_LEVEL_RANK[level],
    message: scrub(String(r.message), secrets),
    fieldsJson: fields,
    source: r.source === "handler" ? "handler" : "worker",
    topic: r.topic ?? null,
    partition: r.partition ?? null,
    offset: r.offset ?? null,
    handlerVersion: r.handler_version ?? null,
    workerId: r.worker_id ?? workerId ?? null,
  };
}

/** The stored row as the API shows it. */
export function toLogEntry(row: LogRow): LogRecord & { id: number } {
  const out: LogRecord & { id: number } = {
    id: row.id,
    time: row.time,
    level: row.level as LogRecord["level"],
    message: row.message,
    source: row.source as LogRecord["source"],
  };
  if (row.fieldsJson !== null) out.fields = JSON.parse(row.fieldsJson);
  if (row.topic !== null) out.topic = row.topic;
  if (row.partition !== null) out.partition = row.partition;
  if (row.offset !== null) out.offset = row.offset;
  if (row.handlerVersion !== null) out.handler_version = row.handlerVersion;
  if (row.workerId !== null) out.worker_id = row.workerId;
  return out;
}
