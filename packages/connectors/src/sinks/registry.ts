/**
 * Sinks by type name: the one place that maps a spec's `sink.type` to an implementation. The names
 * match `SINK_CONFIGS` in @weir/core, so the API validates exactly what the worker can build.
 */
import type { SinkSpec, SinkType } from "@weir/core";
import { WeirError } from "@weir/core";
import { ClickHouseSink } from "./clickhouse/sink.ts";
import { EmbeddedClickHouseSink } from "./embedded-clickhouse/sink.ts";
import type { Sink, SinkContext } from "./types.ts";
import { WebhookSink } from "./webhook/sink.ts";

type Factory<T extends SinkType> = (
  config: Extract<SinkSpec, { type: T }>["config"],
  ctx: SinkContext,
) => Sink;

const SINKS: { [T in SinkType]: Factory<T> } = {
  clickhouse: (config, ctx) => new ClickHouseSink(config, ctx),
  webhook: (config, ctx) => new WebhookSink(config, ctx),
  "embedded-clickhouse": (config, ctx) => new EmbeddedClickHouseSink(config, ctx),
};

/** The sink type names this package can build. */
export const SINK_TYPES = Object.keys(SINKS) as SinkType[];

/**
 * Build (not connect) the sink for a spec whose config has been validated and defaulted by
 * `parsePipelineSpec` and decrypted by the API. Call `connect()` before the first write.
 */
export function createSink(spec: SinkSpec, ctx: SinkContext): Sink {
  const factory = SINKS[spec.type] as Factory<SinkType> | undefined;
  if (!factory) {
    throw new WeirError("VALIDATION", `unknown sink type ${JSON.stringify(spec.type)}`, {
      details: { expected: SINK_TYPES },
    });
  }
  return factory(spec.config as never, ctx);
}
