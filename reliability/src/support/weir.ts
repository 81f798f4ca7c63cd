/**
 * Weir as an operator runs it: a real API process, real worker processes, pipelines created and
 * handlers uploaded through the SDK; plus what a scenario watches from outside (RSS, committed
 * offsets, DLQ records).
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { PipelineView } from "@weir/core";
import { type PipelineSpecInput, WeirClient } from "@weir/sdk";
import { type ApiProcess, type AppProcess, startApi, startWorker, uniqueName } from "@weir/testing";
import { Kafka, logLevel } from "kafkajs";

const root = resolve(fileURLToPath(import.meta.url), "../../../..");

/** The otel-traces example handler's entry, bundled (with ../shared) and uploaded as a user would. */
export const OTEL_HANDLER_ENTRY = resolve(root, "functions/otel-traces/index.ts");

export class Weir {
  readonly workers: AppProcess[] = [];

  readonly api: ApiProcess;
  readonly client: WeirClient;
  private constructor(api: ApiProcess, client: WeirClient) {
    this.api = api;
    this.client = client;
  }

  static async start(): Promise<Weir> {
    const api = await startApi();
    return new Weir(api, new WeirClient({ baseUrl: api.url, token: api.adminToken }));
  }

  /** A worker process with a short session timeout, so a killed member's partitions move quickly. */
  worker(env: Record<string, string> = {}): AppProcess {
    const w = startWorker(this.api, { WEIR_WORKER_SESSION_TIMEOUT_MS: "6000", ...env });
    this.workers.push(w);
    return w;
  }

  /** A ClickHouse pipeline running the otel-traces handler (legacy table flavor). */
  async tracesPipeline(o: {
    brokers: string[];
    topic: string;
    clickhouseUrl: string;
    table: string;
    retry?: PipelineSpecInput["retry"];
    sink?: Record<string, unknown>;
  }): Promise<PipelineView> {
    const p = await this.client.createPipeline({
      name: uniqueName("faults").replaceAll("_", "-"),
      source: { type: "kafka", config: { bootstrap_servers: o.brokers.join(","), topic: o.topic } },
      sink: {
        type: "clickhouse",
        config: {
          url: o.clickhouseUrl,
          table: o.table,
          max_batch_rows: 2000,
          max_batch_wait_ms: 300,
          ...o.sink,
        },
      },
      env: { WEIR_TABLE_FLAVOR: "legacy" },
      retry: o.retry ?? { max_attempts: 30, initial_backoff_ms: 100, max_backoff_ms: 2000 },
    });
    await this.client.deployHandler(p.id, OTEL_HANDLER_ENTRY);
    return p;
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.workers.map((w) => w.kill("SIGKILL")));
    await this.api.kill("SIGTERM");
  }
}

/** Resident set size of a process now (kB from /proc), 0 once it is gone. */
export function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Math.round(Number(m[1]) / 1024) : 0;
  } catch {
    return 0;
  }
}

/** Samples a process's RSS every 200 ms; `peak` is the highest seen. */
export class RssSampler {
  peak = 0;
  private readonly timer: NodeJS.Timeout;

  private readonly pid: number;
  constructor(pid: number) {
    this.pid = pid;
    this.timer = setInterval(() => {
      this.peak = Math.max(this.peak, rssMb(this.pid));
    }, 200);
    this.peak = rssMb(pid);
  }

  stop(): number {
    clearInterval(this.timer);
    return this.peak;
  }
}

/** Sum of committed offsets of `group` on `topic` (messages whose results are in the sink or the DLQ). */
export async function committedTotal(brokers: string[], group: string, topic: string): Promise<number> {
  const admin = new Kafka({ clientId: "weir-faults-admin", brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    return offsets[0]!.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
  } finally {
    await admin.disconnect();
  }
}

/** DLQ records of a pipeline, through the API (what an operator sees). */
export async function dlqCount(client: WeirClient, id: string): Promise<number> {
  return (await client.listDlq(id, { limit: 1000 })).items.length;
}
