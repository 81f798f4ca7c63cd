/**
 * Realistic OTLP trace payloads: multi-service traces with parent/child trees, every attribute value
 * type, error statuses with exception events, sub-millisecond spans, health checks and PII attributes
 * (for the filter-enrich example), encoded as the Collector's otlp_json writes them or as the official
 * examples do (upper-case ids, 64-bit ints as JSON numbers).
 */
import type { OtlpExportTraceServiceRequest, OtlpKeyValue, OtlpSpan } from "@weir/core";
import {
  commonAttributes,
  dbAttributes,
  ERRORS,
  httpServerAttributes,
  int,
  piiAttributes,
  str,
} from "./attributes.ts";
import { encode } from "./encode.ts";
import { Rng } from "./rng.ts";

export interface TraceGeneratorOptions {
  /** Same seed + same options (including timeUnixNano) = same payload. Default 1. */
  seed?: number;
  /** Spans in the message, exactly. Default 20. */
  spansPerMessage?: number;
  /** Largest trace; a message holds ceil(spansPerMessage / spansPerTrace) traces or more. Default 8. */
  spansPerTrace?: number;
  /** Service names; the first is the entry point (the one receiving HTTP requests). */
  services?: readonly string[];
  /** Start time of the message's first trace. Default: now (the only impure default). */
  timeUnixNano?: bigint;
  /** Share of spans with status ERROR. Default 0.05. */
  errorRate?: number;
  /** Share of non-root spans shorter than 1 ms (the article drops these). Default 0.1. */
  subMillisecondRate?: number;
  /** Share of non-root spans that end before they start (clock skew). Default 0. */
  negativeDurationRate?: number;
  /** Share of traces that are a single `GET /healthz` span. Default 0.05. */
  healthCheckRate?: number;
  /** Share of entry spans carrying PII attributes (user.email, enduser.id, authorization...). Default 0.2. */
  piiRate?: number;
  /** "lower" like the Collector (default), "upper" like the official OTLP examples. */
  idCase?: "lower" | "upper";
  /** "string" like the Collector (default), "number" like the official examples (loses precision). */
  int64?: "string" | "number";
}

/** A generated message and what a consumer should make of it. */
export interface GeneratedTraces {
  request: OtlpExportTraceServiceRequest;
  spans: number;
  traces: number;
  /** Spans lasting >= 1 ms (not negative): the rows the otel-traces handler should emit. */
  expectedRows: number;
  /** Lower-case trace ids in generation order. */
  traceIds: string[];
}

export const DEFAULT_SERVICES = ["frontend", "checkout", "cart", "payment", "inventory", "shipping"] as const;

const ROUTES = ["/api/products", "/api/cart", "/api/checkout", "/api/orders/{id}", "/api/recommendations"];
const METHODS = ["GET", "GET", "GET", "POST", "PUT"];
const TABLES = ["orders", "carts", "products", "payments"];
const NS_PER_MS = 1_000_000n;

/** A span before encoding: bigint times, lower-case ids. */
export interface Model {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  service: string;
  name: string;
  kind: number;
  start: bigint;
  end: bigint;
  attributes: OtlpKeyValue[];
  status: OtlpSpan["status"];
  events: OtlpSpan["events"];
}

/** One ExportTraceServiceRequest (what the Collector puts in one Kafka message). Pure given timeUnixNano. */
export function generateTraceRequest(options: TraceGeneratorOptions = {}): OtlpExportTraceServiceRequest {
  return generateTraces(options).request;
}

/** Like generateTraceRequest, with the counts a test or benchmark checks against. */
export function generateTraces(options: TraceGeneratorOptions = {}): GeneratedTraces {
  const o = withDefaults(options);
  const rng = new Rng(o.seed);
  const models: Model[] = [];
  const traceIds: string[] = [];
  let t0 = o.timeUnixNano;
  while (models.length < o.spansPerMessage) {
    const remaining = o.spansPerMessage - models.length;
    const trace = rng.chance(o.healthCheckRate)
      ? [healthCheck(rng, o, t0)]
      : buildTrace(rng, o, t0, Math.min(remaining, rng.int(Math.ceil(o.spansPerTrace / 2), o.spansPerTrace)));
    traceIds.push(trace[0]!.traceId);
    models.push(...trace);
    t0 += BigInt(rng.int(1, 50)) * NS_PER_MS;
  }
  const expectedRows = models.filter((m) => m.end - m.start >= NS_PER_MS).length;
  return {
    request: encode(models, o),
    spans: models.length,
    traces: traceIds.length,
    expectedRows,
    traceIds,
  };
}

export type Resolved = Required<TraceGeneratorOptions>;

function withDefaults(o: TraceGeneratorOptions): Resolved {
  const resolved: Resolved = {
    seed: o.seed ?? 1,
    spansPerMessage: o.spansPerMessage ?? 20,
    spansPerTrace: o.spansPerTrace ?? 8,
    services: o.services ?? DEFAULT_SERVICES,
    timeUnixNano: o.timeUnixNano ?? BigInt(Date.now()) * NS_PER_MS,
    errorRate: o.errorRate ?? 0.05,
    subMillisecondRate: o.subMillisecondRate ?? 0.1,
    negativeDurationRate: o.negativeDurationRate ?? 0,
    healthCheckRate: o.healthCheckRate ?? 0.05,
    piiRate: o.piiRate ?? 0.2,
    idCase: o.idCase ?? "lower",
    int64: o.int64 ?? "string",
  };
  if (!Number.isInteger(resolved.spansPerMessage) || resolved.spansPerMessage < 0) {
    throw new RangeError(`spansPerMessage must be a non-negative integer, got ${resolved.spansPerMessage}`);
  }
  if (!Number.isInteger(resolved.spansPerTrace) || resolved.spansPerTrace < 1) {
    throw new RangeError(`spansPerTrace must be a positive integer, got ${resolved.spansPerTrace}`);
  }
  if (resolved.services.length === 0) throw new RangeError("services must not be empty");
  return resolved;
}

function buildTrace(rng: Rng, o: Resolved, t0: bigint, size: number): Model[] {
  const traceId = rng.hex(16);
  const entry = o.services[0]!;
  const method = rng.pick(METHODS);
  const route = rng.pick(ROUTES);
  const rootDuration = BigInt(rng.int(20, 800)) * NS_PER_MS + BigInt(rng.int(0, 999_999));
  const root = span(rng, o, { traceId, parent: "" }, entry, `${method} ${route}`, 2, t0, t0 + rootDuration);
  root.attributes.push(...httpServerAttributes(rng, method, route, root.status?.code === 2));
  if (rng.chance(o.piiRate)) root.attributes.push(...piiAttributes(rng));
  const spans = [root];
  for (let i = 1; i < size; i++) {
    const parent = rng.pick(spans);
    const remote = o.services.length > 1 && rng.chance(0.6);
    const service = remote ? rng.pick(o.services.filter((s) => s !== parent.service)) : parent.service;
    const [name, kind] = remote
      ? [`${service}.${rng.pick(["Get", "Put", "Reserve", "Charge"])}`, 2]
      : local(rng);
    const window = parent.end > parent.start ? parent.end - parent.start : NS_PER_MS;
    const start = parent.start + (window * BigInt(rng.int(0, 60))) / 100n;
    let duration = ((parent.start + window - start) * BigInt(rng.int(10, 90))) / 100n;
    // Keep clear of the 1 ms cut-off so number-encoded times (rounded to ~256 ns) drop the same spans.
    if (duration < 1_010_000n) duration = 1_010_000n + BigInt(rng.int(0, 5_000_000));
    if (rng.chance(o.subMillisecondRate)) duration = BigInt(rng.int(10_000, 990_000));
    if (rng.chance(o.negativeDurationRate)) duration = -BigInt(rng.int(1, 5)) * NS_PER_MS;
    const child = span(
      rng,
      o,
      { traceId, parent: parent.spanId },
      service,
      name,
      kind,
      start,
      start + duration,
    );
    if (kind === 3) child.attributes.push(...dbAttributes(rng, name));
    spans.push(child);
  }
  return spans;
}

function local(rng: Rng): [string, number] {
  if (rng.chance(0.5)) return [`SELECT ${rng.pick(TABLES)}`, 3];
  return [rng.pick(["render", "validate", "serialize", "cache.lookup"]), 1];
}

function healthCheck(rng: Rng, o: Resolved, t0: bigint): Model {
  const path = rng.pick(["/health", "/healthz", "/ready"]);
  const s = span(
    rng,
    o,
    { traceId: rng.hex(16), parent: "" },
    rng.pick(o.services),
    `GET ${path}`,
    2,
    t0,
    t0 + 2n * NS_PER_MS,
  );
  s.status = {};
  s.events = [];
  s.attributes = [str("http.request.method", "GET"), str("url.path", path), str("http.target", path)];
  s.attributes.push(int("http.response.status_code", 200n));
  return s;
}

function span(
  rng: Rng,
  o: Resolved,
  ids: { traceId: string; parent: string },
  service: string,
  name: string,
  kind: number,
  start: bigint,
  end: bigint,
): Model {
  const model: Model = {
    traceId: ids.traceId,
    spanId: rng.hex(8),
    parentSpanId: ids.parent,
    service,
    name,
    kind,
    start,
    end,
    attributes: commonAttributes(rng),
    // The Collector writes an unset status as {}; OK is rare in practice (only set explicitly).
    status: rng.chance(0.1) ? { code: 1 } : {},
    events: [],
  };
  if (rng.chance(o.errorRate)) {
    const [type, message] = rng.pick(ERRORS);
    model.status = { code: 2, message };
    model.events = [
      {
        timeUnixNano: String(end),
        name: "exception",
        attributes: [str("exception.type", type), str("exception.message", message)],
      },
    ];
  }
  return model;
}
