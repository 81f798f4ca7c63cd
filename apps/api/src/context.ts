/** What every route plugin gets: config, database, secret box, log writer, metrics. */
import type { Db } from "@weir/db";
import type { Env } from "./env.js";
import type { LogWriter } from "./log-writer.js";
import type { ApiMetrics } from "./metrics.js";
import type { SecretBox } from "./secrets.js";

export interface AppContext {
  env: Env;
  db: Db;
  box: SecretBox;
  logs: LogWriter;
  metrics: ApiMetrics;
}
