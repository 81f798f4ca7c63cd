/** @weir/generator: realistic OTLP trace payloads, and a producer that writes them like the Collector. */
export { base64 } from "./attributes.ts";
export { PRODUCED_AT_HEADER, type ProduceOptions, type ProduceStats, produceTraces } from "./produce.ts";
export { messageSeed, Rng } from "./rng.ts";
export {
  DEFAULT_SERVICES,
  type GeneratedTraces,
  generateTraceRequest,
  generateTraces,
  type TraceGeneratorOptions,
} from "./traces.ts";
