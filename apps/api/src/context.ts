/** What every route plugin gets: config, database, secret box, log writer, metrics, placer. */
import type { Db } from "@weir/db";
import type { Env } from "./env.ts";
import type { ReportHistory } from "./history.ts";
import type { LogWriter } from "./log-writer.ts";
import type { ApiMetrics } from "./metrics.ts";
import type { Placer } from "./placement.ts";
import type { SecretBox } from "./secrets.ts";

export interface AppContext {
  env: Env;
  db: Db;
  box: SecretBox;
  logs: LogWriter;
  metrics: ApiMetrics;
  /** Assigns pipelines to live workers (see placement.ts). */
  placer: Placer;
  /** Rolling history of worker reports per pipeline, for the console's charts (history.ts). */
  history: ReportHistory;
}
