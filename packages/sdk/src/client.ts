/**
 * WeirClient: one method per route of the Weir API. Errors are core's WeirError with the API's
 * `code` (VALIDATION, NOT_FOUND, CONFLICT, UNAUTHORIZED, ...) and `details.status`.
 *
 * Worker interface: `desiredState(since)` answers `{changed: false, revision}` when `since` equals
 * the API's current global revision, else `{changed: true, revision, pipelines}` holding every
 * pipeline (running and paused) with decrypted config and its compiled handler (null before the
 * first upload). A pipeline absent from the list was deleted. Poll with the last `revision` seen.
 */
import type {
  AuditPage,
  CreateTokenRequest,
  DesiredStateResponse,
  DlqPage,
  DlqPurgeResponse,
  DlqRecord,
  DlqReplayResponse,
  HandlerManifest,
  HandlerVersionDetail,
  HandlerVersionView,
  LogBatch,
  LogEntry,
  LogLevel,
  LogPage,
  PipelinePage,
  PipelineStatus,
  PipelineView,
  ProjectView,
  TestRunResponse,
  TokenCreated,
  TokenView,
  VersionList,
  WorkerReport,
  WorkerView,
} from "@weir/core";
import { HANDLER_BUNDLE_CONTENT_TYPE } from "@weir/core";
import type { BundleOptions, HandlerBundle } from "./bundle.ts";
import { Http, type WeirClientOptions } from "./http.ts";
import { readSse } from "./sse.ts";

/** `GET /v1/pipelines/:id/peek`: values as UTF-8 text, or base64 when they are not. */
export interface PeekResponse {
  topic: string;
  truncated: boolean;
  items: {
    partition: number;
    offset: string;
    timestamp: string;
    key: string | null;
    value: string | null;
    value_base64: string | null;
    size: number;
  }[];
}

/** A pipeline spec as sent by users (defaults are filled in by the API). */
export type PipelineSpecInput = {
  name: string;
  description?: string;
  source: { type: string; config: Record<string, unknown> };
  sink: { type: string; config: Record<string, unknown> };
  /** Workers that run it: "auto" (default) or a number. */
  replicas?: "auto" | number;
  env?: Record<string, string>;
  limits?: Record<string, unknown>;
  retry?: Record<string, unknown>;
  dead_letter?: Record<string, unknown>;
  /** Worker pool that runs it ("default" when absent). */
  pool?: string;
};

export interface LogQueryOptions {
  level?: LogLevel;
  /** Epoch ms or Date, inclusive. */
  since?: number | Date;
  until?: number | Date;
  limit?: number;
  cursor?: string;
}

export interface UploadOptions {
  /** File name shown in diagnostics; must end in .ts (default handler.ts). */
  filename?: string;
  /** Send as multipart/form-data (field `file`) instead of a raw body. */
  multipart?: boolean;
  /** Raw-body content type (default application/typescript). */
  contentType?: string;
}

const ms = (t: number | Date | undefined) => (t instanceof Date ? t.getTime() : t);
const enc = encodeURIComponent;

export class WeirClient {
  private readonly http: Http;

  constructor(options: WeirClientOptions) {
    this.http = new Http(options);
  }

  // --- operations (no token needed) ---
  health(): Promise<{ ok: boolean }> {
    return this.http.json("GET", "/healthz");
  }
  ready(): Promise<{ ok: boolean; reason?: string }> {
    return this.http.json("GET", "/readyz");
  }
  /** Prometheus text exposition. */
  async metrics(): Promise<string> {
    return (await this.http.send("GET", "/metrics")).text();
  }
  /** The OpenAPI document generated from the route schemas. */
  openapi(): Promise<Record<string, unknown>> {
    return this.http.json("GET", "/docs/json");
  }
  /** `.d.ts` text for handler authors (Log, Handler, OTLP JSON types, sandbox globals). */
  async handlerTypes(): Promise<string> {
    return (await this.http.send("GET", "/v1/types/handler.d.ts")).text();
  }

  // --- pipelines ---
  /** Create in the token's project; the server admin may name one (`default` otherwise). */
  createPipeline(spec: PipelineSpecInput, opts: { project?: string } = {}): Promise<PipelineView> {
    return this.http.json("POST", "/v1/pipelines", { body: spec, query: { project: opts.project } });
  }
  /** The pipelines this token can see; `project` narrows (the server admin sees every project's). */
  listPipelines(opts: { limit?: number; cursor?: string; project?: string } = {}): Promise<PipelinePage> {
    return this.http.json("GET", "/v1/pipelines", { query: opts });
  }
  /** Every pipeline, following cursors. */
  async listAllPipelines(pageSize = 200, project?: string): Promise<PipelineView[]> {
    const out: PipelineView[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.listPipelines({
        limit: pageSize,
        ...(cursor ? { cursor } : {}),
        ...(project ? { project } : {}),
      });
      out.push(...page.items);
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
    return out;
  }
  getPipeline(id: string): Promise<PipelineView> {
    return this.http.json("GET", `/v1/pipelines/${enc(id)}`);
  }
  /** Workers the API has heard from, with liveness and assigned pipeline counts (server admin). */
  listWorkers(): Promise<{ items: WorkerView[] }> {
    return this.http.json("GET", "/v1/workers");
  }
  getPipelineStatus(id: string): Promise<PipelineStatus> {
    return this.http.json("GET", `/v1/pipelines/${enc(id)}/status`);
  }
  /** Replace the spec. Secrets given as "[redacted]" keep their stored value. */
  updatePipeline(id: string, spec: PipelineSpecInput): Promise<PipelineView> {
    return this.http.json("PUT", `/v1/pipelines/${enc(id)}`, { body: spec });
  }
  deletePipeline(id: string): Promise<void> {
    return this.http.json("DELETE", `/v1/pipelines/${enc(id)}`);
  }
  pausePipeline(id: string): Promise<PipelineView> {
    return this.http.json("POST", `/v1/pipelines/${enc(id)}/pause`);
  }
  resumePipeline(id: string): Promise<PipelineView> {
    return this.http.json("POST", `/v1/pipelines/${enc(id)}/resume`);
  }

  // --- handlers ---
  /** Upload TypeScript source; 201 with a new version, or 200 with the current one if unchanged. */
  uploadHandler(
    id: string,
    source: string | Uint8Array,
    opts: UploadOptions = {},
  ): Promise<HandlerVersionView> {
    const filename = opts.filename ?? "handler.ts";
    const path = `/v1/pipelines/${enc(id)}/handler`;
    if (opts.multipart) {
      const form = new FormData();
      form.append("file", new Blob([source], { type: "application/typescript" }), filename);
      return this.http.json("PUT", path, { raw: form });
    }
    return this.http.json("PUT", path, {
      raw: source as NonNullable<RequestInit["body"]>,
      contentType: opts.contentType ?? "application/typescript",
      query: { filename },
    });
  }
  /**
   * Upload a bundle made by `bundleHandler` (`@weir/sdk/bundle`): one request with content type
   * `application/vnd.weir.handler-bundle+json` and body `{bundle, source_map, manifest}`. 201 with a
   * new version (its `manifest` set), or 200 with the current one if bundle and map are unchanged.
   */
  uploadBundle(
    id: string,
    b: { bundle: string; sourceMap: string; manifest: HandlerManifest },
  ): Promise<HandlerVersionView> {
    return this.http.json("PUT", `/v1/pipelines/${enc(id)}/handler`, {
      raw: JSON.stringify({ bundle: b.bundle, source_map: b.sourceMap, manifest: b.manifest }),
      contentType: HANDLER_BUNDLE_CONTENT_TYPE,
    });
  }
  /**
   * Bundle the handler at `entry` on this machine (its relative imports and npm packages; Node
   * builtins and native code refused with their import chain) and upload the bundle. Loads esbuild
   * on first use only.
   */
  async deployHandler(
    id: string,
    entry: string,
    opts: BundleOptions = {},
  ): Promise<{ version: HandlerVersionView; bundle: HandlerBundle }> {
    const { bundleHandler } = await import("./bundle.ts");
    const bundle = await bundleHandler(entry, opts);
    return { version: await this.uploadBundle(id, bundle), bundle };
  }
  listVersions(id: string): Promise<VersionList> {
    return this.http.json("GET", `/v1/pipelines/${enc(id)}/versions`);
  }
  getVersion(id: string, version: number): Promise<HandlerVersionDetail> {
    return this.http.json("GET", `/v1/pipelines/${enc(id)}/versions/${version}`);
  }
  rollback(id: string, version: number): Promise<PipelineView> {
    return this.http.json("POST", `/v1/pipelines/${enc(id)}/rollback`, { body: { version } });
  }
  /** Run sample events through the sandbox (no Kafka, no sink). */
  testRun(
    id: string,
    events: unknown[],
    opts: { version?: number; topic?: string } = {},
  ): Promise<TestRunResponse> {
    return this.http.json("POST", `/v1/pipelines/${enc(id)}/test`, { body: { events, ...opts } });
  }
  /** Run the newest `last` messages of the source topic through the sandbox (read without committing). */
  testRunOnSource(id: string, last: number, opts: { version?: number } = {}): Promise<TestRunResponse> {
    return this.http.json("POST", `/v1/pipelines/${enc(id)}/test`, { body: { source_last: last, ...opts } });
  }
  /** The newest messages of the source topic, read without committing (at most 100 and 4 MiB). */
  peek(id: string, opts: { limit?: number; maxBytes?: number } = {}): Promise<PeekResponse> {
    return this.http.json("GET", `/v1/pipelines/${enc(id)}/peek`, {
      query: { limit: opts.limit, max_bytes: opts.maxBytes },
    });
  }

  // --- logs ---
  getLogs(id: string, opts: LogQueryOptions = {}): Promise<LogPage> {
    return this.http.json("GET", `/v1/pipelines/${enc(id)}/logs`, {
      query: {
        level: opts.level,
        since: ms(opts.since),
        until: ms(opts.until),
        limit: opts.limit,
        cursor: opts.cursor,
      },
    });
  }
  /**
   * Live log lines as they are stored; stop with `signal` (or by breaking out of the loop). With
   * `afterId` (the `id` of the last line you saw) the lines stored since then come first.
   */
  async *tailLogs(
    id: string,
    opts: { level?: LogLevel; afterId?: number; signal?: AbortSignal } = {},
  ): AsyncGenerator<LogEntry> {
    const controller = new AbortController();
    const onAbort = () => controller.abort();
    opts.signal?.addEventListener("abort", onAbort);
    try {
      const res = await this.http.send("GET", `/v1/pipelines/${enc(id)}/logs/tail`, {
        query: { level: opts.level, after_id: opts.afterId },
        accept: "text/event-stream",
        signal: controller.signal,
        timeout: false,
      });
      if (!res.body) return;
      for await (const ev of readSse(res.body)) if (ev.event === "log") yield JSON.parse(ev.data) as LogEntry;
    } catch (err) {
      if (controller.signal.aborted) return;
      throw err;
    } finally {
      opts.signal?.removeEventListener("abort", onAbort);
      controller.abort();
    }
  }

  // --- dead letters ---
  listDlq(id: string, opts: { limit?: number } = {}): Promise<DlqPage> {
    return this.http.json("GET", `/v1/pipelines/${enc(id)}/dlq`, { query: opts });
  }
  getDlqRecord(id: string, recordId: string): Promise<DlqRecord> {
    return this.http.json("GET", `/v1/pipelines/${enc(id)}/dlq/${enc(recordId)}`);
  }
  /** Replay `ids` (`<partition>-<offset>`), or every record with `"all"`, to the source topic. */
  replayDlq(id: string, which: string[] | "all"): Promise<DlqReplayResponse> {
    return this.http.json("POST", `/v1/pipelines/${enc(id)}/dlq/replay`, {
      body: which === "all" ? { all: true } : { ids: which },
    });
  }
  purgeDlq(id: string): Promise<DlqPurgeResponse> {
    return this.http.json("DELETE", `/v1/pipelines/${enc(id)}/dlq`);
  }

  // --- tokens (server admin, or a project admin for its project) ---
  createToken(req: CreateTokenRequest): Promise<TokenCreated> {
    return this.http.json("POST", "/v1/tokens", { body: req });
  }
  listTokens(opts: { project?: string } = {}): Promise<{ items: TokenView[] }> {
    return this.http.json("GET", "/v1/tokens", { query: opts });
  }
  deleteToken(id: string): Promise<void> {
    return this.http.json("DELETE", `/v1/tokens/${enc(id)}`);
  }

  // --- projects (created and deleted by the server admin) ---
  createProject(req: { name: string }): Promise<ProjectView> {
    return this.http.json("POST", "/v1/projects", { body: req });
  }
  listProjects(): Promise<{ items: ProjectView[] }> {
    return this.http.json("GET", "/v1/projects");
  }
  deleteProject(name: string): Promise<void> {
    return this.http.json("DELETE", `/v1/projects/${enc(name)}`);
  }

  // --- audit log (project admin, server admin) ---
  listAudit(
    opts: { project?: string; pipeline_id?: string; after?: number; limit?: number } = {},
  ): Promise<AuditPage> {
    return this.http.json("GET", "/v1/audit", { query: opts });
  }

  // --- worker interface (worker token) ---
  /** See the class comment for the `changed` semantics. */
  /**
   * The pipelines placed on worker `at.workerId` (the poll is its heartbeat); without a worker id,
   * every pipeline of the pool. `at.etag`: the last answer's etag, so an unchanged list is not resent.
   */
  desiredState(
    since?: number,
    pool?: string,
    at: { workerId?: string; etag?: string } = {},
  ): Promise<DesiredStateResponse> {
    return this.http.json("GET", "/v1/worker/desired-state", {
      query: { since, pool, worker_id: at.workerId, etag: at.etag },
    });
  }
  sendLogs(batch: LogBatch): Promise<{ accepted: number }> {
    return this.http.json("POST", "/v1/worker/logs", { body: batch });
  }
  /** Per-pipeline reports; also counts as a heartbeat. */
  sendStatus(report: WorkerReport): Promise<void> {
    return this.http.json("POST", "/v1/worker/status", { body: report });
  }
  /** The worker is shutting down: the API moves its pipelines to the other live workers now. */
  leave(workerId: string): Promise<void> {
    return this.http.json("POST", "/v1/worker/leave", { body: { worker_id: workerId } });
  }
  heartbeat(workerId: string, startedAt?: number): Promise<void> {
    return this.http.json("POST", "/v1/worker/heartbeat", {
      body: { worker_id: workerId, ...(startedAt !== undefined ? { started_at: startedAt } : {}) },
    });
  }
}
