/**
 * Peek: the newest messages of a pipeline's source topic, read without committing anything (a
 * throwaway consumer group, deleted afterwards, like the DLQ reads), bounded in count and bytes. For
 * the console's and `weir test --last`'s test runs on real data.
 */
import type { EgressPolicy, PipelineSpec } from "@weir/core";
import { WeirError } from "@weir/core";
import { kafkaFor, type RawDlqMessage, readRanges, watermarks } from "./dlq-kafka.ts";

export const PEEK_MAX_MESSAGES = 100;
export const PEEK_MAX_BYTES = 4 * 1024 * 1024;

export interface Peeked {
  /** Oldest first (partition order breaks ties). */
  messages: RawDlqMessage[];
  /** Messages left out for the byte bound. */
  truncated: boolean;
}

/** The `limit` newest messages of the source topic (by timestamp across partitions), at most `maxBytes` of values. */
export async function peekSource(
  spec: PipelineSpec,
  egress: EgressPolicy,
  limit: number,
  maxBytes: number,
): Promise<Peeked> {
  const topic = spec.source.config.topic;
  const kafka = kafkaFor(spec.source.config, egress);
  let read: RawDlqMessage[];
  try {
    const wm = await watermarks(kafka, topic, "source topic");
    const back = BigInt(limit);
    const ranges = wm.map((w) => ({
      partition: w.partition,
      start: w.high - back > w.low ? w.high - back : w.low,
      end: w.high,
    }));
    read = (
      await readRanges(
        kafka,
        topic,
        ranges,
        () => true,
        limit * Math.max(1, ranges.length),
        20_000,
        "source topic",
      )
    ).messages;
  } catch (err) {
    const e = err as WeirError;
    if (e.code === "EGRESS_DENIED") throw e;
    throw new WeirError("SOURCE_ERROR", e.message, { retryable: true, cause: err });
  }
  const newest = read
    .sort((a, b) => Number(b.timestamp) - Number(a.timestamp) || Number(BigInt(b.offset) - BigInt(a.offset)))
    .slice(0, limit);
  const kept: RawDlqMessage[] = [];
  let bytes = 0;
  for (const m of newest) {
    const size = m.value?.length ?? 0;
    if (bytes + size > maxBytes) break;
    bytes += size;
    kept.push(m);
  }
  kept.reverse();
  return { messages: kept, truncated: kept.length < newest.length };
}
