/**
 * Stage 3, the batcher: the open batch of one partition, rows the handler produced and the
 * failures it raised, for a contiguous offset range that is not yet committed. Nothing here is
 * written anywhere until the batch is flushed, so a batch can be dropped safely when the partition
 * is taken away. A batch is cut by rows or bytes, by age (the loop's timer), or exactly at the
 * previous owner's pending mark (so a replayed insert repeats the same range and dedup token).
 */
import type { BatchLimits, DlqInput } from "@weir/connectors";
import type { SerializedError } from "@weir/core";
import type { RunResult } from "@weir/sandbox";
import type { SourceMessage } from "./source.ts";

/** The parts of a message kept until its batch is flushed (for the DLQ and latency). */
export type HeldMessage = SourceMessage;

/** What became of one message in the batch. */
export type Outcome = "rows" | "dropped" | "failed";

/** Rows one message produced: NDJSON from the sandbox, or RowBinary when the sink asked for it. */
export interface RowEntry {
  message: HeldMessage;
  rows: string | Uint8Array;
  rowCount: number;
}

export class OpenBatch {
  firstOffset: string | null = null;
  lastOffset: string | null = null;
  readonly entries: RowEntry[] = [];
  /** Decode and handler failures bound for the DLQ. */
  readonly failures: DlqInput[] = [];
  rowCount = 0;
  bytes = 0;
  messages = 0;
  openedAt = 0;

  get empty(): boolean {
    return this.firstOffset === null;
  }

  /** Account a consumed message (whatever its outcome) so the batch's range covers it. */
  touch(offset: string, now: number): void {
    if (this.firstOffset === null) {
      this.firstOffset = offset;
      this.openedAt = now;
    }
    this.lastOffset = offset;
    this.messages++;
  }

  /** Add one message and its handler result; `failure` makes the DLQ record of a failed one. */
  add(
    message: HeldMessage,
    result: RunResult,
    now: number,
    failure: (e: SerializedError) => DlqInput,
  ): Outcome {
    this.touch(message.offset, now);
    if (!result.ok) {
      this.addFailure(failure(result.error));
      return "failed";
    }
    if (result.rowCount === 0) return "dropped";
    this.addRows({ message, rows: result.rowBinary ?? result.rows, rowCount: result.rowCount });
    return "rows";
  }

  /** Cut here: by size, or exactly at the previous owner's pending mark when there is one. */
  due(offset: string, cutAt: string | null, limits: BatchLimits): boolean {
    if (cutAt !== null) return BigInt(offset) >= BigInt(cutAt);
    return this.rowCount >= limits.maxRows || this.bytes >= limits.maxBytes;
  }

  /** Old enough to flush by time (never while cutting at a pending mark). */
  aged(now: number, cutAt: string | null, limits: BatchLimits): boolean {
    return !this.empty && cutAt === null && now - this.openedAt >= limits.maxWaitMs;
  }

  addRows(entry: RowEntry): void {
    this.entries.push(entry);
    this.rowCount += entry.rowCount;
    this.bytes += entry.rows.length + (typeof entry.rows === "string" ? 1 : 0);
  }

  addFailure(failure: DlqInput): void {
    this.failures.push(failure);
  }
}

/** The offset after `offset` (64-bit decimal strings). */
export function nextOffset(offset: string): string {
  return (BigInt(offset) + 1n).toString();
}

/** Offset-commit metadata marking a batch whose rows may have reached the sink before the commit. */
const PENDING_PREFIX = "weir:pending:";

export function pendingMetadata(lastOffset: string): string {
  return `${PENDING_PREFIX}${lastOffset}`;
}

/** The last offset of a batch that was being written when the previous owner stopped, if any. */
export function parsePendingMetadata(metadata: string | null | undefined): string | null {
  if (!metadata?.startsWith(PENDING_PREFIX)) return null;
  const last = metadata.slice(PENDING_PREFIX.length);
  return /^\d+$/.test(last) ? last : null;
}
