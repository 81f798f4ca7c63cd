/**
 * The egress policy: which hosts a tenant's pipeline may make Weir connect to, so nobody reaches the
 * operator's internal services through Weir. The destinations are the Kafka source's bootstrap
 * servers (also the dead-letter topic's cluster), and the ClickHouse and webhook sinks' URLs; the
 * embedded ClickHouse sink has none.
 *
 * A rule is a CIDR range (IPv4 or IPv6; a bare address means /32 or /128) or a host name (exact, or
 * `*.example.com` for every name under example.com), case-insensitive. A destination is allowed
 * iff it matches no deny rule and (the allow list is empty or it matches an allow rule). The
 * {@link DEFAULT_EGRESS_DENY} rules always apply on top of the operator's deny list.
 *
 * Two checks: {@link egressIssues} is static (address literals against CIDRs, names against name
 * rules, no DNS; the API runs it on create and update); {@link checkEgress} runs before a worker
 * connects and also resolves names, so a name that resolves to a denied address is refused. Names
 * are resolved with the system resolver (`/etc/hosts` included), as the Kafka client and the sinks do.
 */
import { lookup } from "node:dns/promises";
import ipaddr from "ipaddr.js";
import { WeirError } from "./errors.ts";
import { brokerList, type PipelineSpec, type SpecIssue } from "./spec.ts";

type Ip = ipaddr.IPv4 | ipaddr.IPv6;

export type EgressRule =
  | { kind: "cidr"; text: string; builtin: boolean; range: [Ip, number] }
  | { kind: "name"; text: string; builtin: boolean; name: string; suffix: boolean };

export interface EgressPolicy {
  allow: EgressRule[];
  /** The operator's deny rules followed by {@link DEFAULT_EGRESS_DENY}. */
  deny: EgressRule[];
}

/** The operator's lists as set on the API and sent to workers (without the defaults). */
export interface EgressLists {
  allow: string[];
  deny: string[];
}

/**
 * Denied whatever the operator configures:
 * - `169.254.0.0/16`, `fe80::/10`: link-local, home of the cloud metadata services at 169.254.169.254
 *   (AWS, GCP, Azure, Oracle, OpenStack, DigitalOcean) and AWS ECS's task metadata at 169.254.170.2;
 * - `fd00:ec2::254/128`: AWS's metadata service over IPv6;
 * - `100.100.100.200/32`: Alibaba Cloud's metadata service;
 * - `0.0.0.0/8`, `::/128`: "this host"; connecting to 0.0.0.0 or :: reaches the local machine;
 * - `metadata.google.internal`: GCP's metadata name (it resolves to 169.254.169.254 anyway).
 */
export const DEFAULT_EGRESS_DENY: readonly string[] = [
  "169.254.0.0/16",
  "fe80::/10",
  "fd00:ec2::254/128",
  "100.100.100.200/32",
  "0.0.0.0/8",
  "::/128",
  "metadata.google.internal",
];

const LABEL = "[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?";
const NAME_RE = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`);

/** An address literal (dotted-quad IPv4 or IPv6, brackets allowed), IPv4-mapped IPv6 as IPv4. */
function literalIp(host: string): Ip | undefined {
  const h = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  if (ipaddr.IPv4.isValidFourPartDecimal(h)) return ipaddr.IPv4.parse(h);
  if (ipaddr.IPv6.isValid(h)) return ipaddr.process(h);
  return undefined;
}

/** One rule from its text; throws an Error saying why the text is not a rule. */
export function parseEgressRule(entry: string, builtin = false): EgressRule {
  const text = entry.trim().toLowerCase();
  if (text.includes("/")) {
    if (!ipaddr.IPv4.isValidCIDRFourPartDecimal(text) && !ipaddr.IPv6.isValidCIDR(text))
      throw new Error("not a CIDR range (expected e.g. 10.0.0.0/8 or fd00::/8)");
    let [addr, bits] = ipaddr.parseCIDR(text);
    // Addresses are compared with IPv4-mapped IPv6 turned into IPv4: do the same to the range.
    if (addr.kind() === "ipv6" && (addr as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
      addr = (addr as ipaddr.IPv6).toIPv4Address();
      bits -= 96;
    }
    return { kind: "cidr", text, builtin, range: [addr, bits] };
  }
  const ip = literalIp(text);
  if (ip) return { kind: "cidr", text, builtin, range: [ip, ip.kind() === "ipv4" ? 32 : 128] };
  const suffix = text.startsWith("*.");
  const name = (suffix ? text.slice(2) : text).replace(/\.$/, "");
  if (!NAME_RE.test(name))
    throw new Error("not an IP address, CIDR range or host name (*.example.com for every name under it)");
  return { kind: "name", text, builtin, name, suffix };
}

/** Comma-separated list to entries (blank entries ignored). */
export function splitEgressList(text: string | undefined): string[] {
  return (text ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

function rules(entries: readonly string[], label: string): EgressRule[] {
  return entries.map((e) => {
    try {
      return parseEgressRule(e);
    } catch (err) {
      throw new Error(`${label}: bad entry ${JSON.stringify(e)}: ${(err as Error).message}`);
    }
  });
}

const DEFAULT_RULES = DEFAULT_EGRESS_DENY.map((e) => parseEgressRule(e, true));

/** The policy of the operator's lists plus the default deny rules; errors name `labels` and the entry. */
export function egressPolicyFromLists(
  lists: Partial<EgressLists> = {},
  labels: { allow: string; deny: string } = { allow: "egress allow list", deny: "egress deny list" },
): EgressPolicy {
  return {
    allow: rules(lists.allow ?? [], labels.allow),
    deny: [...rules(lists.deny ?? [], labels.deny), ...DEFAULT_RULES],
  };
}

/** The policy from the API's WEIR_EGRESS_ALLOW / WEIR_EGRESS_DENY (comma-separated lists). */
export function parseEgressPolicy(allow: string | undefined, deny: string | undefined): EgressPolicy {
  return egressPolicyFromLists(
    { allow: splitEgressList(allow), deny: splitEgressList(deny) },
    { allow: "WEIR_EGRESS_ALLOW", deny: "WEIR_EGRESS_DENY" },
  );
}

function matchIp(list: EgressRule[], ip: Ip): EgressRule | undefined {
  return list.find((r) => r.kind === "cidr" && r.range[0].kind() === ip.kind() && ip.match(r.range));
}

function matchName(list: EgressRule[], host: string): EgressRule | undefined {
  return list.find((r) => r.kind === "name" && (r.suffix ? host.endsWith(`.${r.name}`) : host === r.name));
}

function ruleText(r: EgressRule): string {
  return r.builtin ? `default rule ${r.text}` : `rule ${r.text}`;
}

/** A destination of a spec: the field naming it and its host (lower case, no brackets or final dot). */
export interface EgressTarget {
  path: string;
  host: string;
}

function canonical(host: string): string {
  return host
    .toLowerCase()
    .replace(/^\[(.*)\]$/, "$1")
    .replace(/\.+$/, "");
}

function urlHost(url: string): string | undefined {
  try {
    return canonical(new URL(url).hostname) || undefined;
  } catch {
    return undefined; // no host to connect to
  }
}

function normalised(host: string): string {
  try {
    return canonical(new URL(`http://${host}/`).hostname);
  } catch {
    return canonical(host);
  }
}

/**
 * A broker's hosts: the one the Kafka client dials (everything before the first colon, IPv4
 * shorthands such as 0x7f.1 read as the resolver reads them) and, for an IPv6 literal (`[::1]:9092`,
 * `fe80::1`), that address too, in case a client reads it so.
 */
function brokerHosts(broker: string): string[] {
  const out = new Set<string>();
  const dialed = broker.split(":")[0]?.trim() ?? "";
  if (dialed) out.add(normalised(dialed));
  const v6 = /^\[([^\]]+)\]/.exec(broker)?.[1] ?? broker.trim();
  if (ipaddr.IPv6.isValid(v6)) out.add(canonical(v6));
  return [...out];
}

/** Every destination of a spec. `scope` "source": only the Kafka cluster (the API's DLQ reads). */
export function egressTargets(spec: PipelineSpec, scope: "all" | "source" = "all"): EgressTarget[] {
  const out: EgressTarget[] = [];
  if (spec.source.type === "kafka") {
    const b = spec.source.config.bootstrap_servers;
    const path = "/source/config/bootstrap_servers";
    if (Array.isArray(b)) {
      b.forEach((entry, i) => {
        for (const broker of brokerList({ bootstrap_servers: entry }))
          for (const host of brokerHosts(broker)) out.push({ path: `${path}/${i}`, host });
      });
    } else {
      for (const broker of brokerList({ bootstrap_servers: b }))
        for (const host of brokerHosts(broker)) out.push({ path, host });
    }
  }
  if (scope === "all" && (spec.sink.type === "clickhouse" || spec.sink.type === "webhook")) {
    const host = urlHost(spec.sink.config.url);
    if (host) out.push({ path: "/sink/config/url", host });
  }
  return out;
}

interface Denial {
  message: string;
  rule?: EgressRule;
  address?: string;
}

/** The static verdict: literals against CIDRs, names against name rules. Undefined = not denied (yet). */
function staticDenial(policy: EgressPolicy, host: string): Denial | undefined {
  const ip = literalIp(host);
  if (ip) {
    const denied = matchIp(policy.deny, ip);
    if (denied)
      return { message: `${host} is denied by the egress policy (${ruleText(denied)})`, rule: denied };
    if (policy.allow.length > 0 && !matchIp(policy.allow, ip))
      return { message: `${host} is not in the egress allow list` };
    return undefined;
  }
  const denied = matchName(policy.deny, host);
  if (denied)
    return { message: `host ${host} is denied by the egress policy (${ruleText(denied)})`, rule: denied };
  // A name outside the allowed names may still resolve into an allowed range: decided at connect.
  if (
    policy.allow.length > 0 &&
    !matchName(policy.allow, host) &&
    !policy.allow.some((r) => r.kind === "cidr")
  )
    return { message: `host ${host} is not in the egress allow list` };
  return undefined;
}

/** True when `host` is an address literal (checked in full by the static check). */
function isLiteral(host: string): boolean {
  return literalIp(host) !== undefined;
}

/** The static check (no DNS): one issue per denied destination, naming its field. */
export function egressIssues(policy: EgressPolicy, spec: PipelineSpec): SpecIssue[] {
  const issues: SpecIssue[] = [];
  for (const t of egressTargets(spec)) {
    const d = staticDenial(policy, t.host);
    if (d) issues.push({ path: t.path, message: d.message });
  }
  return issues;
}

function deny(t: EgressTarget, d: Denial): WeirError {
  return new WeirError("EGRESS_DENIED", `${t.path}: ${d.message}`, {
    // DNS may change, and so may the operator's policy: the worker keeps retrying with backoff.
    retryable: true,
    details: {
      path: t.path,
      host: t.host,
      ...(d.address ? { address: d.address } : {}),
      ...(d.rule ? { rule: d.rule.text } : {}),
    },
  });
}

/** The verdict on one resolved name: every address must pass. */
function resolvedDenial(
  policy: EgressPolicy,
  host: string,
  addresses: { address: string }[],
): Denial | undefined {
  for (const { address } of addresses) {
    const ip = literalIp(address);
    if (!ip) return { message: `host ${host} resolves to ${address}, which is not an IP address`, address };
    const denied = matchIp(policy.deny, ip);
    if (denied)
      return {
        message: `host ${host} resolves to ${address}, denied by the egress policy (${ruleText(denied)})`,
        rule: denied,
        address,
      };
  }
  if (policy.allow.length > 0 && !matchName(policy.allow, host)) {
    for (const { address } of addresses) {
      const ip = literalIp(address) as Ip;
      if (!matchIp(policy.allow, ip))
        return {
          message: `host ${host} resolves to ${address}, which is not in the egress allow list`,
          address,
        };
    }
  }
  return undefined;
}

/**
 * The check before connecting: the static check, then every name resolved (all addresses) and each
 * address checked. Throws WeirError EGRESS_DENIED (retryable) naming the field, the host and the
 * address; a name that does not resolve is refused too, since it cannot be checked.
 */
export async function checkEgress(
  policy: EgressPolicy,
  spec: PipelineSpec,
  scope: "all" | "source" = "all",
): Promise<void> {
  const resolved = new Map<string, Promise<{ address: string }[]>>();
  for (const t of egressTargets(spec, scope)) {
    const d = staticDenial(policy, t.host);
    if (d) throw deny(t, d);
    if (isLiteral(t.host)) continue;
    let pending = resolved.get(t.host);
    if (!pending) {
      pending = lookup(t.host, { all: true });
      pending.catch(() => undefined);
      resolved.set(t.host, pending);
    }
    let addresses: { address: string }[];
    try {
      addresses = await pending;
    } catch (err) {
      throw deny(t, {
        message: `host ${t.host} does not resolve (${(err as { code?: string }).code ?? (err as Error).message}), so it cannot be checked against the egress policy`,
      });
    }
    if (addresses.length === 0)
      throw deny(t, {
        message: `host ${t.host} resolves to no address, so it cannot be checked against the egress policy`,
      });
    const r = resolvedDenial(policy, t.host, addresses);
    if (r) throw deny(t, r);
  }
}

/** Why the policy refuses one connection (see {@link egressDenial}). */
export interface EgressDenial {
  message: string;
  /** The host as dialled (lower case, no brackets or final dot). */
  host: string;
  /** The resolved address that was refused, when an address was. */
  address?: string;
  /** The text of the deny rule that matched, when one did. */
  rule?: string;
}

/**
 * The verdict on one connection, synchronously, for the checks made as each socket opens (the
 * destinations a Kafka cluster advertises, a name resolved again just before connecting): `host` as
 * dialled, a name or an address literal, and for a name every address it resolved to. A literal is
 * checked by itself (`addresses` ignored); a name against the name rules, then each address, all of
 * which must pass, as in {@link checkEgress}. A name with no address is refused, since it cannot be
 * checked. Undefined: allowed.
 */
export function egressDenial(
  policy: EgressPolicy,
  host: string,
  addresses: readonly string[] = [],
): EgressDenial | undefined {
  const h = canonical(host);
  const of = (d: Denial): EgressDenial => ({
    message: d.message,
    host: h,
    ...(d.address ? { address: d.address } : {}),
    ...(d.rule ? { rule: d.rule.text } : {}),
  });
  const s = staticDenial(policy, h);
  if (s) return of(s);
  if (isLiteral(h)) return undefined;
  if (addresses.length === 0)
    return of({
      message: `host ${h} resolves to no address, so it cannot be checked against the egress policy`,
    });
  const r = resolvedDenial(
    policy,
    h,
    addresses.map((address) => ({ address })),
  );
  return r ? of(r) : undefined;
}
