/** Prometheus metrics of the API. One registry per app instance so tests can build several apps. */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

export interface ApiMetrics {
  registry: Registry;
  httpRequests: Counter<"method" | "route" | "status">;
  httpDuration: Histogram<"method" | "route">;
  logLines: Counter<"outcome">;
  pipelines: Gauge;
  liveWorkers: Gauge;
}

export function createMetrics(collect: { pipelines: () => number; liveWorkers: () => number }): ApiMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "weir_api_" });
  return {
    registry,
    httpRequests: new Counter({
      name: "weir_api_http_requests_total",
      help: "HTTP requests by method, route and status.",
      labelNames: ["method", "route", "status"],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: "weir_api_http_request_duration_seconds",
      help: "HTTP request latency by method and route.",
      labelNames: ["method", "route"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    logLines: new Counter({
      name: "weir_api_log_lines_total",
      help: "Pipeline log lines received from workers, by outcome (stored, dropped).",
      labelNames: ["outcome"],
      registers: [registry],
    }),
    pipelines: new Gauge({
      name: "weir_api_pipelines",
      help: "Pipelines defined.",
      registers: [registry],
      collect() {
        this.set(collect.pipelines());
      },
    }),
    liveWorkers: new Gauge({
      name: "weir_api_live_workers",
      help: "Workers whose heartbeat is fresh.",
      registers: [registry],
      collect() {
        this.set(collect.liveWorkers());
      },
    }),
  };
}
