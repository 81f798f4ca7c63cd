/**
 * The test broker's SASL_SSL listener, as `scripts/services up` describes it in `sasl.json` next to
 * the broker's data: address, CA and the fixed test users. Tests that need it read it from here, so
 * they follow whichever broker the environment points at (a private one via WEIR_STATE_DIR).
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { KafkaSourceConfig } from "@weir/core";

/** The SASL mechanisms the test broker enables. */
export type TestSaslMechanism = "scram-sha-512" | "plain";

export interface KafkaSaslTestConfig {
  /** Bootstrap servers of the SASL_SSL listener (`WEIR_KAFKA_SASL_BROKERS` wins over the file). */
  brokers: string[];
  /** Path of the throwaway CA that signed the broker certificate. */
  caPath: string;
  /** That CA, PEM. */
  ca: string;
  users: Record<TestSaslMechanism, { username: string; password: string }>;
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

/**
 * Where `sasl.json` is: `WEIR_KAFKA_SASL_JSON`, else `$WEIR_STATE_DIR/services/kafka/sasl.json`, else
 * `.weir/services/kafka/sasl.json` under the repository root (the shared broker).
 */
export function kafkaSaslConfigPath(): string {
  if (process.env.WEIR_KAFKA_SASL_JSON) return process.env.WEIR_KAFKA_SASL_JSON;
  const state = process.env.WEIR_STATE_DIR ?? join(ROOT, ".weir");
  return join(state, "services", "kafka", "sasl.json");
}

/** True when the broker in use was started with a SASL_SSL listener (its `sasl.json` exists). */
export function kafkaSaslAvailable(): boolean {
  return existsSync(kafkaSaslConfigPath());
}

/** The SASL_SSL listener's address, CA and users; throws with the path it tried when there is none. */
export function kafkaSaslConfig(): KafkaSaslTestConfig {
  const path = kafkaSaslConfigPath();
  if (!existsSync(path)) {
    throw new Error(
      `no SASL_SSL listener description at ${path}: start the broker with scripts/services up ` +
        "(or restart it with the current script), or set WEIR_KAFKA_SASL_JSON",
    );
  }
  const file = JSON.parse(readFileSync(path, "utf8")) as {
    brokers: string;
    ca: string;
    users: KafkaSaslTestConfig["users"];
  };
  const brokers = (process.env.WEIR_KAFKA_SASL_BROKERS ?? file.brokers)
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  return { brokers, caPath: file.ca, ca: readFileSync(file.ca, "utf8"), users: file.users };
}

/**
 * The connection part of a pipeline's Kafka source for the SASL_SSL listener, as a user would write
 * it: `bootstrap_servers`, `sasl` with the test user of `mechanism`, `tls: { ca }`.
 * `password` and `tls` override the test ones (a wrong password, `true` for the system CAs).
 */
export function kafkaSaslSource(
  mechanism: TestSaslMechanism,
  override: { password?: string; tls?: KafkaSourceConfig["tls"] } = {},
): Pick<KafkaSourceConfig, "bootstrap_servers" | "sasl" | "tls"> {
  const c = kafkaSaslConfig();
  const user = c.users[mechanism];
  return {
    bootstrap_servers: c.brokers.join(","),
    sasl: { mechanism, username: user.username, password: { secret: override.password ?? user.password } },
    tls: override.tls ?? { ca: c.ca },
  };
}
