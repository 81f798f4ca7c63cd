#!/usr/bin/env node
/**
 * weir-generate-traces: produce realistic OTLP traces to Kafka as the Collector's kafka exporter
 * (otlp_json) would. Example:
 *   pnpm --filter @weir/generator generate --topic otel-traces-raw --messages 1000 --rate 200
 * Prints progress to stderr and the final stats as one JSON line on stdout.
 */
import { KAFKA_COMPRESSIONS, type KafkaCompression } from "@weir/connectors";
import { Command, InvalidArgumentError, Option } from "commander";
import { produceTraces } from "./produce.ts";

function integer(name: string, min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min)
      throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
    return n;
  };
}

function ratio(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1)
    throw new InvalidArgumentError("must be a number between 0 and 1");
  return n;
}

const program = new Command()
  .name("weir-generate-traces")
  .description("Produce OTLP JSON traces to Kafka, one ExportTraceServiceRequest per message")
  .option(
    "--brokers <list>",
    "comma-separated bootstrap servers",
    process.env.KAFKA_BROKERS ?? "127.0.0.1:9092",
  )
  .option("--topic <name>", "topic to produce to", "otel-traces-raw")
  .option("--messages <n>", "messages to send", integer("--messages", 0), 100)
  .option("--spans-per-message <n>", "spans per message", integer("--spans-per-message", 0), 20)
  .option("--spans-per-trace <n>", "largest trace", integer("--spans-per-trace", 1), 8)
  .option("--rate <n>", "messages per second, 0 = unpaced", integer("--rate", 0), 0)
  .option("--seed <n>", "run seed (same seed, same payloads apart from times)", integer("--seed", 0), 1)
  .option("--error-rate <p>", "share of spans with status ERROR", ratio, 0.05)
  .option("--key-by-trace-id", "key each message by its first trace id (default: no key, like the Collector)")
  .option("--partitions <n>", "create the topic with n partitions when missing", integer("--partitions", 1))
  .option(
    "--style <style>",
    "collector (lower-case ids, string ints) or official (upper-case, numbers)",
    "collector",
  )
  .addOption(
    new Option("--compression <codec>", "batch codec (the Collector's example uses snappy)")
      .choices(KAFKA_COMPRESSIONS)
      .default("none"),
  )
  .option("--gzip", "same as --compression gzip (kept for existing scripts)");

program.parse();
const opts = program.opts<{
  brokers: string;
  topic: string;
  messages: number;
  spansPerMessage: number;
  spansPerTrace: number;
  rate: number;
  seed: number;
  errorRate: number;
  keyByTraceId?: boolean;
  partitions?: number;
  style: string;
  compression: KafkaCompression;
  gzip?: boolean;
}>();
if (opts.style !== "collector" && opts.style !== "official")
  program.error("--style must be collector or official");
const official = opts.style === "official";

let lastReport = 0;
const stats = await produceTraces({
  brokers: opts.brokers
    .split(",")
    .map((b) => b.trim())
    .filter(Boolean),
  topic: opts.topic,
  messages: opts.messages,
  spansPerMessage: opts.spansPerMessage,
  spansPerTrace: opts.spansPerTrace,
  ratePerSec: opts.rate,
  seed: opts.seed,
  errorRate: opts.errorRate,
  key: opts.keyByTraceId ? "traceId" : "none",
  partitions: opts.partitions,
  compression: opts.gzip ? "gzip" : opts.compression,
  idCase: official ? "upper" : "lower",
  int64: official ? "number" : "string",
  onProgress: (s) => {
    if (Date.now() - lastReport < 1000 && s.messages < opts.messages) return;
    lastReport = Date.now();
    process.stderr.write(`produced ${s.messages}/${opts.messages} messages, ${s.spans} spans\n`);
  },
});
const { producedAt: _producedAt, ...summary } = stats;
process.stdout.write(`${JSON.stringify({ topic: opts.topic, ...summary })}\n`);
