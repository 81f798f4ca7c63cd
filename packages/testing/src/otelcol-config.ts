/**
 * OpenTelemetry Collector configurations for tests, in the syntax of the release scripts/otelcol
 * builds (0.165): the Kafka exporter takes `topic` and `encoding` per signal (`traces:`, `logs:`),
 * and `producer.compression` picks the codec. Older configs, like the seed article's, put `topic`
 * and `encoding` at the exporter's top level, which this release rejects ("invalid keys").
 */
import { parse } from "yaml";
import { readFixture } from "./fixtures.ts";

/** A Collector configuration as the YAML file would hold it (JSON is valid YAML). */
export type CollectorConfig = Record<string, unknown>;

/** The codecs the Kafka exporter's `producer.compression` accepts. */
export type KafkaCompression = "none" | "gzip" | "snappy" | "lz4" | "zstd";

/** What one signal's Kafka messages are called and how they are encoded. */
export interface KafkaSignalOutput {
  topic: string;
  /** e.g. `otlp_json` (the article's) or `otlp_proto` (the exporter's default). */
  encoding: string;
}

/** Where the OTLP receiver listens, `host:port` each; `http` absent means gRPC only. */
export interface OtlpEndpoints {
  grpc: string;
  http?: string;
}

export interface KafkaCollectorConfigOptions {
  brokers: string[];
  traces?: KafkaSignalOutput;
  logs?: KafkaSignalOutput;
  compression: KafkaCompression;
  /** The batch processor's settings; `false` leaves the processor out. */
  batch?: { sendBatchSize?: number; timeout?: string } | false;
}

const SIGNALS = ["traces", "metrics", "logs"] as const;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
function child(parent: Obj, key: string): Obj {
  const v = parent[key];
  if (isObj(v)) return v;
  const fresh: Obj = {};
  parent[key] = fresh;
  return fresh;
}

/**
 * The collector's own metrics would listen on 127.0.0.1:8888 by default, so two collectors (two
 * test files, or a test beside the demo) would collide; tests read Kafka, not those metrics.
 */
function quietTelemetry(config: Obj): void {
  const telemetry = child(child(config, "service"), "telemetry");
  if (telemetry.metrics === undefined) telemetry.metrics = { level: "none" };
}

/** OTLP in, Kafka out: one pipeline per signal given, through the batch processor unless `batch: false`. */
export function kafkaCollectorConfig(
  opts: KafkaCollectorConfigOptions,
  endpoints: OtlpEndpoints,
): CollectorConfig {
  if (!opts.traces && !opts.logs) throw new Error("kafkaCollectorConfig: give traces, logs or both");
  const protocols: Obj = { grpc: { endpoint: endpoints.grpc } };
  if (endpoints.http) protocols.http = { endpoint: endpoints.http };
  const kafka: Obj = { brokers: opts.brokers, producer: { compression: opts.compression } };
  const pipelines: Obj = {};
  const processors: Obj = {};
  if (opts.batch !== false) {
    const batch: Obj = {};
    if (opts.batch?.sendBatchSize !== undefined) batch.send_batch_size = opts.batch.sendBatchSize;
    if (opts.batch?.timeout !== undefined) batch.timeout = opts.batch.timeout;
    processors.batch = batch;
  }
  for (const signal of ["traces", "logs"] as const) {
    const out = opts[signal];
    if (!out) continue;
    kafka[signal] = { topic: out.topic, encoding: out.encoding };
    pipelines[signal] = { receivers: ["otlp"], processors: Object.keys(processors), exporters: ["kafka"] };
  }
  const config: Obj = {
    receivers: { otlp: { protocols } },
    processors,
    exporters: { kafka },
    service: { pipelines },
  };
  quietTelemetry(config);
  return config;
}

/**
 * Rewrite an older Collector config's Kafka exporters to this release's syntax: a top-level
 * `topic`/`encoding` moves under each signal whose pipeline uses that exporter (unless the signal
 * already names its own). Everything else is kept as it was. Mutates and returns `config`.
 */
export function upgradeKafkaExporters(config: CollectorConfig): CollectorConfig {
  const exporters = isObj(config.exporters) ? config.exporters : {};
  const pipelines = isObj(config.service) && isObj(config.service.pipelines) ? config.service.pipelines : {};
  for (const [id, exporter] of Object.entries(exporters)) {
    if (!(id === "kafka" || id.startsWith("kafka/")) || !isObj(exporter)) continue;
    const { topic, encoding } = exporter;
    if (topic === undefined && encoding === undefined) continue;
    for (const [pipelineId, pipeline] of Object.entries(pipelines)) {
      const signal = SIGNALS.find((s) => pipelineId === s || pipelineId.startsWith(`${s}/`));
      if (
        !signal ||
        !isObj(pipeline) ||
        !Array.isArray(pipeline.exporters) ||
        !pipeline.exporters.includes(id)
      ) {
        continue;
      }
      const out = child(exporter, signal);
      if (topic !== undefined) out.topic ??= topic;
      if (encoding !== undefined) out.encoding ??= encoding;
    }
    delete exporter.topic;
    delete exporter.encoding;
  }
  return config;
}

export interface ArticleCollectorOptions {
  brokers: string[];
  /** Replaces the article's `otel-traces-raw`, so each test has its own topic. */
  topic: string;
  endpoints: OtlpEndpoints;
}

/**
 * The seed article's collector config (fixtures/seed-article/otel-collector.yaml, verbatim from the
 * article) in this release's syntax, pointed at the given brokers, topic and receiver endpoints.
 * Every other setting is the article's: otlp_json, snappy, batch 4096 / 1s, one traces pipeline.
 * The article's receiver is gRPC only, so an `http` endpoint is used only if the article has one.
 */
export function articleCollectorConfig(opts: ArticleCollectorOptions): CollectorConfig {
  const config = parse(readFixture("seed-article/otel-collector.yaml")) as Obj;
  upgradeKafkaExporters(config);
  const kafka = (config.exporters as Obj).kafka as Obj;
  kafka.brokers = opts.brokers;
  (kafka.traces as Obj).topic = opts.topic;
  const protocols = child(child(child(config, "receivers"), "otlp"), "protocols");
  (protocols.grpc as Obj).endpoint = opts.endpoints.grpc;
  if (isObj(protocols.http) && opts.endpoints.http) protocols.http.endpoint = opts.endpoints.http;
  quietTelemetry(config);
  return config;
}

/** The OTLP receiver's endpoints as a config sets them (`http` only when that protocol is on). */
export function otlpEndpointsOf(config: CollectorConfig): OtlpEndpoints {
  const protocols = ((config.receivers as Obj | undefined)?.otlp as Obj | undefined)?.protocols as
    | Obj
    | undefined;
  const grpc = (protocols?.grpc as Obj | undefined)?.endpoint;
  const http = (protocols?.http as Obj | undefined)?.endpoint;
  if (typeof grpc !== "string")
    throw new Error("collector config has no receivers.otlp.protocols.grpc.endpoint");
  return typeof http === "string" ? { grpc, http } : { grpc };
}
