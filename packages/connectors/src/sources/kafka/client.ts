/**
 * The Kafka side of a pipeline's source, client half: the kafkajs config (brokers, SASL, TLS) from a
 * spec. The consumer loop itself (offsets, pause/resume, batching) lives in the worker; decoding a
 * message's value happens in the sandbox.
 */
import { brokerList, type EgressPolicy, type KafkaSourceConfig, reveal } from "@weir/core";
import { egressGuard } from "../../egress/guard.ts";
import {
  type KafkaConfig,
  type logCreator,
  KafkaLogLevel as logLevel,
  type SASLOptions,
} from "../../kafka/kafkajs.ts";
import { egressSocketFactory } from "../../kafka/socket-factory.ts";

export interface KafkaClientOptions {
  /** kafkajs log sink; defaults to silence (the worker reports errors itself). */
  logCreator?: logCreator;
  logLevel?: logLevel;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  /**
   * The egress policy to enforce on every broker connection, bootstrap and advertised alike (see
   * `src/kafka/socket-factory.ts`). Absent: kafkajs's own socket factory, no check.
   */
  egress?: EgressPolicy | undefined;
}

/**
 * kafkajs config from a source spec. `config.client_id` wins over `clientId`. SASL `plain`,
 * `scram-sha-256` and `scram-sha-512` map to kafkajs mechanisms; `tls: true` means TLS with the
 * system CAs, an object gives PEM `ca`/`cert`/`key` and `reject_unauthorized`. Secrets are revealed
 * here and nowhere else. With `options.egress`, every socket the client opens passes the policy.
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
  if (options.egress) config.socketFactory = egressSocketFactory(egressGuard(options.egress));
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
