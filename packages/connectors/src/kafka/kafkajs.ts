/**
 * The one place Weir imports `kafkajs`. Importing this file registers the snappy, lz4 and zstd
 * codecs, so every client made from the classes exported here (or anywhere else in the process)
 * reads and writes all of Kafka's compression codecs. The rest of Weir uses these re-exports, so a
 * change of client library is a change to this folder.
 */
import { Kafka, type KafkaConfig, logLevel } from "kafkajs";
import { registerCodecs } from "./codecs/index.ts";

registerCodecs();

export type {
  Admin,
  Consumer,
  ConsumerConfig,
  EachBatchPayload,
  IHeaders,
  ISocketFactory,
  KafkaConfig,
  KafkaMessage,
  logCreator,
  Message,
  Producer,
  ProducerConfig,
  SASLOptions,
} from "kafkajs";
export { CompressionTypes, Partitioners } from "kafkajs";
export { Kafka, logLevel as KafkaLogLevel };

/** A kafkajs client with Weir's codecs registered; `logLevel` defaults to NOTHING (callers report errors). */
export function createKafka(config: KafkaConfig): Kafka {
  return new Kafka({ logLevel: logLevel.NOTHING, ...config });
}

/** The parts of kafkajs's internal cluster and broker that {@link evictGroupMembers} uses. */
interface InternalCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  findGroupCoordinator(args: { groupId: string }): Promise<{
    leaveGroup(args: { groupId: string; memberId: string }): Promise<unknown>;
  }>;
}

/**
 * Remove members from a consumer group now, with a LeaveGroup request on their behalf, instead of
 * waiting out their session timeout: a process killed with SIGKILL sends no LeaveGroup, and until
 * the coordinator expires its members no new member gets their partitions. Returns the member ids
 * the coordinator removed; ids it no longer knows (already gone) are skipped, not errors.
 *
 * kafkajs has no public call for this: it reaches the client's cluster through the private factory
 * `Kafka` keeps under the `private:Kafka:createCluster` symbol (kafkajs 2.x), and throws if that is
 * missing so an upgrade that moves it fails the tests that cover eviction.
 */
export async function evictGroupMembers(
  kafka: Kafka,
  groupId: string,
  memberIds: readonly string[],
): Promise<string[]> {
  if (memberIds.length === 0) return [];
  const factory = Object.getOwnPropertySymbols(kafka).find(
    (s) => s.description === "private:Kafka:createCluster",
  );
  const create = factory ? (kafka as unknown as Record<symbol, unknown>)[factory] : undefined;
  if (typeof create !== "function") throw new Error("kafkajs: cluster factory not found (kafkajs changed?)");
  const cluster = (create as (o: object) => InternalCluster)({ allowAutoTopicCreation: false });
  await cluster.connect();
  try {
    const coordinator = await cluster.findGroupCoordinator({ groupId });
    const removed: string[] = [];
    for (const memberId of memberIds) {
      try {
        await coordinator.leaveGroup({ groupId, memberId });
        removed.push(memberId);
      } catch (err) {
        if ((err as { type?: string }).type !== "UNKNOWN_MEMBER_ID") throw err;
      }
    }
    return removed;
  } finally {
    await cluster.disconnect().catch(() => undefined);
  }
}
