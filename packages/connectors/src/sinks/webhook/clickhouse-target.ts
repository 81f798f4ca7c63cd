/**
 * Recognising a webhook aimed at ClickHouse's HTTP interface (`?query=INSERT INTO db.t FORMAT ...`)
 * so the sink can give it the same startup check as the clickhouse sink: the table must exist.
 */
import { WeirError } from "@weir/core";
import type { Dispatcher } from "undici";
import { excerpt, messageOf, parseClickHouseCode, sinkError } from "../classify.ts";
import { literal } from "../clickhouse/probe.ts";
import { egressError, isRedirect, redirectError, type WebhookResponse, webhookFetch } from "./http.ts";

export interface ClickHouseTarget {
  /** The webhook URL without its `query` parameter (credentials and settings kept). */
  base: URL;
  database: string;
  table: string;
  /** Headers for probe queries: the webhook's, minus those that shape an INSERT body. */
  headers: Record<string, string>;
}

const NAME = String.raw`(?:\x60[^\x60]+\x60|"[^"]+"|[A-Za-z_][\w$]*)`;
const INSERT_RE = new RegExp(String.raw`^\s*INSERT\s+INTO\s+(?:TABLE\s+)?(${NAME})(?:\.(${NAME}))?`, "i");

function unquote(name: string): string {
  return /^[`"]/.test(name) ? name.slice(1, -1) : name;
}

/** The ClickHouse table a webhook URL inserts into, or undefined for any other receiver. */
export function clickHouseTarget(url: string, headers: Record<string, string>): ClickHouseTarget | undefined {
  const u = new URL(url);
  const query = u.searchParams.get("query");
  const m = query ? INSERT_RE.exec(query) : null;
  if (!m?.[1]) return undefined;
  const base = new URL(u);
  base.searchParams.delete("query");
  const probeHeaders: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (k !== "content-type" && k !== "x-clickhouse-format") probeHeaders[k] = v;
  }
  const defaultDb = u.searchParams.get("database") ?? headers["x-clickhouse-database"] ?? "default";
  return m[2]
    ? { base, database: unquote(m[1]), table: unquote(m[2]), headers: probeHeaders }
    : { base, database: defaultDb, table: unquote(m[1]), headers: probeHeaders };
}

/**
 * Check the server answers and the table exists; throws SINK_SCHEMA naming it, or a classified error.
 * `dispatcher`: the sink's (guarded) connection pool, when it has one.
 */
export async function probeClickHouseTarget(
  t: ClickHouseTarget,
  timeoutMs: number,
  dispatcher?: Dispatcher,
): Promise<{ version: string; table: string }> {
  const name = `${t.database}.${t.table}`;
  const sql = `SELECT version(), (SELECT count() FROM system.tables WHERE database = ${literal(t.database)} AND name = ${literal(t.table)}) FORMAT TabSeparated`;
  let res: WebhookResponse;
  try {
    res = await webhookFetch(
      t.base,
      { method: "POST", headers: t.headers, body: sql, signal: AbortSignal.timeout(timeoutMs) },
      dispatcher,
    );
  } catch (err) {
    throw (
      egressError("startup check", t.base.host, err) ??
      sinkError(`cannot reach ClickHouse at ${t.base.host}: ${messageOf(err)}`, {}, { cause: err })
    );
  }
  if (isRedirect(res)) {
    await res.body?.cancel().catch(() => undefined);
    throw redirectError("startup check", t.base.host, res);
  }
  const text = await res.text();
  if (!res.ok) {
    const code = parseClickHouseCode(text, res.headers.get("x-clickhouse-exception-code"));
    throw sinkError(`ClickHouse at ${t.base.host} refused the startup check: ${excerpt(text, 500)}`, {
      status: res.status,
      code,
    });
  }
  const [version = "unknown", count = "0"] = text.trim().split("\t");
  if (count === "0") {
    throw new WeirError(
      "SINK_SCHEMA",
      `table ${name} does not exist; create it before starting the pipeline`,
      {
        details: { database: t.database, table: t.table },
      },
    );
  }
  return { version, table: name };
}
