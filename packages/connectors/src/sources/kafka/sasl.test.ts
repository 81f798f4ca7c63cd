/**
 * The source's client config against the test broker's SASL_SSL listener (scripts/services; its
 * address, CA and users come from sasl.json): produce and consume with SCRAM-SHA-512 and PLAIN over
 * TLS with the spec's CA, and the classified errors for a wrong password and an untrusted CA.
 */
import { type KafkaSourceConfig, WeirError } from "@weir/core";
import {
  kafkaSaslAvailable,
  kafkaSaslConfigPath,
  kafkaSaslSource,
  type TestSaslMechanism,
  uniqueName,
} from "@weir/testing";
import { Kafka } from "kafkajs";
import { describe, expect, it } from "vitest";
import { kafkaClientConfig } from "./client.ts";
import { classifyKafkaError } from "./errors.ts";

function source(
  mechanism: TestSaslMechanism,
  topic: string,
  override: Parameters<typeof kafkaSaslSource>[1] = {},
): KafkaSourceConfig {
  return { ...kafkaSaslSource(mechanism, override), topic, auto_offset_reset: "earliest", format: "json" };
}

/** Connect an admin with the source's config; resolves to the classified error, or null when it connected. */
async function connectError(src: KafkaSourceConfig): Promise<unknown> {
  const admin = new Kafka({
    ...kafkaClientConfig(src, "weir-sasl-test", { connectionTimeoutMs: 5000 }),
    retry: { retries: 1, initialRetryTime: 100 },
  }).admin();
  try {
    await admin.connect();
    await admin.listTopics();
    return null;
  } catch (err) {
    return classifyKafkaError(err, src);
  } finally {
    await admin.disconnect();
  }
}

// Skipped (with the reason) only when the broker in use predates the SASL_SSL listener.
describe.skipIf(!kafkaSaslAvailable())(`SASL_SSL listener (${kafkaSaslConfigPath()})`, () => {
  it.each(["scram-sha-512", "plain"] as const)(
    "produces and consumes through SASL_SSL with %s and the spec's CA",
    async (mechanism) => {
      const topic = uniqueName(`weir-sasl-${mechanism}`);
      const src = source(mechanism, topic);
      const kafka = new Kafka(kafkaClientConfig(src, "weir-sasl-test"));
      const admin = kafka.admin();
      const producer = kafka.producer();
      const consumer = kafka.consumer({ groupId: uniqueName("weir-sasl-group") });
      await admin.connect();
      try {
        await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
        await producer.connect();
        const sent = [0, 1, 2].map((i) => ({ key: `k${i}`, value: JSON.stringify({ i, via: mechanism }) }));
        await producer.send({ topic, messages: sent });
        await consumer.connect();
        await consumer.subscribe({ topic, fromBeginning: true });
        const got: { key: string; value: string; offset: string }[] = [];
        const done = new Promise<void>((resolve) => {
          void consumer.run({
            eachMessage: async ({ message }) => {
              got.push({
                key: String(message.key),
                value: String(message.value),
                offset: message.offset,
              });
              if (got.length === sent.length) resolve();
            },
          });
        });
        await done;
        expect(got).toEqual([
          { key: "k0", value: `{"i":0,"via":"${mechanism}"}`, offset: "0" },
          { key: "k1", value: `{"i":1,"via":"${mechanism}"}`, offset: "1" },
          { key: "k2", value: `{"i":2,"via":"${mechanism}"}`, offset: "2" },
        ]);
        await admin.deleteTopics({ topics: [topic] });
      } finally {
        await Promise.allSettled([consumer.disconnect(), producer.disconnect(), admin.disconnect()]);
      }
    },
  );

  it.each(["scram-sha-512", "plain"] as const)(
    "refuses a wrong %s password as KAFKA_AUTH naming user and mechanism",
    async (mechanism) => {
      const src = source(mechanism, "unused", { password: "not-the-password" });
      const err = await connectError(src);
      expect(err).toBeInstanceOf(WeirError);
      const w = err as WeirError;
      expect(w.code).toBe("KAFKA_AUTH");
      expect(w.retryable).toBe(false);
      expect(w.message).toMatch(
        new RegExp(
          `^SASL authentication failed for user ${src.sasl!.username} \\(mechanism ${mechanism}\\): `,
        ),
      );
      expect(w.message).not.toContain("not-the-password");
      expect(w.details).toEqual({ username: src.sasl!.username, mechanism });
    },
  );

  it("reports an untrusted broker certificate (system CAs only) as KAFKA_TLS with the broker and a hint", async () => {
    const src = source("scram-sha-512", "unused", { tls: true });
    const broker = (src.bootstrap_servers as string).split(",")[0];
    const err = await connectError(src);
    expect(err).toBeInstanceOf(WeirError);
    const w = err as WeirError;
    expect(w.code).toBe("KAFKA_TLS");
    expect(w.message).toBe(
      `TLS handshake with ${broker} failed: self-signed certificate in chain; set source.tls.ca to the CA that signed the broker certificate`,
    );
    expect(w.details).toEqual({ tls_code: "SELF_SIGNED_CERT_IN_CHAIN", broker });
  });

  it("connects with the right credentials (the failures above are not the listener's)", async () => {
    expect(await connectError(source("plain", "unused"))).toBeNull();
  });
});

describe("classifyKafkaError without a broker", () => {
  it("leaves other errors (unreachable broker) as they came", () => {
    const e = Object.assign(new Error("Connection error: connect ECONNREFUSED 127.0.0.1:1"), {
      name: "KafkaJSConnectionError",
      code: "ECONNREFUSED",
      broker: "127.0.0.1:1",
    });
    expect(classifyKafkaError(e)).toBe(e);
    expect(classifyKafkaError("x")).toBe("x");
  });
});
