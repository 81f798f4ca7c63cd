/**
 * Helpers for tests that talk to the real services started by `scripts/services`.
 * Addresses come from the environment so CI and developers can move ports.
 */
import { randomBytes } from "node:crypto";

/** Kafka bootstrap servers (`KAFKA_BROKERS`, comma-separated; default 127.0.0.1:9092). */
export function kafkaBrokers(): string[] {
  return (process.env.KAFKA_BROKERS ?? `127.0.0.1:${process.env.WEIR_KAFKA_PORT ?? "9092"}`)
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

/** ClickHouse server HTTP URL (`CLICKHOUSE_URL`; default http://127.0.0.1:8123). */
export function clickhouseUrl(): string {
  return process.env.CLICKHOUSE_URL ?? `http://127.0.0.1:${process.env.WEIR_CLICKHOUSE_HTTP_PORT ?? "8123"}`;
}

/** A name unique to this test run, safe for Kafka topics and ClickHouse identifiers. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString("hex")}`;
}

/**
 * Poll `probe` until it returns a truthy value or `timeoutMs` passes; returns that value. Errors
 * kafkajs marks retriable count as "not yet"; any other error ends the wait.
 */
export async function waitFor<T>(
  probe: () => Promise<T> | T,
  { timeoutMs = 30_000, intervalMs = 200, what = "condition" } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    try {
      last = await probe();
    } catch (err) {
      // A transient broker answer (kafkajs marks them retriable, e.g. NOT_COORDINATOR while a
      // group's coordinator moves) means "not yet"; anything else fails the wait at once.
      if (!(err as { retriable?: unknown } | null)?.retriable || Date.now() > deadline) throw err;
      last = undefined;
    }
    if (last) return last as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export {
  BUNDLE_FIXTURE_NAMESPACE,
  BUNDLE_FIXTURE_THROW,
  bundleFixtureEntry,
  bundleFixtureRow,
} from "./bundle-fixture.ts";
export { fixturePath, readFixture } from "./fixtures.ts";
export * as hostile from "./hostile.ts";
export {
  type KafkaSaslTestConfig,
  kafkaSaslAvailable,
  kafkaSaslConfig,
  kafkaSaslConfigPath,
  kafkaSaslSource,
  type TestSaslMechanism,
} from "./kafka-sasl.ts";
export * from "./otelcol.ts";
export * from "./otlp-grpc.ts";
export { type ApiProcess, type AppProcess, freePort, startApi, startWorker } from "./processes.ts";
