/**
 * The supervisor's own metrics (cells, kills, per-pipeline stall) and /metrics: the supervisor's
 * registry merged with the latest registry snapshot of every cell (counters summed by prom-client's
 * AggregatorRegistry, as for cluster workers).
 */
import {
  AggregatorRegistry,
  Counter,
  collectDefaultMetrics,
  Gauge,
  type MetricObjectWithValues,
  type MetricValue,
  Registry,
} from "prom-client";

export class SupervisorMetrics {
  readonly registry = new Registry();
  readonly stalled = new Gauge({
    name: "weir_pipeline_stalled",
    help: "1 while a pipeline is stalled (a partition with lag made no progress for the stall window)",
    labelNames: ["pipeline"] as const,
    registers: [this.registry],
  });
  readonly cellKills = new Counter({
    name: "weir_cell_kills_total",
    help: "Cells that ended other than by a drain: crash, hung, deadline, stalled, control, memory",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });
  readonly cellStarts = new Counter({
    name: "weir_cell_starts_total",
    help: "Cells started (first start and restarts)",
    labelNames: ["cordoned"] as const,
    registers: [this.registry],
  });
  readonly cellRss = new Gauge({
    name: "weir_cell_rss_bytes",
    help: "Resident set size of each cell",
    labelNames: ["cell"] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "weir_supervisor_" });
  }

  /** Text exposition of the supervisor's and the cells' metrics together. */
  async expose(
    cells: MetricObjectWithValues<MetricValue<string>>[][],
  ): Promise<{ body: string; type: string }> {
    const own = await this.registry.getMetricsAsJSON();
    const merged = AggregatorRegistry.aggregate([own, ...cells] as Parameters<
      typeof AggregatorRegistry.aggregate
    >[0]);
    return { body: await merged.metrics(), type: merged.contentType };
  }
}
