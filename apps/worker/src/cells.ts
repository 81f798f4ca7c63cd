/**
 * The supervisor's handle on one cell process: fork with the worker's node flags and 'advanced'
 * serialization, send it its pipelines, keep its latest report, kill it. A cell's pipelines carry
 * no state across a restart: the fresh cell resumes from the committed offsets.
 */
import { type ChildProcess, fork } from "node:child_process";
import { readFileSync } from "node:fs";
import { setPriority } from "node:os";
import { fileURLToPath } from "node:url";
import type { DesiredPipeline, EgressLists, LogRecord } from "@weir/core";
import type { Eviction, FromCell, PoisonEntry, ToCell } from "./cell/protocol.ts";

const ENTRY = fileURLToPath(new URL("./cell/main.ts", import.meta.url));

export type CellReport = Extract<FromCell, { type: "report" }>;

export interface CellEvents {
  onLogs(pipeline: string, records: LogRecord[], dropped: number): void;
  onExit(cell: Cell, code: number | null, signal: NodeJS.Signals | null): void;
}

export class Cell {
  readonly id: string;
  readonly cordoned: boolean;
  readonly proc: ChildProcess;
  readonly startedAt = Date.now();
  /** Pipelines sent last, by id. */
  pipelines = new Map<string, DesiredPipeline>();
  last: CellReport | null = null;
  lastReportAt = Date.now();
  /** Why the supervisor killed it (null: it died by itself). */
  killedFor: string | null = null;
  exited = false;
  readonly exit: Promise<void>;

  constructor(id: string, cordoned: boolean, env: Record<string, string>, nice: number, events: CellEvents) {
    this.id = id;
    this.cordoned = cordoned;
    this.proc = fork(ENTRY, [], {
      // WEIR_CELL_NODE_FLAGS: extra node flags for diagnosis, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
      execArgv: [
        "--no-node-snapshot",
        "--max-semi-space-size=16",
        ...(process.env.WEIR_CELL_NODE_FLAGS?.split(" ").filter(Boolean) ?? []),
      ],
      env: { ...process.env, ...env, WEIR_CELL_ID: id, NODE_OPTIONS: "" },
      serialization: "advanced",
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    try {
      if (this.proc.pid) setPriority(this.proc.pid, nice);
    } catch {
      // not permitted here: the cell runs at the supervisor's priority
    }
    this.proc.on("message", (m: FromCell) => {
      this.lastReportAt = Date.now();
      if (m.type === "report") this.last = m;
      else if (m.type === "logs") events.onLogs(m.pipeline, m.records, m.dropped);
    });
    this.proc.on("error", () => undefined);
    this.exit = new Promise((done) =>
      this.proc.once("exit", (code, signal) => {
        this.exited = true;
        events.onExit(this, code, signal);
        done();
      }),
    );
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  send(msg: ToCell): void {
    if (this.exited || !this.proc.connected) return;
    this.proc.send(msg, (err) => void err);
  }

  assign(
    pipelines: DesiredPipeline[],
    poison: PoisonEntry[],
    evict: Eviction[] = [],
    egress?: EgressLists,
  ): void {
    this.pipelines = new Map(pipelines.map((p) => [p.id, p]));
    this.send({ type: "desired", pipelines, poison, evict, egress });
  }

  kill(reason: string): void {
    if (this.exited) return;
    this.killedFor ??= reason;
    this.proc.kill("SIGKILL");
  }

  /** Resident set size in bytes from /proc (a hung cell cannot misreport it), 0 if unknown. */
  rss(): number {
    try {
      const status = readFileSync(`/proc/${this.proc.pid}/status`, "utf8");
      const m = /VmRSS:\s+(\d+) kB/.exec(status);
      return m ? Number(m[1]) * 1024 : 0;
    } catch {
      return 0;
    }
  }
}
