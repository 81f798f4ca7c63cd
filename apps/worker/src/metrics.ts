/** The worker's Prometheus metrics, one registry per worker process. */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

export class WorkerMetrics {
  readonly registry = new Registry();
  readonly messagesIn = this.counter("weir_messages_in_total", "Kafka messages consumed");
  readonly rowsOut = this.counter("weir_rows_out_total", "Rows written to the sink");
  readonly dropped = this.counter("weir_messages_dropped_total", "Messages the handler dropped (no rows)");
  readonly failed = this.counter(
    "weir_messages_failed_total",
    "Messages that failed to decode or in the handler",
  );
  readonly dlq = this.counter("weir_dlq_records_total", "Records written to the dead-letter topic");
  readonly retries = this.counter(
    "weir_sink_retries_total",
    "Sink write attempts that failed and were retried",
  );
  readonly handlerRetries = this.counter(
    "weir_handler_retries_total",
    "Handler attempts that threw RetryAfterError and were retried",
  );
  readonly lag = new Gauge({
    name: "weir_partition_lag",
    help: "High watermark minus committed offset",
    labelNames: ["pipeline", "topic", "partition"] as const,
    registers: [this.registry],
  });
  readonly handlerSeconds = new Histogram({
    name: "weir_handler_batch_seconds",
    help: "Time the sandbox took per batch of messages",
    labelNames: ["pipeline"] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly sinkSeconds = new Histogram({
    name: "weir_sink_write_seconds",
    help: "Time per successful sink write, retries included",
    labelNames: ["pipeline"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly endToEndSeconds = new Histogram({
    name: "weir_end_to_end_seconds",
    help: "Per message, from its Kafka record timestamp to the sink acknowledging its rows",
    labelNames: ["pipeline"] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "weir_worker_" });
  }

  private counter(name: string, help: string): Counter<"pipeline"> {
    return new Counter({ name, help, labelNames: ["pipeline"] as const, registers: [this.registry] });
  }

  /** Forget a deleted pipeline's series. */
  forget(pipelineId: string): void {
    for (const m of [
      this.messagesIn,
      this.rowsOut,
      this.dropped,
      this.failed,
      this.dlq,
      this.retries,
      this.handlerRetries,
    ]) {
      m.remove({ pipeline: pipelineId });
    }
    this.handlerSeconds.remove({ pipeline: pipelineId });
    this.sinkSeconds.remove({ pipeline: pipelineId });
    this.endToEndSeconds.remove({ pipeline: pipelineId });
  }
}
