/**
 * Per-partition state of a running pipeline: the open batch, a lock that serialises the consumer
 * callback with the wait-time flusher, the batch being delivered (at most one: the next batch fills
 * while the previous one's insert is in flight), the pending cut point after a takeover, and lag
 * figures.
 */
import { OpenBatch } from "./batch.ts";

export class PartitionState {
  batch = new OpenBatch();
  /** When set, the previous owner may have written rows up to this offset: cut the batch exactly there. */
  cutAt: string | null = null;
  /** Resolves once the committed offset's metadata has been read for this assignment. */
  loaded: Promise<void> | null = null;
  committed: string | null = null;
  highWatermark: string | null = null;
  /** Held back while the sink retries this partition's batch. */
  sinkPaused = false;
  /** Held back while a message waits out its handler's RetryAfterError. */
  retryPaused = false;
  /**
   * The delivery of the batch flushed last (DLQ, pending mark, sink, commit), null when none is in
   * flight. Deliveries of a partition run one at a time, in offset order.
   */
  delivering: Promise<void> | null = null;
  /** Last time a message finished or an offset was committed here (stall detection). */
  lastProgressAt = Date.now();
  /** The latest heartbeat callback kafkajs handed us for this partition. */
  heartbeat: (() => Promise<void>) | undefined;
  private tail: Promise<unknown> = Promise.resolve();

  readonly topic: string;
  readonly partition: number;
  readonly generation: number;
  constructor(
    topic: string,
    partition: number,
    /** Consumer-group generation this state belongs to; a rejoin makes it stale. */
    generation: number,
  ) {
    this.topic = topic;
    this.partition = partition;
    this.generation = generation;
  }

  /** Fetching is held back (sink retries or a handler retry): no new messages arrive meanwhile. */
  get paused(): boolean {
    return this.sinkPaused || this.retryPaused;
  }

  /** Run `fn` after every earlier locked call of this partition has settled. */
  lock<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  lag(): number {
    if (this.highWatermark === null) return 0;
    const committed = this.committed === null ? 0n : BigInt(this.committed);
    const lag = BigInt(this.highWatermark) - committed;
    return lag > 0n ? Number(lag) : 0;
  }
}
