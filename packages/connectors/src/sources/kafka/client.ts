/**
 * The Kafka side of a pipeline's source, client half: the kafkajs config (brokers, SASL, TLS) from a
 * spec, where a fresh consumer group starts, and how a message's value becomes the handler's input.
 * The consumer loop itself (offsets, pause/resume, batching) lives in the worker.
 */
import { brokerList, type KafkaSourceConfig, reveal, WeirError } from "@weir/core";
import {
  type KafkaConfig,
  type logCreator,
  KafkaLogLevel as logLevel,
  type SASLOptions,
} from "../../kafka/kafkajs.ts";

export interface KafkaClientOptions {
  /** kafkajs log sink; defaults to silence (the worker reports errors itself). */
  logCreator?: logCreator;
  logLevel?: logLevel;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
}

/**
 * kafkajs config from a source spec. `config.client_id` wins over `clientId`. SASL `plain`,
 * `scram-sha-256` and `scram-sha-512` map to kafkajs mechanisms; `tls: true` means TLS with the
 * system CAs, an object gives PEM `ca`/`cert`/`key` and `reject_unauthorized`. Secrets are revealed
 * here and nowhere else.
 */
export function kafkaClientConfig(
  source: KafkaSourceConfig,
  clientId: string,
  options: KafkaClientOptions = {},
): KafkaConfig {
  const config: KafkaConfig = {
    clientId: source.client_id ?? clientId,
    brokers: brokerList(source),
    logLevel: options.logLevel ?? logLevel.NOTHING,
    connectionTimeout: options.connectionTimeoutMs ?? 5000,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
  };
  if (options.logCreator) config.logCreator = options.logCreator;
  if (source.tls === true) config.ssl = true;
  else if (typeof source.tls === "object") {
    const key = reveal(source.tls.key);
    config.ssl = {
      ...(source.tls.ca !== undefined ? { ca: [source.tls.ca] } : {}),
      ...(source.tls.cert !== undefined ? { cert: source.tls.cert } : {}),
      ...(key !== undefined ? { key } : {}),
      ...(source.tls.reject_unauthorized !== undefined
        ? { rejectUnauthorized: source.tls.reject_unauthorized }
        : {}),
    };
  }
  if (source.sasl) config.sasl = saslOptions(source.sasl);
  return config;
}

function saslOptions(sasl: NonNullable<KafkaSourceConfig["sasl"]>): SASLOptions {
  const username = sasl.username;
  const password = reveal(sasl.password) ?? "";
  switch (sasl.mechanism) {
    case "plain":
      return { mechanism: "plain", username, password };
    case "scram-sha-256":
      return { mechanism: "scram-sha-256", username, password };
    case "scram-sha-512":
      return { mechanism: "scram-sha-512", username, password };
  }
}

/** Consumer group and start position of a source (`fromBeginning` applies only to a new group). */
export function consumerStart(
  source: KafkaSourceConfig,
  pipelineId: string,
): { groupId: string; fromBeginning: boolean } {
  return {
    groupId: source.group_id ?? `weir-${pipelineId}`,
    fromBeginning: (source.auto_offset_reset ?? "earliest") === "earliest",
  };
}

/**
 * The handler's input for a message value: the parsed JSON (`format: json`) or the UTF-8 text
 * (`format: text`). Throws DECODE_ERROR (the worker dead-letters the message at stage `decode`).
 */
export function decodeValue(value: Buffer | null, format: KafkaSourceConfig["format"]): unknown {
  if (value === null) throw new WeirError("DECODE_ERROR", "message has no value (tombstone)");
  const text = value.toString("utf8");
  if (format === "text") return text;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new WeirError("DECODE_ERROR", `message value is not JSON: ${(err as Error).message}`, {
      cause: err,
      details: { bytes: value.length },
    });
  }
}
