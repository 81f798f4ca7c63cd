/**
 * The egress policy on a real kafkajs client against the local broker (127.0.0.1:9092, which
 * advertises 127.0.0.1; loopback only). Bootstrapping through the name `localhost` passes the static
 * check but the guard refuses the socket once the name resolves to 127.0.0.1; bootstrapping through
 * a TCP relay on 127.0.0.3 (an address the policy allows) succeeds, and the connection to the broker
 * the cluster advertises, 127.0.0.1, is what the guard refuses.
 */
import net, { type AddressInfo, type Server } from "node:net";
import {
  egressIssues,
  egressPolicyFromLists,
  isWeirError,
  type KafkaSourceConfig,
  parsePipelineSpec,
  type WeirError,
} from "@weir/core";
import { kafkaBrokers, kafkaSaslAvailable, kafkaSaslSource, uniqueName } from "@weir/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKafka } from "../../kafka/kafkajs.ts";
import { kafkaClientConfig } from "./client.ts";
import { classifyKafkaError } from "./errors.ts";

const broker = kafkaBrokers()[0] as string; // 127.0.0.1:9092
const [brokerHost, brokerPort] = [broker.split(":")[0] as string, Number(broker.split(":")[1])];
const denyBroker = egressPolicyFromLists({ deny: [`${brokerHost}/32`] });

const source = (bootstrap: string): KafkaSourceConfig => ({
  bootstrap_servers: bootstrap,
  topic: "t",
  auto_offset_reset: "earliest",
  format: "json",
});

/** A client that gives up at once (kafkajs would otherwise retry the refused connection). */
function client(bootstrap: string, egress?: typeof denyBroker) {
  return createKafka({
    ...kafkaClientConfig(source(bootstrap), "egress-test", { egress, connectionTimeoutMs: 3000 }),
    retry: { retries: 0 },
  });
}

/** A TCP relay on 127.0.0.3 to the broker, counting the connections it relays. */
let relay: Server;
let relayed = 0;
let relayAddress = "";
beforeAll(async () => {
  relay = net.createServer((inbound) => {
    relayed++;
    const outbound = net.connect(brokerPort, brokerHost);
    inbound.pipe(outbound).pipe(inbound);
    const close = () => {
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on("error", close).on("close", close);
    outbound.on("error", close).on("close", close);
  });
  await new Promise<void>((r) => relay.listen(0, "127.0.0.3", r));
  relayAddress = `127.0.0.3:${(relay.address() as AddressInfo).port}`;
});
afterAll(() => {
  relay.close();
});

function expectKafkaRefusal(err: unknown, parts: string[]): WeirError {
  const e = classifyKafkaError(err);
  expect(isWeirError(e)).toBe(true);
  expect((e as WeirError).code).toBe("EGRESS_DENIED");
  expect((e as WeirError).retryable).toBe(true);
  for (const p of parts) expect((e as WeirError).message).toContain(p);
  return e as WeirError;
}

describe("Kafka under the egress policy, per connection", () => {
  it("bootstrapping through `localhost` (the static check passes) is refused once it resolves to 127.0.0.1", async () => {
    const spec = parsePipelineSpec({
      name: "egress-kafka",
      source: { type: "kafka", config: { bootstrap_servers: `localhost:${brokerPort}`, topic: "t" } },
      sink: { type: "embedded-clickhouse", config: { path: "/tmp/weir-egress-unused", table: "t" } },
    });
    if (!spec.ok) throw new Error(JSON.stringify(spec.issues));
    expect(egressIssues(denyBroker, spec.spec)).toEqual([]);

    // Control: the same bootstrap without a policy reaches the broker.
    const open = client(`localhost:${brokerPort}`).admin();
    await open.connect();
    expect(Array.isArray(await open.listTopics())).toBe(true);
    await open.disconnect();

    const admin = client(`localhost:${brokerPort}`, denyBroker).admin();
    const err = await admin.connect().then(
      () => new Error("connected"),
      (e: unknown) => e,
    );
    await admin.disconnect().catch(() => undefined);
    const e = expectKafkaRefusal(err, ["localhost", "127.0.0.1", `rule ${brokerHost}/32`]);
    expect(e.details).toMatchObject({ broker: `localhost:${brokerPort}` });
  });

  it("the broker the cluster advertises (127.0.0.1) is checked: bootstrap through an allowed relay, then refused", async () => {
    const topic = uniqueName("weir-egress");
    // Control: without a policy, bootstrap through the relay and create a topic on the advertised broker.
    const open = client(relayAddress).admin();
    await open.connect();
    await open.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await open.disconnect();

    const before = relayed;
    const guarded = client(relayAddress, denyBroker);
    const producer = guarded.producer();
    await producer.connect(); // the bootstrap connection: 127.0.0.3 is allowed
    expect(relayed).toBeGreaterThan(before);
    const err = await producer.send({ topic, messages: [{ value: "x" }] }).then(
      () => new Error("sent"),
      (e: unknown) => e,
    );
    await producer.disconnect().catch(() => undefined);
    expectKafkaRefusal(err, ["127.0.0.1", `rule ${brokerHost}/32`]);

    const cleanup = client(broker).admin();
    await cleanup.connect();
    await cleanup.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await cleanup.disconnect();
  });

  it.skipIf(!kafkaSaslAvailable())(
    "TLS (the SASL_SSL listener) goes through the guard: allowed connects, denied refused",
    async () => {
      const tlsSource = { ...source(""), ...kafkaSaslSource("scram-sha-512") };
      const connect = async (egress: typeof denyBroker) => {
        const admin = createKafka({
          ...kafkaClientConfig(tlsSource, "egress-test", { egress, connectionTimeoutMs: 5000 }),
          retry: { retries: 0 },
        }).admin();
        try {
          await admin.connect();
          await admin.listTopics();
          return "connected";
        } catch (err) {
          return err;
        } finally {
          await admin.disconnect().catch(() => undefined);
        }
      };
      expect(await connect(egressPolicyFromLists({ deny: ["127.0.0.2/32"] }))).toBe("connected");
      expectKafkaRefusal(await connect(denyBroker), [`rule ${brokerHost}/32`]);
    },
  );

  it("without a policy the client config is kafkajs's default (no socket factory)", () => {
    expect(kafkaClientConfig(source(broker), "x").socketFactory).toBeUndefined();
    expect(kafkaClientConfig(source(broker), "x", { egress: denyBroker }).socketFactory).toBeTypeOf(
      "function",
    );
  });
});
