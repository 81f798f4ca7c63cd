/**
 * A webhook receiver that misbehaves on cue: answers 500, 429 with Retry-After, or takes the rows
 * and answers too late (the sender times out, so it cannot know they arrived). It keeps rows per
 * idempotency key like a well-behaved API, and counts what a receiver without dedup would hold.
 */
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type Mode = "ok" | "500" | "429" | "slow";

export class FlakyReceiver {
  mode: Mode = "ok";
  /** Rows by idempotency key: what a receiver honouring the key keeps. */
  readonly byKey = new Map<string, { id: number }[]>();
  /** Every row received and stored (including replays dropped by key). */
  rawRows = 0;
  readonly answers: Record<string, number> = {};
  url = "";
  private readonly server: Server;
  private readonly late = new Set<ServerResponse>();

  private readonly lateMs: number;
  constructor(lateMs: number) {
    this.lateMs = lateMs;
    this.server = createServer(async (req, res) => {
      let body = "";
      for await (const chunk of req) body += chunk;
      const mode = this.mode;
      this.answers[mode] = (this.answers[mode] ?? 0) + 1;
      if (mode === "500") return void res.writeHead(500).end("upstream exploded");
      if (mode === "429") return void res.writeHead(429, { "retry-after": "1" }).end("slow down");
      const rows = body
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { id: number });
      const key = String(req.headers["idempotency-key"] ?? "");
      this.rawRows += rows.length;
      if (!this.byKey.has(key)) this.byKey.set(key, rows);
      if (mode === "slow") {
        // Stored, but the answer comes after the sender gave up.
        this.late.add(res);
        setTimeout(() => {
          this.late.delete(res);
          res.writeHead(200).end("{}");
        }, this.lateMs);
        return;
      }
      res.writeHead(200).end("{}");
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/ingest`;
    return this;
  }

  /** Ids after dedup by key, with how many times each appears across distinct keys. */
  ids(): Map<number, number> {
    const out = new Map<number, number>();
    for (const rows of this.byKey.values()) for (const r of rows) out.set(r.id, (out.get(r.id) ?? 0) + 1);
    return out;
  }

  async stop(): Promise<void> {
    for (const r of this.late) r.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
