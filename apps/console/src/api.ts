/**
 * The REST API as the console calls it: same origin, `Authorization: Bearer <token>` from session
 * storage. Errors carry the API's `{error: {code, message, details}}`.
 */
import type {
  DlqPage,
  DlqRecord,
  DlqReplayResponse,
  HandlerVersionDetail,
  HandlerVersionView,
  HistoryPoint,
  LogEntry,
  LogPage,
  PipelinePage,
  PipelineView,
  TestRunResponse,
  VersionList,
} from "@weir/core";

export type { DlqRecord, HandlerVersionView, HistoryPoint, LogEntry, PipelineView, TestRunResponse };

const KEY = "weir.token";

export const session = {
  get token(): string | null {
    return sessionStorage.getItem(KEY);
  },
  set(token: string): void {
    sessionStorage.setItem(KEY, token);
  },
  clear(): void {
    sessionStorage.removeItem(KEY);
  },
};

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;
  constructor(status: number, code: string, message: string, details?: unknown) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** Called on a 401 (the app shows the sign-in form again). */
let onUnauthorized: () => void = () => {};
export function setUnauthorizedHandler(fn: () => void): void {
  onUnauthorized = fn;
}

export function authHeaders(): Record<string, string> {
  const t = session.token;
  return t ? { authorization: `Bearer ${t}` } : {};
}

async function call<T>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
  const headers: Record<string, string> = { ...authHeaders() };
  let payload: BodyInit | undefined;
  if (body !== undefined) {
    headers["content-type"] = contentType ?? "application/json";
    payload = typeof body === "string" ? body : JSON.stringify(body);
  }
  const res = await fetch(path, { method, headers, body: payload });
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  const json = text ? (JSON.parse(text) as unknown) : undefined;
  if (!res.ok) {
    const err = (json as { error?: { code: string; message: string; details?: unknown } } | undefined)?.error;
    if (res.status === 401) onUnauthorized();
    throw new ApiError(res.status, err?.code ?? "HTTP", err?.message ?? `HTTP ${res.status}`, err?.details);
  }
  return json as T;
}

const enc = encodeURIComponent;

/** A compile problem: 1-based line and column (0 when not tied to a place). */
export interface Diagnostic {
  line: number;
  column: number;
  message: string;
}

export const api = {
  pipelines: (cursor?: string) =>
    call<PipelinePage>("GET", `/v1/pipelines?limit=200${cursor ? `&cursor=${enc(cursor)}` : ""}`),
  pipeline: (id: string) => call<PipelineView>("GET", `/v1/pipelines/${enc(id)}`),
  history: (id: string) =>
    call<{ bucket_ms: number; points: HistoryPoint[] }>("GET", `/v1/pipelines/${enc(id)}/history`),
  pause: (id: string) => call<PipelineView>("POST", `/v1/pipelines/${enc(id)}/pause`),
  resume: (id: string) => call<PipelineView>("POST", `/v1/pipelines/${enc(id)}/resume`),
  remove: (id: string) => call<void>("DELETE", `/v1/pipelines/${enc(id)}`),
  versions: (id: string) => call<VersionList>("GET", `/v1/pipelines/${enc(id)}/versions`),
  version: (id: string, v: number) =>
    call<HandlerVersionDetail>("GET", `/v1/pipelines/${enc(id)}/versions/${v}`),
  upload: (id: string, source: string, filename = "handler.ts") =>
    call<HandlerVersionView>(
      "PUT",
      `/v1/pipelines/${enc(id)}/handler?filename=${enc(filename)}`,
      source,
      "text/typescript",
    ),
  rollback: (id: string, version: number) =>
    call<PipelineView>("POST", `/v1/pipelines/${enc(id)}/rollback`, { version }),
  testRun: (id: string, events: unknown[], version?: number) =>
    call<TestRunResponse>("POST", `/v1/pipelines/${enc(id)}/test`, {
      events,
      ...(version ? { version } : {}),
    }),
  /** The newest `last` messages of the source topic (read without committing) through the handler. */
  testRunOnSource: (id: string, last: number, version?: number) =>
    call<TestRunResponse>("POST", `/v1/pipelines/${enc(id)}/test`, {
      source_last: last,
      ...(version ? { version } : {}),
    }),
  handlerTypes: async (): Promise<string> => {
    const res = await fetch("/v1/types/handler.d.ts", { headers: authHeaders() });
    if (!res.ok) throw new ApiError(res.status, "HTTP", `HTTP ${res.status}`);
    const text = await res.text();
    // The route may answer the file as a JSON string.
    return text.startsWith('"') ? (JSON.parse(text) as string) : text;
  },
  logs: (id: string, level?: string) =>
    call<LogPage>("GET", `/v1/pipelines/${enc(id)}/logs?limit=200${level ? `&level=${level}` : ""}`),
  dlq: (id: string) => call<DlqPage>("GET", `/v1/pipelines/${enc(id)}/dlq?limit=500`),
  replay: (id: string, ids: string[] | "all") =>
    call<DlqReplayResponse>(
      "POST",
      `/v1/pipelines/${enc(id)}/dlq/replay`,
      ids === "all" ? { all: true } : { ids },
    ),
  purge: (id: string) => call<{ purged: number }>("DELETE", `/v1/pipelines/${enc(id)}/dlq`),
};

/** All pages of the pipeline list. */
export async function allPipelines(): Promise<PipelineView[]> {
  const out: PipelineView[] = [];
  let cursor: string | undefined;
  do {
    const page = await api.pipelines(cursor);
    out.push(...page.items);
    cursor = page.next_cursor ?? undefined;
  } while (cursor && out.length < 10_000);
  return out;
}

/** Compile diagnostics of a failed upload, if that is what the error is. */
export function diagnosticsOf(err: unknown): Diagnostic[] {
  if (!(err instanceof ApiError)) return [];
  const d = (err.details as { diagnostics?: Diagnostic[] } | undefined)?.diagnostics;
  return Array.isArray(d) ? d : [];
}

/**
 * The live log tail over server-sent events, read with fetch (EventSource cannot send the bearer
 * token). Reconnects after a drop from the last event received, so no line is lost or repeated.
 */
export function tailLogs(
  id: string,
  opts: { level?: string; afterId?: number },
  onLine: (line: LogEntry) => void,
  onState: (state: "live" | "reconnecting" | "stopped", error?: string) => void,
): () => void {
  const ctl = new AbortController();
  let lastId = opts.afterId;
  let stopped = false;
  const run = async () => {
    while (!stopped) {
      try {
        const q = new URLSearchParams();
        if (opts.level) q.set("level", opts.level);
        if (lastId !== undefined) q.set("after_id", String(lastId));
        const res = await fetch(`/v1/pipelines/${enc(id)}/logs/tail?${q}`, {
          headers: { ...authHeaders(), accept: "text/event-stream" },
          signal: ctl.signal,
        });
        if (res.status === 401) {
          onUnauthorized();
          return;
        }
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        onState("live");
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          let cut = buf.indexOf("\n\n");
          while (cut >= 0) {
            const block = buf.slice(0, cut);
            buf = buf.slice(cut + 2);
            cut = buf.indexOf("\n\n");
            let event = "message";
            let data = "";
            for (const l of block.split("\n")) {
              if (l.startsWith("event:")) event = l.slice(6).trim();
              else if (l.startsWith("data:")) data += l.slice(5).trimStart();
            }
            if (event !== "log" || !data) continue;
            const line = JSON.parse(data) as LogEntry;
            lastId = line.id;
            onLine(line);
          }
        }
      } catch (err) {
        if (stopped) break;
        onState("reconnecting", (err as Error).message);
      }
      if (stopped) break;
      onState("reconnecting");
      await new Promise((r) => setTimeout(r, 2000));
    }
  };
  void run();
  return () => {
    stopped = true;
    ctl.abort();
    onState("stopped");
  };
}
