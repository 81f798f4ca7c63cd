/**
 * Webhook sink: one HTTP request per batch (JSON array or NDJSON), with the configured method,
 * headers and timeout, and an idempotency key header carrying the batch's dedup token. Aimed at
 * ClickHouse's HTTP interface with `?query=INSERT INTO t FORMAT JSONEachRow` (the seed article's
 * setup), it also checks the table at connect and classifies errors by ClickHouse code.
 * Redirects are never followed (a 3xx is a permanent error); under an egress policy every connection
 * (requests and the TCP healthcheck) passes the guard, which checks the address at connect time.
 */
import { connect as tcpConnect } from "node:net";
import { reveal, type WebhookSinkConfig, WeirError } from "@weir/core";
import type { Dispatcher } from "undici";
import { type EgressGuard, egressGuard } from "../../egress/guard.ts";
import { guardedDispatcher } from "../../egress/http.ts";
import { excerpt, messageOf, parseClickHouseCode, parseRetryAfter, sinkError } from "../classify.ts";
import {
  isEmptyBatch,
  ndjsonBody,
  type Sink,
  type SinkBatch,
  type SinkCapabilities,
  type SinkContext,
} from "../types.ts";
import { type ClickHouseTarget, clickHouseTarget, probeClickHouseTarget } from "./clickhouse-target.ts";
import { egressError, isRedirect, redirectError, type WebhookResponse, webhookFetch } from "./http.ts";

export class WebhookSink implements Sink {
  readonly type = "webhook";
  readonly capabilities: SinkCapabilities;
  private readonly headers: Record<string, string>;
  private readonly clickhouse: ClickHouseTarget | undefined;
  /** In-flight requests, aborted by close() so a hung receiver cannot hold the worker. */
  private readonly inflight = new Set<AbortController>();
  /** Under an egress policy: the guard, and the connection pool whose sockets pass it. */
  private readonly guard: EgressGuard | undefined;
  private readonly dispatcher: Dispatcher | undefined;

  private readonly config: WebhookSinkConfig;
  private readonly ctx: SinkContext;
  constructor(config: WebhookSinkConfig, ctx: SinkContext) {
    this.config = config;
    this.ctx = ctx;
    const contentType = config.format === "ndjson" ? "application/x-ndjson" : "application/json";
    this.headers = { "content-type": contentType };
    for (const [k, v] of Object.entries(config.headers ?? {})) {
      const value = reveal(v);
      if (value !== undefined) this.headers[k.toLowerCase()] = value;
    }
    this.clickhouse = clickHouseTarget(config.url, this.headers);
    if (ctx.egress) {
      this.guard = egressGuard(ctx.egress);
      this.dispatcher = guardedDispatcher(this.guard);
    }
    this.capabilities = {
      // A generic receiver may or may not honour the key; the sink cannot know, so it claims nothing.
      dedupToken: false,
      notes: [
        `sends ${config.idempotency_header}: <pipeline>-<topic>-<partition>-<first>-<last>; replays are dropped only by a receiver that honours it`,
      ],
    };
  }

  async connect(): Promise<void> {
    if (!this.clickhouse) {
      // The seed article's literal config (X-ClickHouse-* headers, bare URL) posts rows with no
      // INSERT: every batch would be a syntax error. Say how to fix it before any row is sent.
      if (Object.keys(this.headers).some((k) => k.startsWith("x-clickhouse-"))) {
        throw new WeirError(
          "SINK_SCHEMA",
          `webhook ${new URL(this.config.url).host} looks like ClickHouse (X-ClickHouse-* headers) but its URL has no INSERT query; use ${this.config.url.replace(/\/?$/, "/")}?query=INSERT%20INTO%20<table>%20FORMAT%20JSONEachRow with format "ndjson", or the clickhouse sink`,
          { details: { url: this.config.url } },
        );
      }
      return;
    }
    const info = await probeClickHouseTarget(this.clickhouse, this.config.timeout_ms, this.dispatcher);
    this.capabilities.notes.push(
      `target is ClickHouse ${info.version} (table ${info.table}): it ignores ${this.config.idempotency_header}; use a ReplacingMergeTree or the clickhouse sink for insert deduplication`,
    );
    this.ctx.logger?.("info", `webhook sink aimed at ClickHouse ${info.version}, table ${info.table}`, {
      version: info.version,
    });
  }

  /** ClickHouse targets answer /ping; any other receiver only gets a TCP connect (no request it must handle). */
  async healthcheck(): Promise<void> {
    const url = new URL(this.config.url);
    if (this.clickhouse) {
      const res = await this.fetchClassified(new URL("/ping", url), { method: "GET" }, "healthcheck");
      await res.body?.cancel();
      return;
    }
    const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
    await new Promise<void>((resolve, reject) => {
      const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
      const socket = this.guard
        ? this.guard.connect({ host, port, timeout: this.config.timeout_ms }, false)
        : tcpConnect({ host, port, timeout: this.config.timeout_ms });
      socket.once("connect", () => {
        socket.destroy();
        resolve();
      });
      const fail = (err: unknown) => {
        socket.destroy();
        reject(
          egressError("healthcheck", url.host, err) ??
            sinkError(`webhook ${url.host} is unreachable: ${messageOf(err)}`, {}, { cause: err }),
        );
      };
      socket.once("error", fail);
      socket.once("timeout", () => fail(new Error(`connect timed out after ${this.config.timeout_ms} ms`)));
    });
  }

  async write(batch: SinkBatch): Promise<void> {
    if (isEmptyBatch(batch)) return;
    const body = this.config.format === "ndjson" ? ndjsonBody(batch) : jsonArrayBody(batch.chunks);
    const headers = { ...this.headers, [this.config.idempotency_header]: batch.dedupToken };
    const res = await this.fetchClassified(
      this.config.url,
      { method: this.config.method, headers, body },
      "write",
      {
        dedup_token: batch.dedupToken,
        rows: batch.rowCount,
      },
    );
    // Drain the body so the connection can be reused.
    await res.arrayBuffer().catch(() => undefined);
  }

  async close(): Promise<void> {
    for (const c of this.inflight)
      c.abort(new WeirError("SINK_RETRYABLE", "webhook sink closed", { retryable: true }));
    this.inflight.clear();
    await this.dispatcher?.destroy().catch(() => undefined);
  }

  /** fetch with the timeout, throwing a classified WeirError for anything but a 2xx (a 3xx is not followed). */
  private async fetchClassified(
    url: string | URL,
    init: { method: string; headers?: Record<string, string>; body?: string },
    what: string,
    details: Record<string, unknown> = {},
  ): Promise<WebhookResponse> {
    const controller = new AbortController();
    this.inflight.add(controller);
    const timer = setTimeout(
      () => controller.abort(new Error(`timed out after ${this.config.timeout_ms} ms`)),
      this.config.timeout_ms,
    );
    const target = new URL(url).host;
    try {
      let res: WebhookResponse;
      try {
        res = await webhookFetch(url, { ...init, signal: controller.signal }, this.dispatcher);
      } catch (err) {
        const refused = egressError(what, target, err, details);
        if (refused) throw refused;
        const reason = controller.signal.aborted ? messageOf(controller.signal.reason) : messageOf(err);
        throw sinkError(`webhook ${what} to ${target} failed: ${reason}`, {}, { cause: err, details });
      }
      if (res.ok) return res;
      if (isRedirect(res)) {
        await res.body?.cancel().catch(() => undefined);
        throw redirectError(what, target, res, details);
      }
      const text = await res.text().catch((err: unknown) => `(body unreadable: ${messageOf(err)})`);
      const header = res.headers.get("x-clickhouse-exception-code");
      // Only a ClickHouse answer's "Code: NNN" means a ClickHouse error code.
      const fromClickHouse = this.clickhouse !== undefined || hasClickHouseHeaders(res.headers);
      const code = fromClickHouse ? parseClickHouseCode(text, header) : undefined;
      const backoffMs = parseRetryAfter(res.headers.get("retry-after"));
      throw sinkError(
        `webhook ${what} to ${target} failed with HTTP ${res.status}: ${excerpt(text, 500)}`,
        { status: res.status, code, backoffMs },
        { details },
      );
    } finally {
      clearTimeout(timer);
      this.inflight.delete(controller);
    }
  }
}

/**
 * NDJSON chunks as one JSON array, by string surgery: a line is one JSON object and JSON escapes
 * newlines inside strings, so every "\n" is a row boundary and can become ",".
 */
export function jsonArrayBody(chunks: string[]): string {
  const parts = chunks.filter((c) => c.length > 0).map((c) => c.replaceAll("\n", ","));
  return `[${parts.join(",")}]`;
}

function hasClickHouseHeaders(h: WebhookResponse["headers"]): boolean {
  for (const k of h.keys()) if (k.startsWith("x-clickhouse-")) return true;
  return false;
}
