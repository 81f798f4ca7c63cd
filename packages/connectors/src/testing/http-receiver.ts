/**
 * A real HTTP receiver for webhook tests (node:http on 127.0.0.1:0). By default it accepts rows of
 * the conformance shape `{id: number, name: string, value: number}`, answers 400 for anything else,
 * and honours the idempotency key like a well-behaved API. Scripted answers (500, 429, hang, ...)
 * are served first, one per request.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { ConformanceRow } from "../sinks/conformance.ts";

export type Scripted = { status: number; headers?: Record<string, string>; body?: string } | "hang";

export interface ReceivedRequest {
  method: string;
  headers: IncomingMessage["headers"];
  body: string;
}

export class Receiver {
  readonly requests: ReceivedRequest[] = [];
  readonly script: Scripted[] = [];
  private readonly rowsByKey = new Map<string, ConformanceRow[]>();
  private readonly server: Server;
  private readonly hung: ServerResponse[] = [];
  url = "";

  private readonly idempotencyHeader: string;

  constructor(idempotencyHeader = "idempotency-key") {
    this.idempotencyHeader = idempotencyHeader;
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/ingest`;
    return this;
  }

  rows(): ConformanceRow[] {
    return [...this.rowsByKey.values()].flat().sort((a, b) => a.id - b.id);
  }

  async stop(): Promise<void> {
    for (const r of this.hung) r.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body = "";
    for await (const chunk of req) body += chunk;
    this.requests.push({ method: req.method ?? "", headers: req.headers, body });
    const next = this.script.shift();
    if (next === "hang") {
      this.hung.push(res);
      return;
    }
    if (next) {
      res.writeHead(next.status, next.headers).end(next.body ?? "");
      return;
    }
    const rows = parseBody(body, String(req.headers["content-type"]));
    if (!rows) {
      res
        .writeHead(400, { "content-type": "application/json" })
        .end('{"error":"rows do not match the schema"}');
      return;
    }
    const key = String(req.headers[this.idempotencyHeader] ?? `anonymous-${this.requests.length}`);
    if (!this.rowsByKey.has(key)) this.rowsByKey.set(key, rows);
    res.writeHead(200).end('{"ok":true}');
  }
}

function parseBody(body: string, contentType: string): ConformanceRow[] | undefined {
  try {
    const values: unknown[] = contentType.includes("ndjson")
      ? body
          .split("\n")
          .filter(Boolean)
          .map((l) => JSON.parse(l))
      : JSON.parse(body);
    if (!Array.isArray(values)) return undefined;
    const ok = values.every(
      (v) =>
        typeof v === "object" &&
        v !== null &&
        Object.keys(v).sort().join() === "id,name,value" &&
        typeof (v as ConformanceRow).id === "number" &&
        typeof (v as ConformanceRow).name === "string" &&
        typeof (v as ConformanceRow).value === "number",
    );
    return ok ? (values as ConformanceRow[]) : undefined;
  } catch {
    return undefined;
  }
}
