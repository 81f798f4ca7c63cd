/** The SDK's HTTP layer: bearer auth, JSON, and API errors rebuilt as core's WeirError. */
import { ERROR_CODES, type ErrorCode, WeirError } from "@weir/core";

export interface WeirClientOptions {
  /** Base URL of the API, e.g. `http://127.0.0.1:8080`. */
  baseUrl: string;
  /** Bearer token: an admin/user token for user routes, a worker token for `/v1/worker/*`. */
  token?: string | undefined;
  /** Custom fetch (tests, proxies). Defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Per-request timeout in ms (default 30 s; the log tail has none). */
  timeoutMs?: number;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined> | undefined;
  body?: unknown;
  /** Raw body (handler upload): sent as is with `contentType`. */
  raw?: NonNullable<RequestInit["body"]> | undefined;
  contentType?: string | undefined;
  /** Expected 304-free empty answers (204). */
  accept?: string;
  signal?: AbortSignal | undefined;
  timeout?: boolean;
}

const CODES = new Set<string>(ERROR_CODES);

/** Turn a non-2xx response into a WeirError with `details.status` (and the API's details). */
export async function toError(res: Response): Promise<WeirError> {
  let body: { error?: { code?: string; message?: string; details?: unknown } } | undefined;
  const text = await res.text();
  try {
    body = JSON.parse(text);
  } catch {}
  const code = (body?.error?.code && CODES.has(body.error.code) ? body.error.code : "INTERNAL") as ErrorCode;
  const details = body?.error?.details;
  return new WeirError(code, body?.error?.message ?? `HTTP ${res.status}: ${text.slice(0, 200)}`, {
    retryable: res.status >= 500 || res.status === 429,
    details: {
      status: res.status,
      ...(details && typeof details === "object" ? (details as Record<string, unknown>) : {}),
    },
  });
}

export class Http {
  private readonly base: string;
  private readonly doFetch: typeof fetch;

  private readonly opts: WeirClientOptions;
  constructor(opts: WeirClientOptions) {
    this.opts = opts;
    this.base = opts.baseUrl.replace(/\/+$/, "");
    this.doFetch = opts.fetch ?? fetch;
  }

  url(path: string, query?: RequestOptions["query"]): string {
    const u = new URL(this.base + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) u.searchParams.set(k, String(v));
    return u.toString();
  }

  /** Send a request; returns the raw response (2xx only, else throws WeirError). */
  async send(method: string, path: string, o: RequestOptions = {}): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.opts.token) headers.authorization = `Bearer ${this.opts.token}`;
    let body: NonNullable<RequestInit["body"]> | undefined;
    if (o.raw !== undefined) {
      body = o.raw;
      if (o.contentType) headers["content-type"] = o.contentType;
    } else if (o.body !== undefined) {
      body = JSON.stringify(o.body);
      headers["content-type"] = "application/json";
    }
    if (o.accept) headers.accept = o.accept;
    const signals = [
      o.signal,
      o.timeout === false ? undefined : AbortSignal.timeout(this.opts.timeoutMs ?? 30_000),
    ];
    const signal = AbortSignal.any(signals.filter((s): s is AbortSignal => s !== undefined));
    const res = await this.doFetch(this.url(path, o.query), { method, headers, body, signal });
    if (!res.ok) throw await toError(res);
    return res;
  }

  async json<T>(method: string, path: string, o: RequestOptions = {}): Promise<T> {
    const res = await this.send(method, path, o);
    if (res.status === 204) return undefined as T;
    return (await res.json()) as T;
  }
}
