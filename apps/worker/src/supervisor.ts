/**
 * The worker's supervisor: runs no user code. It polls the API's desired state, places running
 * and paused pipelines into cells (child processes, see cells.ts), watches them (watchdog.ts),
 * kills and restarts them, keeps the poison list, and reports the cells' aggregated status to the
 * API exactly as the single-process worker did.
 */
import type {
  Counters,
  DesiredPipeline,
  DesiredState,
  EgressLists,
  LogBatch,
  PipelineReport,
  SerializedError,
  WorkerReport,
} from "@weir/core";
import { ZERO_COUNTERS } from "@weir/core";
import type { Logger } from "pino";
import type { Eviction, PoisonEntry } from "./cell/protocol.ts";
import { Cell } from "./cells.ts";
import { type CgroupSupport, placeCell, removeCellGroup } from "./cgroup.ts";
import type { WorkerEnv } from "./env.ts";
import type { LogShipper } from "./logs.ts";
import { Placement } from "./placement.ts";
import type { SupervisorMetrics } from "./supervisor-metrics.ts";
import { inspect, rssBudget, type Verdict, type WatchdogSettings } from "./watchdog.ts";

/** The slice of the API a worker talks to (the SDK's worker methods). */
export interface ApiLink {
  /**
   * Desired state when it changed since `since`; null when the revision did not move; `{unchanged}`
   * when the revision moved (other workers' changes) but this worker's pipelines did not.
   */
  desiredState(since: number | null): Promise<DesiredState | { unchanged: number } | null>;
  postStatus(report: WorkerReport): Promise<void>;
  postLogs(batch: LogBatch): Promise<void>;
  /** Tell the API this worker is going, after its last report, so its pipelines move now. */
  leave?(): Promise<void>;
}

export interface SupervisorOptions extends WatchdogSettings {
  workerId: string;
  pollMs: number;
  reportMs: number;
  cellSize: number;
  maxCells: number;
  maxCrashes: number;
  drainMs: number;
  cellNice: number;
  cordonNice: number;
  cgroup: CgroupSupport;
  /** The cells' Kafka session timeout: how long a killed cell's group members are worth evicting. */
  sessionTimeoutMs: number;
}

/** Why a pipeline is not moving, shown in its report until it moves again. */
interface Incident {
  stalled: boolean;
  error: SerializedError;
  at: number;
}

const key = (p: { pipeline: string; topic: string; partition: number; offset: string }) =>
  `${p.pipeline}/${p.topic}/${p.partition}/${p.offset}`;

export class Supervisor {
  private desired = new Map<string, DesiredPipeline>();
  private readonly cells = new Map<string, Cell>();
  private readonly placement: Placement;
  private readonly poison = new Map<string, PoisonEntry>();
  /**
   * Group members of cells that died or were killed, per pipeline, until their session would have
   * timed out anyway: the pipeline's next cell evicts them before joining, so it gets their
   * partitions now (a SIGKILLed consumer sends no LeaveGroup).
   */
  private readonly evictions = new Map<string, { memberIds: Set<string>; until: number }>();
  private readonly crashes = new Map<string, number>();
  private readonly incidents = new Map<string, Incident>();
  /** Counters of pipelines from cells that ended: reports stay cumulative since the worker started. */
  private readonly carried = new Map<string, Counters>();
  /** Consecutive crashes per cell id, for the restart backoff. */
  private readonly backoff = new Map<string, { failures: number; notBefore: number }>();
  private revision: number | null = null;
  /** The API's egress lists, passed to every cell (runners check their destinations before connecting). */
  private egress: EgressLists = { allow: [], deny: [] };
  private readonly startedAt = Date.now();
  private timers: NodeJS.Timeout[] = [];
  private polling = false;
  private stopping = false;

  private readonly api: ApiLink;
  private readonly logs: LogShipper;
  private readonly metrics: SupervisorMetrics;
  private readonly opts: SupervisorOptions;
  private readonly log: Logger;
  constructor(
    api: ApiLink,
    logs: LogShipper,
    metrics: SupervisorMetrics,
    opts: SupervisorOptions,
    log: Logger,
  ) {
    this.api = api;
    this.logs = logs;
    this.metrics = metrics;
    this.opts = opts;
    this.log = log;
    this.placement = new Placement(opts.cellSize, opts.maxCells);
  }

  start(): void {
    this.timers = [
      setInterval(() => void this.poll(), this.opts.pollMs),
      setInterval(() => void this.report(), this.opts.reportMs),
      setInterval(() => this.watch(), 250),
    ];
    void this.poll();
  }

  /** Fetch desired state once and reconcile; errors are logged and retried on the next tick. */
  async poll(): Promise<void> {
    if (this.polling || this.stopping) return;
    this.polling = true;
    try {
      const desired = await this.api.desiredState(this.revision);
      if (desired && "unchanged" in desired) this.revision = desired.unchanged;
      else if (desired) {
        this.desired = new Map(desired.pipelines.map((p) => [p.id, p]));
        for (const id of [...this.carried.keys()]) if (!this.desired.has(id)) this.carried.delete(id);
        const egress = desired.egress ?? { allow: [], deny: [] };
        const policyChanged = JSON.stringify(egress) !== JSON.stringify(this.egress);
        if (policyChanged) {
          this.egress = egress;
          this.log.info({ egress }, "egress policy changed; cells recheck their pipelines");
        }
        this.reconcile(policyChanged);
        this.revision = desired.revision;
      }
    } catch (err) {
      this.log.warn({ err }, "desired state unavailable; keeping the current pipelines");
    } finally {
      this.polling = false;
    }
  }

  /** Make the cells match the placement: assign, start (after backoff) and stop cells. `all`: reassign every cell. */
  private reconcile(all = false): void {
    if (this.stopping) return;
    const plan = this.placement.assign([...this.desired.values()]);
    for (const [id, pipelines] of plan) {
      const cell = this.cells.get(id);
      if (cell) {
        if (all || changed(cell.pipelines, pipelines))
          cell.assign(pipelines, this.poisonFor(pipelines), this.evictionsFor(pipelines), this.egress);
        continue;
      }
      const b = this.backoff.get(id);
      if (b && Date.now() < b.notBefore) continue;
      this.spawn(id, pipelines);
    }
    for (const [id, cell] of this.cells) {
      if (plan.has(id) || cell.killedFor) continue;
      // Emptied: drain what it ran, then it exits; the watchdog's control bound covers a hang.
      cell.assign([], []);
      cell.send({ type: "stop" });
      setTimeout(() => cell.kill("emptied"), this.opts.controlMs).unref();
    }
  }

  private spawn(id: string, pipelines: DesiredPipeline[]): void {
    const cordoned = id.startsWith("cordon-");
    const nice = cordoned ? this.opts.cordonNice : this.opts.cellNice;
    const cell = new Cell(id, cordoned, { WEIR_WORKER_ID: this.opts.workerId }, nice, {
      onLogs: (pipeline, records, dropped) => this.logs.push(pipeline, records, dropped),
      onExit: (c, code, signal) => this.onExit(c, code, signal),
    });
    this.cells.set(id, cell);
    cell.assign(pipelines, this.poisonFor(pipelines), this.evictionsFor(pipelines), this.egress);
    if (cell.pid) {
      placeCell(this.opts.cgroup, id, cell.pid, cordoned ? 20 : 100, rssBudget(this.opts, pipelines));
    }
    this.metrics.cellStarts.inc({ cordoned: String(cordoned) });
    this.log.info({ cell: id, pid: cell.pid, pipelines: pipelines.map((p) => p.id), nice }, "cell started");
  }

  private poisonFor(pipelines: DesiredPipeline[]): PoisonEntry[] {
    const ids = new Set(pipelines.map((p) => p.id));
    return [...this.poison.values()].filter((p) => ids.has(p.pipeline));
  }

  private evictionsFor(pipelines: DesiredPipeline[]): Eviction[] {
    const now = Date.now();
    for (const [id, e] of this.evictions) if (e.until < now) this.evictions.delete(id);
    return pipelines.flatMap((p) => {
      const e = this.evictions.get(p.id);
      return e ? [{ pipeline: p.id, memberIds: [...e.memberIds] }] : [];
    });
  }

  private onExit(cell: Cell, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.cells.get(cell.id) === cell) this.cells.delete(cell.id);
    if (code !== 0 || signal) {
      // It left no LeaveGroup behind (a clean exit has left its groups already).
      const until = Date.now() + this.opts.sessionTimeoutMs * 2;
      for (const m of cell.last?.members ?? []) {
        const e = this.evictions.get(m.pipeline) ?? { memberIds: new Set<string>(), until };
        e.memberIds.add(m.memberId);
        e.until = until;
        this.evictions.set(m.pipeline, e);
      }
    }
    removeCellGroup(this.opts.cgroup, cell.id);
    for (const r of cell.last?.pipelines ?? []) {
      this.carried.set(r.pipeline_id, addCounters(this.carried.get(r.pipeline_id), r.counters));
    }
    if (this.stopping) return;
    const how = signal ? `signal ${signal}` : `exit code ${code}`;
    if (!cell.killedFor && cell.pipelines.size > 0) {
      // Died by itself: every message in flight is a suspect; one that keeps killing cells is poison.
      const b = this.backoff.get(cell.id) ?? { failures: 0, notBefore: 0 };
      b.failures = Date.now() - cell.startedAt > 60_000 ? 1 : b.failures + 1;
      b.notBefore = Date.now() + Math.min(30_000, 250 * 2 ** (b.failures - 1));
      this.backoff.set(cell.id, b);
      this.metrics.cellKills.inc({ reason: "crash" });
      this.log.error({ cell: cell.id, code, signal }, "cell died");
      for (const call of cell.last?.inflight ?? []) {
        const n = (this.crashes.get(key(call)) ?? 0) + 1;
        this.crashes.set(key(call), n);
        this.cordon(call.pipeline);
        const message = `the worker's cell died ${n} time(s) while the handler ran this message (last: ${how})`;
        this.note(call.pipeline, "error", message, { partition: call.partition, offset: call.offset });
        if (n >= this.opts.maxCrashes) {
          this.poison.set(key(call), { ...call, code: "HANDLER_CRASH", message });
          this.incident(call.pipeline, false, "HANDLER_CRASH", message);
        }
      }
    } else if (cell.killedFor) {
      this.backoff.delete(cell.id);
    }
    setTimeout(() => this.reconcile(), 0);
  }

  /** The watchdog's pass over every cell; a verdict kills the cell, the exit handler restarts it. */
  private watch(): void {
    if (this.stopping) return;
    const now = Date.now();
    for (const cell of this.cells.values()) {
      if (cell.killedFor || cell.exited) continue;
      const rss = cell.rss();
      this.metrics.cellRss.set({ cell: cell.id }, rss);
      const v = inspect(cell, now, this.opts, rss);
      if (v) this.act(cell, v);
    }
    this.prune();
    for (const p of this.desired.values()) {
      this.metrics.stalled.set({ pipeline: p.id }, this.incidents.get(p.id)?.stalled ? 1 : 0);
    }
    // Cells waiting out a backoff start here.
    if ([...this.desired.keys()].some((id) => !this.cells.has(this.placement.cellOf(id) ?? "")))
      this.reconcile();
  }

  private act(cell: Cell, v: Verdict): void {
    this.metrics.cellKills.inc({ reason: v.kind });
    this.log.warn({ cell: cell.id, verdict: v.kind, detail: v.detail }, "killing cell");
    if (v.kind === "deadline") {
      const { call } = v;
      this.poison.set(key(call), { ...call, code: "HANDLER_TIMEOUT", message: v.detail });
      this.cordon(call.pipeline);
      this.incident(call.pipeline, false, "HANDLER_TIMEOUT", v.detail);
      this.note(call.pipeline, "error", v.detail, { partition: call.partition, offset: call.offset });
    } else if (v.kind === "stalled") {
      this.cordon(v.pipeline);
      this.incident(v.pipeline, true, "STALLED", v.detail);
      this.note(v.pipeline, "error", v.detail);
    } else if (v.kind === "control") {
      this.note(v.pipeline, "warn", v.detail);
    } else {
      for (const id of cell.pipelines.keys()) {
        this.note(id, "warn", `${v.kind}: ${v.detail}`);
        // The status says why its cell keeps restarting (for a minute after each recycle).
        if (v.kind === "memory") this.incident(id, false, "HANDLER_MEMORY", `cell ${v.detail}`);
      }
    }
    cell.kill(v.kind);
  }

  private cordon(pipeline: string): void {
    const p = this.desired.get(pipeline);
    if (p && !this.placement.cordoned.has(pipeline)) {
      this.placement.cordon(pipeline, p.revision);
      this.log.warn({ pipeline }, "pipeline cordoned into a cell of its own");
    }
  }

  private incident(pipeline: string, stalled: boolean, code: SerializedError["code"], message: string): void {
    this.incidents.set(pipeline, {
      stalled,
      at: Date.now(),
      error: { name: "WeirError", code, message, retryable: false },
    });
  }

  /** A worker line in the pipeline's logs (the user's view of what the supervisor did). */
  private note(
    pipeline: string,
    level: "warn" | "error",
    message: string,
    fields?: Record<string, unknown>,
  ): void {
    this.logs.push(pipeline, [{ time: Date.now(), level, message, fields, source: "worker" }]);
  }

  /** Forget poison, crash counts and incidents that the committed offsets or progress have passed. */
  private prune(): void {
    const committed = new Map<string, bigint>();
    for (const cell of this.cells.values()) {
      for (const r of cell.last?.pipelines ?? []) {
        for (const l of r.lag)
          if (l.committed) committed.set(`${r.pipeline_id}/${l.topic}/${l.partition}`, BigInt(l.committed));
        const inc = this.incidents.get(r.pipeline_id);
        // Stalled until it moves again in a later cell; other incidents fade after a minute.
        if (
          inc?.stalled &&
          cell.startedAt > inc.at &&
          (r.counters.messages_in > 0 || r.lag.every((l) => l.lag === 0))
        )
          inc.stalled = false;
        if (inc && !inc.stalled && Date.now() - inc.at > 60_000) this.incidents.delete(r.pipeline_id);
      }
    }
    for (const m of [this.poison, this.crashes] as Map<string, unknown>[]) {
      for (const k of m.keys()) {
        const [pipeline, topic, partition, offset] = k.split("/");
        const c = committed.get(`${pipeline}/${topic}/${partition}`);
        if (!this.desired.has(pipeline!) || (c !== undefined && c > BigInt(offset!))) m.delete(k);
      }
    }
  }

  reports(): PipelineReport[] {
    const out: PipelineReport[] = [];
    for (const p of this.desired.values()) {
      const cell = this.cells.get(this.placement.cellOf(p.id) ?? "");
      const r = cell?.last?.pipelines.find((x) => x.pipeline_id === p.id && x.revision === p.revision);
      const inc = this.incidents.get(p.id);
      const base: PipelineReport = r ?? {
        pipeline_id: p.id,
        revision: p.revision,
        state: p.desired === "paused" ? "paused" : p.handler ? "deploying" : "waiting_for_handler",
        last_error: null,
        counters: { ...ZERO_COUNTERS },
        lag: [],
        handler_version: p.handler ? String(p.handler.version) : null,
      };
      out.push({
        ...base,
        state: inc?.stalled && base.state !== "paused" ? "stalled" : base.state,
        last_error: inc?.stalled ? inc.error : (base.last_error ?? inc?.error ?? null),
        counters: addCounters(this.carried.get(p.id), base.counters),
      });
    }
    return out;
  }

  /** Merged metrics of the supervisor and every cell (prom-client JSON, one per registry). */
  cellMetrics() {
    return [...this.cells.values()].flatMap((c) => (c.last ? [c.last.metrics] : []));
  }

  health() {
    return {
      cells: [...this.cells.values()].map((c) => ({
        id: c.id,
        pid: c.pid,
        cordoned: c.cordoned,
        pipelines: [...c.pipelines.keys()],
        rss_bytes: c.rss(),
        inflight: c.last?.inflight.length ?? 0,
        nice: c.cordoned ? this.opts.cordonNice : this.opts.cellNice,
      })),
      cgroup: this.opts.cgroup,
    };
  }

  async report(): Promise<void> {
    try {
      await this.api.postStatus({
        worker_id: this.opts.workerId,
        started_at: this.startedAt,
        pipelines: this.reports(),
      });
    } catch (err) {
      this.log.warn({ err }, "status report failed");
    }
  }

  /**
   * Shutdown with a deadline whatever the cells and the API do: ask every cell to drain, SIGKILL
   * those still running after drainMs, then one last report and log flush, each bounded.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    const cells = [...this.cells.values()];
    for (const c of cells) c.send({ type: "stop" });
    await bounded(Promise.all(cells.map((c) => c.exit)), this.opts.drainMs);
    for (const c of cells) c.kill("shutdown");
    await bounded(Promise.all(cells.map((c) => c.exit)), 2000);
    await bounded(this.report(), 2000);
    await bounded(this.logs.stop(), 2000);
    await bounded(this.api.leave?.() ?? Promise.resolve(), 2000);
  }
}

/** The supervisor's settings from the worker's environment (main.ts and the benchmark build it so). */
export function supervisorOptions(env: WorkerEnv, cgroup: CgroupSupport): SupervisorOptions {
  return {
    workerId: env.WEIR_WORKER_ID,
    pollMs: env.WEIR_WORKER_POLL_MS,
    reportMs: env.WEIR_WORKER_REPORT_MS,
    cellSize: env.WEIR_WORKER_CELL_SIZE,
    maxCells: env.WEIR_WORKER_MAX_CELLS,
    maxCrashes: env.WEIR_WORKER_MAX_CRASHES,
    drainMs: Math.min(env.WEIR_WORKER_DRAIN_MS, 20_000),
    cellNice: env.WEIR_WORKER_CELL_NICE,
    cordonNice: env.WEIR_WORKER_CORDON_NICE,
    cgroup,
    sessionTimeoutMs: env.WEIR_WORKER_SESSION_TIMEOUT_MS,
    hangMs: env.WEIR_WORKER_CELL_HANG_MS,
    graceMs: env.WEIR_WORKER_KILL_GRACE_MS,
    stallMs: env.WEIR_WORKER_STALL_MS,
    controlMs: env.WEIR_WORKER_CONTROL_MS,
    headroomMb: env.WEIR_WORKER_CELL_HEADROOM_MB,
    pipelineOverheadMb: env.WEIR_WORKER_PIPELINE_OVERHEAD_MB,
    isolates: Math.min(env.WEIR_WORKER_ISOLATES, env.WEIR_WORKER_PARTITION_CONCURRENCY),
  };
}

function bounded(p: Promise<unknown>, ms: number): Promise<void> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([
    p.then(
      () => undefined,
      () => undefined,
    ),
    new Promise<void>((r) => {
      t = setTimeout(r, ms);
    }),
  ]).finally(() => clearTimeout(t));
}

function addCounters(a: Counters | undefined, b: Counters): Counters {
  const out = { ...(a ?? ZERO_COUNTERS) };
  for (const k of Object.keys(out) as (keyof Counters)[]) out[k] += b[k];
  return out;
}

function changed(now: ReadonlyMap<string, DesiredPipeline>, next: DesiredPipeline[]): boolean {
  return now.size !== next.length || next.some((p) => now.get(p.id)?.revision !== p.revision);
}
