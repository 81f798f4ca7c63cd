/**
 * ClickHouse sink over HTTP (@clickhouse/client). One INSERT per batch, the sandbox's output streamed
 * as the request body untouched (no per-row work on the host): FORMAT RowBinary when the table's
 * columns allow it (`format: auto`, see planFormat; the sandbox then encodes rows for the column list
 * fixed at connect, which the INSERT names), else FORMAT JSONEachRow from NDJSON chunks. When the
 * server has `insert_deduplication_token`, every insert carries the batch's token so a replay after
 * a crash is dropped by a deduplicating table. Under an egress policy the client gets
 * an HTTP agent whose every socket passes the guard (the address checked as it connects).
 */
import { Readable } from "node:stream";
import {
  type ClickHouseClient,
  ClickHouseLogLevel,
  type ClickHouseSettings,
  createClient,
} from "@clickhouse/client";
import { type ClickHouseSinkConfig, isWeirError, type RowBinaryColumn, reveal, WeirError } from "@weir/core";
import { egressGuard, egressRefusal } from "../../egress/guard.ts";
import { guardedHttpAgent } from "../../egress/http.ts";
import { excerpt, messageOf, parseClickHouseCode, sinkError } from "../classify.ts";
import {
  isEmptyBatch,
  type Sink,
  type SinkBatch,
  type SinkCapabilities,
  type SinkContext,
} from "../types.ts";
import {
  checkTable,
  describeTable,
  detectServer,
  type InsertPlan,
  ident,
  insertableColumns,
  planFormat,
  planInserts,
  type RunQuery,
  type TableInfo,
} from "./probe.ts";

/** @clickhouse/client's default `max_open_connections`, kept for the guarded agent. */
const MAX_OPEN_CONNECTIONS = 10;

/** Codes that mean "the rows do not fit the table": the error then lists the table's columns. */
const SCHEMA_MISMATCH_CODES = new Set([6, 16, 26, 27, 38, 41, 53, 70, 72, 117]);

export class ClickHouseSink implements Sink {
  readonly type = "clickhouse";
  readonly capabilities: SinkCapabilities = { dedupToken: false, notes: [] };
  private readonly client: ClickHouseClient;
  private readonly name: string;
  private plan: InsertPlan | undefined;
  private table: TableInfo | undefined;
  /** RowBinary inserts for these columns (set by connect), else JSONEachRow. */
  rowBinaryColumns: RowBinaryColumn[] | undefined;
  private closed = false;

  private readonly config: ClickHouseSinkConfig;
  private readonly ctx: SinkContext;
  constructor(config: ClickHouseSinkConfig, ctx: SinkContext) {
    this.config = config;
    this.ctx = ctx;
    this.name = `${config.database}.${config.table}`;
    this.client = createClient({
      url: config.url,
      username: config.username,
      password: reveal(config.password) ?? "",
      database: config.database,
      request_timeout: config.request_timeout_ms,
      // Old servers (18.x) reject settings they do not know, so the client sends none by default.
      clickhouse_settings: {},
      application: `weir/${ctx.pipelineId}`,
      // Every failure reaches the caller as a classified WeirError; the client's own console logging
      // would only duplicate it outside the pipeline's logs.
      log: { level: ClickHouseLogLevel.OFF },
      ...(ctx.egress
        ? {
            http_agent: guardedHttpAgent(
              egressGuard(ctx.egress),
              new URL(config.url).protocol,
              MAX_OPEN_CONNECTIONS,
            ),
          }
        : {}),
    });
  }

  async connect(): Promise<void> {
    const run: RunQuery = async (sql) => {
      const rs = await this.client.query({ query: sql, format: "JSONEachRow" });
      return rs.json<Record<string, unknown>>();
    };
    try {
      const server = await detectServer(run);
      const { database, table } = this.config;
      this.table = checkTable(await describeTable(run, database, table), database, table);
      this.plan = planInserts(server, this.table, this.name);
      const requested = this.config.format ?? "auto";
      const format = planFormat(requested, server, this.table);
      if (requested === "RowBinary" && format.format !== "RowBinary") {
        throw new WeirError(
          "SINK_SCHEMA",
          `table ${this.name} cannot take RowBinary inserts (format: RowBinary): ${format.reason}; use format: auto or JSONEachRow`,
          { details: { table: this.name } },
        );
      }
      this.rowBinaryColumns = format.format === "RowBinary" ? format.columns : undefined;
      this.capabilities.dedupToken = this.plan.tableDeduplicates;
      this.capabilities.notes = this.plan.notes;
      this.ctx.logger?.("info", `clickhouse sink connected to ${this.name} on ClickHouse ${server.version}`, {
        version: server.version,
        format: format.format,
        engine: this.table.engine,
        insert_deduplication_token: this.plan.sendToken,
        table_deduplicates: this.plan.tableDeduplicates,
      });
      for (const note of this.plan.notes) this.ctx.logger?.("warn", note, { table: this.name });
      if (format.format === "JSONEachRow" && format.reason)
        this.ctx.logger?.("info", `clickhouse sink inserts JSONEachRow, not RowBinary: ${format.reason}`, {
          table: this.name,
        });
    } catch (err) {
      const refused = this.refused("connect", err);
      if (refused) throw refused;
      if (isWeirError(err)) throw err;
      throw this.clientError(`cannot connect to ClickHouse at ${this.config.url}`, err);
    }
  }

  async healthcheck(): Promise<void> {
    const r = await this.client.ping();
    if (!r.success)
      throw (
        this.refused("healthcheck", r.error) ??
        sinkError(`ClickHouse at ${this.config.url} is unreachable`, {}, { cause: r.error })
      );
  }

  async write(batch: SinkBatch): Promise<void> {
    if (isEmptyBatch(batch)) return;
    if (!this.plan)
      throw new WeirError("SINK_RETRYABLE", "clickhouse sink used before connect()", { retryable: true });
    const settings: Record<string, string | number> = {
      ...this.plan.settings,
      ...this.config.insert_settings,
    };
    if (this.plan.sendToken) settings.insert_deduplication_token = batch.dedupToken;
    const context = { table: this.name, dedup_token: batch.dedupToken, rows: batch.rowCount };
    const table = `${ident(this.config.database)}.${ident(this.config.table)}`;
    let query = `INSERT INTO ${table} FORMAT JSONEachRow`;
    let values: Readable;
    if (batch.rowBinary && batch.rowBinary.length > 0) {
      // The sandbox encoded these rows for rowBinaryColumns: naming them keeps a column added since
      // connect at its default, as a key missing from a JSONEachRow row would be.
      const columns = this.rowBinaryColumns;
      if (!columns || batch.chunks.some((c) => c.length > 0))
        throw new WeirError(
          "SINK_PERMANENT",
          `insert into ${this.name}: ${columns ? "a batch mixes RowBinary and NDJSON rows" : "RowBinary rows for a sink that inserts JSONEachRow"}`,
          { retryable: false, details: context },
        );
      query = `INSERT INTO ${table} (${columns.map((c) => ident(c.name)).join(", ")}) FORMAT RowBinary`;
      values = Readable.from(
        batch.rowBinary.filter((p) => p.length > 0),
        { objectMode: false },
      );
    } else {
      values = Readable.from(ndjsonPieces(batch.chunks), { objectMode: false });
    }
    let status: number | undefined;
    let body: string;
    let header: string | undefined;
    try {
      const res = await this.client.exec({
        query,
        values,
        clickhouse_settings: settings as ClickHouseSettings,
        // We read the status and body ourselves: the client drops the HTTP status of an error.
        ignore_error_response: true,
      });
      status = res.http_status_code;
      header = firstHeader(res.response_headers["x-clickhouse-exception-code"]);
      body = await readText(res.stream);
    } catch (err) {
      throw (
        this.refused(`insert into ${this.name}`, err, context) ??
        this.clientError(`insert into ${this.name} failed`, err, context)
      );
    }
    if (status !== undefined && status >= 200 && status < 300 && header === undefined) return;
    const code = parseClickHouseCode(body, header);
    throw sinkError(
      `insert into ${this.name} failed: ${excerpt(body)}${this.columnsHint(code)}`,
      { code, status },
      {
        details: {
          ...context,
          ...(code !== undefined && SCHEMA_MISMATCH_CODES.has(code) ? this.columnDetails() : {}),
        },
      },
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.client.close();
  }

  /** A connection the egress policy refused (`EGRESS_DENIED`, retryable), when `err` is one. */
  private refused(what: string, err: unknown, details: Record<string, unknown> = {}): WeirError | undefined {
    const r = egressRefusal(err);
    if (!r) return undefined;
    return new WeirError("EGRESS_DENIED", `clickhouse ${what} (${this.config.url}): ${r.message}`, {
      retryable: true,
      details: { ...details, ...r.details },
      cause: err,
    });
  }

  /** A failure of the client itself (network, timeout) or one it parsed from the server. */
  private clientError(message: string, err: unknown, details: Record<string, unknown> = {}): WeirError {
    const text = messageOf(err);
    const code = (err as { code?: unknown }).code;
    const chCode = typeof code === "string" && /^\d+$/.test(code) ? Number(code) : parseClickHouseCode(text);
    return sinkError(`${message}: ${excerpt(text)}`, { code: chCode }, { cause: err, details });
  }

  private columnsHint(code: number | undefined): string {
    if (code === undefined || !SCHEMA_MISMATCH_CODES.has(code) || !this.table) return "";
    const cols = insertableColumns(this.table).map((c) => `${c.name} ${c.type}`);
    return ` [table ${this.name} columns: ${cols.join(", ")}]`;
  }

  private columnDetails(): Record<string, unknown> {
    return this.table ? { columns: insertableColumns(this.table).map((c) => `${c.name} ${c.type}`) } : {};
  }
}

/** The chunks as one NDJSON stream: chunk, newline, chunk, newline... (rows are never re-parsed). */
function* ndjsonPieces(chunks: string[]): Generator<string> {
  for (const c of chunks) {
    if (c.length === 0) continue;
    yield c;
    yield "\n";
  }
}

function firstHeader(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

async function readText(stream: NodeJS.ReadableStream): Promise<string> {
  let out = "";
  for await (const chunk of stream)
    out += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
  return out;
}
