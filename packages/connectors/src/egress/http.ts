/**
 * HTTP connection pools whose every new socket passes the egress guard: a node `http(s).Agent` for
 * @clickhouse/client (its `http_agent` option) and an undici `Agent` for the webhook sink's fetch.
 * Both resolve names through the guard's lookup and check address literals themselves, since node
 * connects to a literal without a lookup.
 */
import http from "node:http";
import https from "node:https";
import type { Duplex } from "node:stream";
import { buildConnector, Agent as UndiciAgent } from "undici";
import type { EgressGuard } from "./guard.ts";

type CreateConnection = (
  options: http.ClientRequestArgs,
  callback: (err: Error | null, socket?: Duplex) => void,
) => Duplex | undefined;

/**
 * A keep-alive agent for `protocol` ("http:" or "https:") with at most `maxSockets` sockets, like
 * the ones @clickhouse/client builds for itself, whose connections pass `guard`.
 */
export function guardedHttpAgent(
  guard: EgressGuard,
  protocol: string,
  maxSockets: number,
): http.Agent | https.Agent {
  const options = { keepAlive: true, maxSockets, lookup: guard.lookup };
  const agent = protocol === "https:" ? new https.Agent(options) : new http.Agent(options);
  const base = (agent as unknown as { createConnection: CreateConnection }).createConnection.bind(agent);
  // A denied literal fails the request through the agent's callback (node then emits it on the request).
  (agent as unknown as { createConnection: CreateConnection }).createConnection = (opts, callback) => {
    const denied = guard.literalDenial(String(opts.host ?? opts.hostname ?? ""));
    if (denied) {
      callback(denied);
      return undefined;
    }
    return base(opts, callback);
  };
  return agent;
}

/** An undici dispatcher (for `fetch(url, { dispatcher })`) whose connections pass `guard`. */
export function guardedDispatcher(guard: EgressGuard): UndiciAgent {
  const connector = buildConnector({ lookup: guard.lookup });
  return new UndiciAgent({
    connect: (opts, callback) => {
      const denied = guard.literalDenial(opts.hostname);
      if (denied) return callback(denied, null);
      return connector(opts, callback);
    },
  });
}
