#!/usr/bin/env node
// Readiness probe used by scripts/services: the broker is ready when a client can create a topic
// and produce to it. Exits 0 when ready, 1 otherwise.
import { Kafka, logLevel } from "kafkajs";

const broker = process.argv[2] ?? "127.0.0.1:9092";
const kafka = new Kafka({
  clientId: "weir-ready",
  brokers: [broker],
  logLevel: logLevel.NOTHING,
  connectionTimeout: 2000,
  retry: { retries: 1 },
});
const admin = kafka.admin();
const producer = kafka.producer({ allowAutoTopicCreation: false });
try {
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: "weir-ready", numPartitions: 1 }], waitForLeaders: true });
  await producer.connect();
  await producer.send({ topic: "weir-ready", messages: [{ value: String(Date.now()) }] });
  process.exitCode = 0;
} catch (err) {
  console.error(`kafka not ready: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
} finally {
  await Promise.allSettled([producer.disconnect(), admin.disconnect()]);
}
