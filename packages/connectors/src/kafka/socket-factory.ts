/**
 * A kafkajs `socketFactory` that enforces the egress policy on every broker connection: the bootstrap
 * servers and every broker the cluster advertises in its metadata (which kafkajs dials as told), each
 * time a socket opens. It is kafkajs 2.x's default factory (TLS with SNI for names, keep-alive after
 * 60 s) with the guard's lookup, and address literals checked before any connect.
 */
import net from "node:net";
import type { EgressGuard } from "../egress/guard.ts";
import type { ISocketFactory } from "./kafkajs.ts";

const KEEP_ALIVE_DELAY_MS = 60_000; // as kafkajs's own factory

export function egressSocketFactory(guard: EgressGuard): ISocketFactory {
  return ({ host, port, ssl, onConnect }) => {
    // kafkajs passes `ssl: true` for TLS with defaults, an object for options, falsy for plaintext.
    const tlsOptions = ssl && typeof ssl === "object" ? ssl : {};
    const socket = ssl
      ? guard.connect(
          { host, port, ...(net.isIP(host) ? {} : { servername: host }), ...tlsOptions },
          true,
          onConnect,
        )
      : guard.connect({ host, port }, false, onConnect);
    socket.setKeepAlive(true, KEEP_ALIVE_DELAY_MS);
    return socket;
  };
}
