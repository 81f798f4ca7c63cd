/**
 * Embedded ClickHouse sink (chdb: ClickHouse 26.x in-process) for local runs with no server. Same
 * probes, settings and classification as the server sink; the NDJSON body goes to the engine as one
 * Buffer (chdb's raw insert: the engine parses it, JS never does).
 *
 * chdb is an optional peer dependency (~550 MB), loaded with a dynamic import only here. libchdb
 * binds one data directory per process: every embedded sink in a worker must share one `path`.
 */
import { mkdir } from "node:fs/promises";
import { type EmbeddedClickHouseSinkConfig, isWeirError, WeirError } from "@weir/core";
import { excerpt, messageOf, sinkError } from "../classify.ts";
import {
  checkTable,
  describeTable,
  detectServer,
  type InsertPlan,
  insertableColumns,
  planInserts,
  type RunQuery,
  type TableInfo,
} from "../clickhouse/probe.ts";
import {
  isEmptyBatch,
  ndjsonBody,
  type Sink,
  type SinkBatch,
  type SinkCapabilities,
  type SinkContext,
} from "../types.ts";

type Chdb = typeof import("chdb");
type Session = InstanceType<Chdb["Session"]>;

/** chdb's insert refuses anything but `[A-Za-z0-9_]` segments, so names are checked up front. */
const SIMPLE_NAME = /^[A-Za-z0-9_]+$/;

async function loadChdb(): Promise<Chdb> {
  try {
    return await import("chdb");
  } catch (err) {
    throw new WeirError(
      "SINK_PERMANENT",
      `the embedded-clickhouse sink needs the optional package "chdb" (npm i chdb): ${messageOf(err)}`,
      { cause: err },
    );
  }
}

export class EmbeddedClickHouseSink implements Sink {
  readonly type = "embedded-clickhouse";
  readonly capabilities: SinkCapabilities = { dedupToken: false, notes: [] };
  private session: Session | undefined;
  private plan: InsertPlan | undefined;
  private table: TableInfo | undefined;
  private readonly name: string;

  private readonly config: EmbeddedClickHouseSinkConfig;
  private readonly ctx: SinkContext;
  constructor(config: EmbeddedClickHouseSinkConfig, ctx: SinkContext) {
    this.config = config;
    this.ctx = ctx;
    this.name = `${config.database}.${config.table}`;
  }

  async connect(): Promise<void> {
    const { database, table } = this.config;
    if (!SIMPLE_NAME.test(database) || !SIMPLE_NAME.test(table)) {
      throw new WeirError("SINK_SCHEMA", `embedded table name ${this.name} must be [A-Za-z0-9_] segments`, {
        details: { database, table },
      });
    }
    const chdb = await loadChdb();
    try {
      await mkdir(this.config.path, { recursive: true });
      this.session ??= new chdb.Session(this.config.path);
      const session = this.session;
      const run: RunQuery = async (sql) => {
        const text = (await session.queryAsync(sql, { format: "JSONEachRow" })).text();
        return text
          .split("\n")
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Record<string, unknown>);
      };
      const server = await detectServer(run);
      this.table = checkTable(await describeTable(run, database, table), database, table);
      this.plan = planInserts(server, this.table, this.name);
      this.capabilities.dedupToken = this.plan.tableDeduplicates;
      this.capabilities.notes = this.plan.notes;
      this.ctx.logger?.(
        "info",
        `embedded clickhouse ${server.version} at ${this.config.path}, table ${this.name}`,
        {
          engine: this.table.engine,
          table_deduplicates: this.plan.tableDeduplicates,
        },
      );
      for (const note of this.plan.notes) this.ctx.logger?.("warn", note, { table: this.name });
    } catch (err) {
      if (isWeirError(err)) throw err;
      throw this.engineError(`embedded clickhouse at ${this.config.path} failed to start`, err);
    }
  }

  async healthcheck(): Promise<void> {
    if (!this.session?.open) throw sinkError("embedded clickhouse session is not open", {});
    await this.session.queryAsync("SELECT 1").catch((err: unknown) => {
      throw this.engineError("embedded clickhouse healthcheck failed", err);
    });
  }

  async write(batch: SinkBatch): Promise<void> {
    if (isEmptyBatch(batch)) return;
    const session = this.session;
    if (!session?.open || !this.plan) {
      throw new WeirError(
        "SINK_RETRYABLE",
        "embedded clickhouse sink used before connect() or after close()",
        {
          retryable: true,
        },
      );
    }
    const settings: Record<string, string | number> = { ...this.plan.settings };
    if (this.plan.sendToken) settings.insert_deduplication_token = batch.dedupToken;
    try {
      await session.insert({
        table: this.name,
        values: Buffer.from(ndjsonBody(batch)),
        format: "JSONEachRow",
        settings,
      });
    } catch (err) {
      throw this.engineError(`insert into ${this.name} failed`, err, {
        dedup_token: batch.dedupToken,
        rows: batch.rowCount,
        ...(this.table ? { columns: insertableColumns(this.table).map((c) => `${c.name} ${c.type}`) } : {}),
      });
    }
  }

  async close(): Promise<void> {
    this.session?.close(); // idempotent in chdb
    this.session = undefined;
  }

  /** chdb errors carry the ClickHouse code; without one (closed session, abort) the engine may recover. */
  private engineError(message: string, err: unknown, details: Record<string, unknown> = {}): WeirError {
    const code = (err as { clickhouseCode?: unknown }).clickhouseCode;
    return sinkError(
      `${message}: ${excerpt(messageOf(err))}`,
      { code: typeof code === "number" ? code : undefined },
      { cause: err, details },
    );
  }
}
