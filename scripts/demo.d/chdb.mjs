#!/usr/bin/env node
// The demo's window into the embedded ClickHouse engine (chdb). libchdb locks its data folder, so
// this runs only while no worker holds it: `init` before the worker starts, `report` after it stops.
//   node scripts/demo.d/chdb.mjs init <path> <ddl.sql>
//   node scripts/demo.d/chdb.mjs report <path>
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
// chdb is a dev dependency of @weir/connectors (it is ~550 MB and stays out of production installs).
const { Session } = createRequire(join(root, "packages/connectors/package.json"))("chdb");

const [cmd, path, ddl] = process.argv.slice(2);
const session = new Session(path);
try {
  if (cmd === "init") {
    const exists = session.query("EXISTS TABLE otel_traces_processed", "TSV").trim() === "1";
    if (!exists) session.query(readFileSync(ddl, "utf8"));
    console.log(
      exists
        ? "table otel_traces_processed already exists"
        : "created otel_traces_processed (the article's DDL)",
    );
  } else if (cmd === "report") {
    const q = (sql) => session.query(sql, "PrettyCompactMonoBlock");
    console.log("Rows stored, and rows after ReplacingMergeTree dedup (FINAL):");
    console.log(
      q(
        "SELECT count() AS rows, (SELECT count() FROM otel_traces_processed FINAL) AS rows_final, uniqExact(fingerprint) AS spans FROM otel_traces_processed",
      ),
    );
    console.log("Slowest operations by p95 (ms):");
    console.log(
      q(`SELECT service_name, span_name, count() AS spans, round(quantile(0.95)(duration_ms), 2) AS p95_ms,
                countIf(status_code = 'ERROR') AS errors
         FROM otel_traces_processed FINAL GROUP BY service_name, span_name ORDER BY p95_ms DESC LIMIT 8`),
    );
    console.log("A few rows, attributes as Map(String, String):");
    console.log(
      q(`SELECT timestamp, service_name, span_name, duration_ms, status_code, attributes['http.request.method'] AS method, attributes['http.response.status_code'] AS status, fingerprint
         FROM otel_traces_processed FINAL ORDER BY timestamp DESC LIMIT 5`),
    );
  } else {
    console.error("usage: chdb.mjs init <path> <ddl> | report <path>");
    process.exitCode = 2;
  }
} finally {
  session.cleanup?.();
}
