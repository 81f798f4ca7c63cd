/**
 * The egress policy enforced per socket, as each connection opens: the check before a pipeline
 * starts (@weir/core `checkEgress`) sees only the configured hosts, once; this guard also sees the
 * brokers a Kafka cluster advertises in its metadata, and the address a name resolves to at the very
 * moment of connecting (no DNS rebinding between the check and the connection).
 *
 * {@link EgressGuard.lookup} has the signature of node's `dns.lookup` and goes into the `lookup`
 * option of `net.connect`, `tls.connect`, an `http(s).Agent` or undici's connector: it resolves with
 * `dns.lookup` (all addresses) and refuses the connection when the policy refuses the name or any of
 * its addresses. Node does not call `lookup` for an address literal, so every connector here checks
 * literals itself ({@link EgressGuard.literalDenial}). A refusal is a WeirError `EGRESS_DENIED`
 * (retryable: DNS and the policy may change) naming the host, the address and the rule.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from "node:dns";
import net, { type LookupFunction } from "node:net";
import tls from "node:tls";
import { type EgressPolicy, egressDenial, isWeirError, WeirError } from "@weir/core";

export interface EgressGuard {
  readonly policy: EgressPolicy;
  /** `dns.lookup` that refuses what the policy denies (for names; node skips it for literals). */
  readonly lookup: LookupFunction;
  /** The refusal for `host` when it is an address literal the policy denies; undefined otherwise. */
  literalDenial(host: string): WeirError | undefined;
  /**
   * `net.connect` (or `tls.connect` when `secure`) with the guard's lookup; a denied literal gives a
   * socket that emits the refusal as its `error` on the next tick, as a failed connect would.
   */
  connect(
    options: net.NetConnectOpts & tls.ConnectionOptions & { host: string; port: number },
    secure: boolean,
    onConnect?: () => void,
  ): net.Socket;
}

function unbracket(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

function refusal(host: string, d: NonNullable<ReturnType<typeof egressDenial>>): WeirError {
  return new WeirError("EGRESS_DENIED", `connection to ${host} refused: ${d.message}`, {
    retryable: true,
    details: {
      host: d.host,
      ...(d.address ? { address: d.address } : {}),
      ...(d.rule ? { rule: d.rule } : {}),
    },
  });
}

/** A guard enforcing `policy` (the operator's rules plus the default deny rules, as @weir/core builds it). */
export function egressGuard(policy: EgressPolicy): EgressGuard {
  const literalDenial = (host: string): WeirError | undefined => {
    const h = unbracket(host);
    // Exactly the hosts node connects to without a lookup. A literal core cannot read (a zone id it
    // does not know) is checked as an address that is no IP address: refused, never let through.
    if (net.isIP(h) === 0) return undefined;
    const d = egressDenial(policy, h, [h]);
    return d ? refusal(h, d) : undefined;
  };

  const lookup = ((
    hostname: string,
    options: LookupOptions | number | ((...args: unknown[]) => void),
    callback?: (
      err: NodeJS.ErrnoException | null,
      address: string | LookupAddress[],
      family?: number,
    ) => void,
  ): void => {
    // The forms of dns.lookup: (host, cb), (host, family, cb), (host, options, cb).
    let cb = callback;
    let opts: LookupOptions = {};
    if (typeof options === "function") cb = options as typeof callback;
    else if (typeof options === "number") opts = { family: options };
    else if (options) opts = options;
    const done = cb as NonNullable<typeof callback>;
    // Every address, whatever the caller asked for: the one it gets is the first of the same answer.
    dnsLookup(hostname, { ...opts, all: true }, (err, addresses) => {
      if (err) return done(err, opts.all ? [] : "");
      const d = egressDenial(
        policy,
        hostname,
        addresses.map((a) => a.address),
      );
      if (d) return done(refusal(hostname, d), opts.all ? [] : "");
      if (opts.all) return done(null, addresses);
      const first = addresses[0] as LookupAddress;
      done(null, first.address, first.family);
    });
  }) as LookupFunction;

  const connect: EgressGuard["connect"] = (options, secure, onConnect) => {
    const denied = literalDenial(options.host);
    if (denied) {
      const socket = new net.Socket();
      process.nextTick(() => socket.destroy(denied));
      return socket;
    }
    const opts = { ...options, lookup };
    return secure ? tls.connect(opts, onConnect) : net.connect(opts, onConnect);
  };

  return { policy, lookup, literalDenial, connect };
}

/** The guard's refusal inside `err` (itself, or along `cause` / kafkajs's `originalError`), if any. */
export function egressRefusal(err: unknown): WeirError | undefined {
  let cur: unknown = err;
  for (let i = 0; i < 10 && typeof cur === "object" && cur !== null; i++) {
    if (isWeirError(cur) && cur.code === "EGRESS_DENIED") return cur;
    const e = cur as { cause?: unknown; originalError?: unknown };
    cur = e.cause ?? e.originalError;
  }
  return undefined;
}
