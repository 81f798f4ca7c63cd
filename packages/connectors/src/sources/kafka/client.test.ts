import type { KafkaSourceConfig } from "@weir/core";
import { kafkaBrokers, uniqueName } from "@weir/testing";
import { Kafka } from "kafkajs";
import { describe, expect, it } from "vitest";
import { kafkaClientConfig } from "./client.ts";

const base: KafkaSourceConfig = {
  bootstrap_servers: "b1:9092, b2:9093",
  topic: "t",
  auto_offset_reset: "earliest",
  format: "json",
};

// No SASL or TLS broker runs on this machine, so the mapping is checked as data; the plain
// connection is checked against the real broker below.
describe("kafkaClientConfig", () => {
  it("maps brokers and client id", () => {
    const c = kafkaClientConfig(base, "weir-worker");
    expect(c.brokers).toEqual(["b1:9092", "b2:9093"]);
    expect(c.clientId).toBe("weir-worker");
    expect(c.ssl).toBeUndefined();
    expect(c.sasl).toBeUndefined();
    expect(kafkaClientConfig({ ...base, client_id: "mine" }, "weir-worker").clientId).toBe("mine");
  });

  it.each(["plain", "scram-sha-256", "scram-sha-512"] as const)(
    "maps SASL %s with a secret password",
    (m) => {
      const c = kafkaClientConfig(
        { ...base, sasl: { mechanism: m, username: "u", password: { secret: "pw" } } },
        "x",
      );
      expect(c.sasl).toEqual({ mechanism: m, username: "u", password: "pw" });
    },
  );

  it("maps TLS true and TLS with PEMs", () => {
    expect(kafkaClientConfig({ ...base, tls: true }, "x").ssl).toBe(true);
    const c = kafkaClientConfig(
      { ...base, tls: { ca: "CA", cert: "CERT", key: { secret: "KEY" }, reject_unauthorized: false } },
      "x",
    );
    expect(c.ssl).toEqual({ ca: ["CA"], cert: "CERT", key: "KEY", rejectUnauthorized: false });
  });

  it("connects to the real broker", async () => {
    const topic = uniqueName("weir-client");
    const kafka = new Kafka(kafkaClientConfig({ ...base, bootstrap_servers: kafkaBrokers(), topic }, "test"));
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
      expect(await admin.listTopics()).toContain(topic);
      await admin.deleteTopics({ topics: [topic] });
    } finally {
      await admin.disconnect();
    }
  });
});
