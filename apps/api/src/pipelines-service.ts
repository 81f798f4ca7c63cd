/**
 * Pipeline domain logic shared by routes: validating and sealing specs, building redacted views,
 * and computing status from desired state plus the latest reports of live workers.
 */
import {
  type Counters,
  type PartitionLag,
  type PipelineSpec,
  type PipelineStatus,
  type PipelineView,
  parsePipelineSpec,
  redact,
  type SerializedError,
  WeirError,
  ZERO_COUNTERS,
} from "@weir/core";
import {
  freshReports,
  getPipeline,
  getPipelineByName,
  getProject,
  getVersionById,
  type PipelineRow,
  type ReportRow,
} from "@weir/db";
import type { AppContext } from "./context.ts";

/** Validate a user's spec; throws VALIDATION naming each bad field. */
export function validateSpec(input: unknown): PipelineSpec {
  const result = parsePipelineSpec(input);
  if (!result.ok) {
    const first = result.issues[0];
    throw new WeirError(
      "VALIDATION",
      first ? `${first.path || "/"}: ${first.message}` : "invalid pipeline spec",
      {
        details: { issues: result.issues },
      },
    );
  }
  return result.spec;
}

/** Throws CONFLICT when another pipeline of the project already has `name`. */
export function assertNameFree(ctx: AppContext, projectId: string, name: string, selfId?: string): void {
  const other = getPipelineByName(ctx.db, projectId, name);
  if (other && other.id !== selfId) {
    throw new WeirError("CONFLICT", `a pipeline named "${name}" already exists`, {
      details: { issues: [{ path: "/name", message: "already taken" }], id: other.id },
    });
  }
}

export function mustGetPipeline(ctx: AppContext, id: string): PipelineRow {
  const row = getPipeline(ctx.db, id);
  if (!row) throw new WeirError("NOT_FOUND", `pipeline ${id} not found`, { details: { path: "/params/id" } });
  return row;
}

/** The stored spec with secrets decrypted: for workers, the test run and the DLQ's Kafka client. */
export function openSpec(ctx: AppContext, row: PipelineRow): PipelineSpec {
  return ctx.box.open(JSON.parse(row.specJson)) as PipelineSpec;
}

function addCounters(a: Counters, b: Partial<Counters>): Counters {
  const out = { ...a };
  for (const k of Object.keys(out) as (keyof Counters)[]) out[k] += Number(b[k] ?? 0) || 0;
  return out;
}

export function computeStatus(row: PipelineRow, reports: ReportRow[]): PipelineStatus {
  let counters = { ...ZERO_COUNTERS };
  const lag = new Map<string, PartitionLag & { at: number }>();
  let lastError: { at: number; err: SerializedError } | null = null;
  for (const r of reports) {
    counters = addCounters(counters, JSON.parse(r.countersJson));
    for (const l of JSON.parse(r.lagJson) as PartitionLag[]) {
      const key = `${l.topic}/${l.partition}`;
      const prev = lag.get(key);
      if (!prev || prev.at < r.reportedAt) lag.set(key, { ...l, at: r.reportedAt });
    }
    if (r.lastErrorJson && (!lastError || lastError.at < r.reportedAt)) {
      lastError = { at: r.reportedAt, err: JSON.parse(r.lastErrorJson) };
    }
  }
  const current = reports.filter((r) => r.revision >= row.revision);
  const state = deriveState(row, reports.length, current);
  if (state === "stalled") {
    // The stall's reason beats an older error: it is why the pipeline does not move.
    const stalled = current.filter((r) => r.state === "stalled" && r.lastErrorJson);
    const latest = stalled.sort((a, b) => b.reportedAt - a.reportedAt)[0];
    if (latest) lastError = { at: latest.reportedAt, err: JSON.parse(latest.lastErrorJson!) };
  }
  return {
    state,
    desired: row.desired,
    revision: row.revision,
    last_error: lastError ? redact(lastError.err) : null,
    counters,
    lag: [...lag.values()]
      .map(({ at: _at, ...l }) => l)
      .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition),
    workers: reports.map((r) => ({
      worker_id: r.workerId,
      revision: r.revision,
      state: r.state,
      handler_version: r.handlerVersion,
      reported_at: r.reportedAt,
    })),
  };
}

/**
 * One state from desired state and the workers' reports, worst first: paused (desired), deploying
 * (a worker still on an older revision, or none reporting), stalled, failing, waiting_for_handler
 * (every worker says no handler version is uploaded), else running.
 */
function deriveState(row: PipelineRow, reported: number, current: ReportRow[]): PipelineStatus["state"] {
  if (row.desired === "paused") return "paused";
  if (reported === 0 || current.length < reported) return "deploying";
  if (current.some((r) => r.state === "deploying")) return "deploying";
  if (current.some((r) => r.state === "stalled")) return "stalled";
  if (current.some((r) => r.state === "failing")) return "failing";
  if (current.every((r) => r.state === "waiting_for_handler")) return "waiting_for_handler";
  return "running";
}

/**
 * Status from the fresh reports, plus where the pipeline is placed. A running pipeline placed on no
 * worker is stalled with NO_WORKERS whatever old reports say: nothing runs it.
 */
export function statusOf(ctx: AppContext, row: PipelineRow): PipelineStatus {
  const status = computeStatus(row, freshReports(ctx.db, row.id, Date.now() - ctx.env.WEIR_WORKER_STALE_MS));
  const placement = ctx.placer.view(row);
  if (row.desired === "running" && placement.workers.length === 0) {
    status.state = "stalled";
    status.last_error = {
      name: "WeirError",
      code: "NO_WORKERS",
      message: `${placement.reason}: nothing runs this pipeline; start a worker whose token serves pool ${row.pool}`,
      retryable: true,
    };
  }
  return { ...status, placement };
}

/** What a user sees: secrets redacted, current version, status. */
export function toView(ctx: AppContext, row: PipelineRow): PipelineView {
  const version = row.currentVersionId ? getVersionById(ctx.db, row.currentVersionId) : undefined;
  return {
    id: row.id,
    project: getProject(ctx.db, row.projectId)?.name ?? row.projectId,
    name: row.name,
    revision: row.revision,
    spec: redact(JSON.parse(row.specJson)) as PipelineSpec,
    current_version: version ? { id: version.id, version: version.version, sha256: version.sha256 } : null,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
    status: statusOf(ctx, row),
  };
}
