/**
 * Ships handler and worker log lines to the API in batches. The buffer per pipeline is bounded:
 * while the API is unreachable the oldest lines are dropped and counted, never the worker's memory.
 */
import type { LogBatch, LogRecord } from "@weir/core";

export type PostLogs = (batch: LogBatch) => Promise<void>;

export class LogShipper {
  private readonly buffers = new Map<string, { records: LogRecord[]; dropped: number }>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;

  private readonly workerId: string;
  private readonly post: PostLogs;
  private readonly maxPerPipeline: number;
  private readonly intervalMs: number;
  private readonly onError: (err: unknown) => void;
  constructor(
    workerId: string,
    post: PostLogs,
    maxPerPipeline: number,
    intervalMs: number,
    onError: (err: unknown) => void,
  ) {
    this.workerId = workerId;
    this.post = post;
    this.maxPerPipeline = maxPerPipeline;
    this.intervalMs = intervalMs;
    this.onError = onError;
  }

  start(): void {
    this.timer ??= setInterval(() => void this.flush(), this.intervalMs);
    this.timer.unref();
  }

  /** Queue lines of one pipeline; `dropped` counts lines lost before they got here (sandbox caps). */
  push(pipelineId: string, records: readonly LogRecord[], dropped = 0): void {
    if (records.length === 0 && dropped === 0) return;
    let buf = this.buffers.get(pipelineId);
    if (!buf) {
      buf = { records: [], dropped: 0 };
      this.buffers.set(pipelineId, buf);
    }
    buf.dropped += dropped;
    for (const r of records) buf.records.push(r.worker_id ? r : { ...r, worker_id: this.workerId });
    this.trim(buf);
  }

  private trim(buf: { records: LogRecord[]; dropped: number }): void {
    const over = buf.records.length - this.maxPerPipeline;
    if (over > 0) {
      buf.records.splice(0, over);
      buf.dropped += over;
    }
  }

  /** Send everything buffered; failed sends go back to the front of their buffer. */
  flush(): Promise<void> {
    this.flushing ??= this.flushOnce().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private async flushOnce(): Promise<void> {
    for (const [pipelineId, buf] of [...this.buffers]) {
      if (buf.records.length === 0 && buf.dropped === 0) continue;
      const records = buf.records.splice(0, 1000);
      const dropped = buf.dropped;
      buf.dropped = 0;
      try {
        await this.post({ worker_id: this.workerId, pipeline_id: pipelineId, records, dropped });
      } catch (err) {
        buf.records.unshift(...records);
        buf.dropped += dropped;
        this.trim(buf);
        this.onError(err);
        return;
      }
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush().catch(() => undefined);
  }

  forget(pipelineId: string): void {
    this.buffers.delete(pipelineId);
  }
}
