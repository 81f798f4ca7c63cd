/** What every route plugin gets: config, database, secret box, log writer, metrics. */
import type { Db } from "@weir/db";
import type { Env } from "./env.ts";
import type { LogWriter } from "./log-writer.ts";
import type { ApiMetrics } from "./metrics.ts";
import type { SecretBox } from "./secrets.ts";

export interface AppContext {
  env: Env;
  db: Db;
  box: SecretBox;
  logs: LogWriter;
  metrics: ApiMetrics;
}
