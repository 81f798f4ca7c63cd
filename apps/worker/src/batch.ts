/**
 * The open batch of one partition: rows the handler produced and the failures it raised, for a
 * contiguous offset range that is not yet committed. Nothing here is written anywhere until the
 * batch is flushed, so a batch can be dropped safely when the partition is taken away.
 */
import type { DlqInput, IHeaders } from "@weir/connectors";

/** The parts of a Kafka message kept until its batch is flushed (for the DLQ). */
export interface HeldMessage {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders | undefined;
  /** The Kafka record timestamp (ms since epoch, decimal; CreateTime unless the topic says LogAppendTime). */
  timestamp: string;
}

/** Rows one message produced, as NDJSON from the sandbox. */
export interface RowEntry {
  message: HeldMessage;
  rows: string;
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

  addRows(entry: RowEntry): void {
    this.entries.push(entry);
    this.rowCount += entry.rowCount;
    this.bytes += entry.rows.length + 1;
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
