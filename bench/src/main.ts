/**
 * `npm run bench`: Weir end to end (Kafka -> otel-traces in the sandbox -> ClickHouse) against two
 * baselines on the same data in the same invocation, once per input format of `--formats`
 * (otlp_json and otlp_proto topics of the same messages, compressed with `--codec`), the decoding
 * cost per span of each format (host and isolate), a latency run at `--latency-fraction` of the
 * measured maximum, and kafkajs vs @platformatic/kafka (consume only and end to end) on otlp_json
 * topics compressed with each of `--codecs`. Writes bench/results/<date>-<sha>.json and prints a
 * one-screen summary ending in issue 17's targets. See bench/README.md for what each figure means
 * and how it is measured.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient } from "@clickhouse/client";
import { KAFKA_COMPRESSIONS, type KafkaCompression } from "@weir/connectors";
import { Command, InvalidArgumentError, Option } from "commander";
import { Kafka, logLevel } from "kafkajs";
import { runBusy } from "./busy.ts";
import type { ChildOptions } from "./child/harness.ts";
import { type ClientId, clientName, compareClients, runClientMatrix } from "./clients.ts";
import { computeFloor } from "./compute.ts";
import { benchValue, type DataSpec, INPUT_FORMATS, type InputFormat } from "./data.ts";
import { decodeCost } from "./decode.ts";
import { createTopic, deleteTopic, type LoadStats, loadTopic, producePaced } from "./load.ts";
import {
  boxCpuFigures,
  type ConsumerFigures,
  figures,
  processModelFigures,
  round,
  runToCompletion,
} from "./measure.ts";
import {
  type InProcessRun,
  type ProcessModelPair,
  pair,
  processModelResults,
  type SupervisedRun,
} from "./processmodel.ts";
import { clockTicks, findServices } from "./procstat.ts";
import {
  type BenchResults,
  busyTargetLines,
  type FloorFigures,
  type FormatRun,
  gitInfo,
  type LatencyRun,
  machine,
  packageVersion,
  type SpanFigures,
  summary,
  TARGETS,
  targetLines,
} from "./report.ts";
import { startChild } from "./spawn.ts";
import { countRows, createTable, dropTable, serverVersion } from "./tables.ts";

const repoRoot = resolve(fileURLToPath(import.meta.url), "../../..");

function int(name: string, min: number) {
  return (value: string): number => {
    const v = Number(value.replaceAll(",", "").replaceAll("_", ""));
    if (!Number.isInteger(v) || v < min)
      throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
    return v;
  };
}

function codecList(value: string): KafkaCompression[] {
  const list = value.split(",").map((s) => s.trim()) as KafkaCompression[];
  const bad = list.filter((c) => !KAFKA_COMPRESSIONS.includes(c));
  if (list.length === 0 || bad.length > 0)
    throw new InvalidArgumentError(`codecs must be a list of ${KAFKA_COMPRESSIONS.join(", ")}`);
  return [...new Set(list)];
}

function formatList(value: string): InputFormat[] {
  const list = value.split(",").map((s) => s.trim()) as InputFormat[];
  const bad = list.filter((f) => !INPUT_FORMATS.includes(f));
  if (list.length === 0 || bad.length > 0)
    throw new InvalidArgumentError(`formats must be a list of ${INPUT_FORMATS.join(", ")}`);
  return [...new Set(list)];
}

function fraction(value: string): number {
  const v = Number(value);
  if (!Number.isFinite(v) || v <= 0 || v > 1)
    throw new InvalidArgumentError("--latency-fraction must be a number in (0, 1]");
  return v;
}

const program = new Command()
  .name("weir-bench")
  .description("Throughput, CPU per row, memory and latency of Weir against baselines, in one run")
  .option("--spans <n>", "spans to load (rounded up to whole messages)", int("--spans", 1), 1_000_000)
  .option("--spans-per-message <n>", "spans per OTLP message", int("--spans-per-message", 1), 100)
  .option("--partitions <n>", "partitions of the benchmark topic", int("--partitions", 1), 4)
  .option(
    "--latency-seconds <n>",
    "length of the fixed-rate latency run (0 skips it)",
    int("--latency-seconds", 0),
    30,
  )
  .option(
    "--latency-fraction <x>",
    "the latency run's rate, as a fraction of Weir's measured rows/s on the same format",
    fraction,
    TARGETS.latencyFraction,
  )
  .option(
    "--latency-formats <list>",
    "input formats to run the latency run on (each must be in --formats; none left: the first of --formats)",
    formatList,
    formatList("otlp_proto"),
  )
  .option(
    "--formats <list>",
    "input formats, one topic each (the same messages; otlp_proto = protobuf bytes): Weir, (a) and (b) run on each",
    formatList,
    formatList("otlp_json,otlp_proto"),
  )
  .addOption(
    new Option("--codec <codec>", "batch codec of the topics Weir and (b) read (one per format)")
      .choices([...KAFKA_COMPRESSIONS])
      .default("zstd"),
  )
  .option("--skip-baselines", "run only Weir (no compute floor, no plain consumer, no decode figures)")
  .option(
    "--skip-process-model",
    "skip the runs of Weir through the worker's supervisor and a cell process (the process model's cost)",
  )
  .option(
    "--process-model-pairs <n>",
    "in-process / supervised pairs of Weir runs, order alternating (the first reuses the main Weir run); even balances the order",
    int("--process-model-pairs", 1),
    4,
  )
  .option("--skip-busy", "skip the busy-worker runs (1, 2, 4 busy pipelines; 10 for the peak RSS)")
  .option(
    "--skip-clients",
    "skip the kafkajs vs @platformatic/kafka comparison (consume only and end to end)",
  )
  .option(
    "--codecs <list>",
    "batch codecs of the Kafka client comparison, one otlp_json topic each (the one of --codec is Weir's otlp_json topic)",
    codecList,
    codecList("none,snappy,zstd"),
  )
  .addOption(
    new Option("--sink <type>", "sink (Debian's ClickHouse 18.16, legacy table flavor)")
      .choices(["clickhouse"])
      .default("clickhouse"),
  )
  .option("--max-batch-rows <n>", "sink batch size, rows", int("--max-batch-rows", 1), 10_000)
  .option("--max-batch-wait-ms <n>", "sink batch age limit", int("--max-batch-wait-ms", 0), 250)
  .option("--partition-concurrency <n>", "partitions processed at once", int("--partition-concurrency", 1), 4)
  .option("--sandbox-chunk <n>", "messages per sandbox call", int("--sandbox-chunk", 1), 500)
  .option(
    "--isolates <n>",
    "sandbox isolates per pipeline (worker env WEIR_WORKER_ISOLATES)",
    int("--isolates", 1),
    2,
  )
  .option(
    "--node-flags <flags>",
    "V8 flags for every consumer child (the worker's start script uses the same)",
    "--max-semi-space-size=16",
  )
  .option("--seed <n>", "data seed", int("--seed", 0), 1)
  .option("--brokers <list>", "Kafka bootstrap servers", process.env.KAFKA_BROKERS ?? "127.0.0.1:9092")
  .option(
    "--clickhouse-url <url>",
    "ClickHouse HTTP URL",
    process.env.CLICKHOUSE_URL ?? "http://127.0.0.1:8123",
  )
  .option("--out <dir>", "results folder (relative to the repository root)", "bench/results")
  .option("--keep", "keep the benchmark's topics and tables");

program.parse();
const o = program.opts<{
  spans: number;
  spansPerMessage: number;
  partitions: number;
  latencySeconds: number;
  latencyFraction: number;
  latencyFormats: InputFormat[];
  formats: InputFormat[];
  codec: KafkaCompression;
  skipBaselines?: boolean;
  skipProcessModel?: boolean;
  processModelPairs: number;
  skipClients?: boolean;
  skipBusy?: boolean;
  codecs: KafkaCompression[];
  sink: string;
  maxBatchRows: number;
  maxBatchWaitMs: number;
  partitionConcurrency: number;
  sandboxChunk: number;
  isolates: number;
  nodeFlags: string;
  seed: number;
  brokers: string;
  clickhouseUrl: string;
  out: string;
  keep?: boolean;
}>();

const say = (s: string) => process.stderr.write(`[bench] ${s}\n`);
const brokers = o.brokers.split(",").map((s) => s.trim());
const kafka = new Kafka({ clientId: "weir-bench", brokers, logLevel: logLevel.ERROR });
const ch = createClient({ url: o.clickhouseUrl, clickhouse_settings: {} });
const runId = `${Date.now().toString(36)}`;
const messages = Math.ceil(o.spans / o.spansPerMessage);
const data: DataSpec = {
  seed: o.seed,
  spansPerMessage: o.spansPerMessage,
  baseTimeUnixNano: (BigInt(Date.now()) * 1_000_000n).toString(),
};
const topics: string[] = [];
const latencyFormats = o.latencyFormats.filter((f) => o.formats.includes(f));
if (latencyFormats.length === 0) latencyFormats.push(o.formats[0]!);
const tables: string[] = [];
const date = new Date().toISOString();
// The broker's and server's pids, read by every consumer child at the moments it reads its own CPU.
const services = findServices(repoRoot, brokers, o.clickhouseUrl);
const watchPids: Record<string, number> = { bench: process.pid };
if (services.broker) watchPids.broker = services.broker.pid;
if (services.server) watchPids.server = services.server.pid;
const hz = clockTicks();
const cores = os.cpus().length;

function childOptions(
  topic: string,
  table: string,
  expectedMessages: number,
  extra: Partial<ChildOptions> = {},
) {
  return {
    brokers,
    clickhouseUrl: o.clickhouseUrl,
    topic,
    groupId: `bench-${runId}-${Math.random().toString(36).slice(2, 8)}`,
    table,
    expectedMessages,
    maxBatchRows: o.maxBatchRows,
    maxBatchWaitMs: o.maxBatchWaitMs,
    partitionConcurrency: o.partitionConcurrency,
    sandboxChunk: o.sandboxChunk,
    isolates: o.isolates,
    nodeFlags: o.nodeFlags.split(" ").filter(Boolean),
    watchPids,
    ...extra,
  } satisfies ChildOptions;
}

/** A new table for one run (numbered: the DDL is CREATE ... IF NOT EXISTS, so a reused name would add up runs). */
async function freshTable(kind: string): Promise<string> {
  const name = `bench_${kind}_${runId}_${tables.length + 1}`;
  await createTable(ch, name);
  tables.push(name);
  return name;
}

type Loaded = { format: InputFormat; codec: KafkaCompression; topic: string; stats: LoadStats };

/** Load one (format, codec) topic with the run's messages. */
async function load(format: InputFormat, codec: KafkaCompression): Promise<Loaded> {
  const topic = `bench-otel-${format === "otlp_proto" ? "proto" : "json"}-${codec}-${runId}`;
  await createTopic(kafka, topic, o.partitions);
  topics.push(topic);
  say(
    `loading ${messages} messages x ${o.spansPerMessage} spans into ${topic} (${o.partitions} partitions, ${format}, ${codec})`,
  );
  let lastSay = 0;
  const stats = await loadTopic(
    kafka,
    topic,
    o.partitions,
    data,
    messages,
    (sent) => {
      if (Date.now() - lastSay > 3000) {
        lastSay = Date.now();
        say(`  loaded ${sent}/${messages}`);
      }
    },
    codec,
    format,
  );
  say(
    `loaded ${stats.messages} messages (${(stats.bytes / 1e6).toFixed(0)} MB) in ${stats.seconds.toFixed(1)} s`,
  );
  return { format, codec, topic, stats };
}

/** A consumer run's figures with CPU per 1M spans: spans of the messages it wrote. */
function withSpans(f: ConsumerFigures, l: LoadStats): Omit<SpanFigures, "verifiedRows"> {
  const spans = f.messages * (l.spans / l.messages);
  return {
    ...f,
    cpuSecondsPerMillionSpans: spans > 0 ? round(f.cpuSeconds / (spans / 1e6), 2) : 0,
    cpuSecondsPerMillionSpansSustained:
      f.cpuSecondsPerMillionRowsSustained === null || l.spans === 0
        ? null
        : round((f.cpuSecondsPerMillionRowsSustained * l.expectedRows) / l.spans, 2),
  };
}

async function main(): Promise<void> {
  const chVersion = await serverVersion(ch);
  // One topic per input format (compressed with --codec) for Weir and (b); the client matrix reads
  // one otlp_json topic per --codecs codec, the one of --codec being Weir's otlp_json topic.
  const loaded: Loaded[] = [];
  const topicFor = async (format: InputFormat, codec: KafkaCompression): Promise<Loaded> => {
    const have = loaded.find((l) => l.format === format && l.codec === codec);
    if (have) return have;
    const l = await load(format, codec);
    loaded.push(l);
    return l;
  };
  const weirTopics: Loaded[] = [];
  for (const format of o.formats) weirTopics.push(await topicFor(format, o.codec));
  const clientTopics: Loaded[] = [];
  if (!o.skipClients) for (const codec of o.codecs) clientTopics.push(await topicFor("otlp_json", codec));
  const first = weirTopics[0]!;
  const { topic, stats: load0 } = first;
  const rate = (l: LoadStats) => ({
    messagesPerSec: Math.round(l.messages / l.seconds),
    mbPerSec: round(l.bytes / 1e6 / l.seconds, 2),
  });

  const results: Omit<BenchResults, "summary" | "targets"> = {
    schema: 5,
    date,
    git: gitInfo(),
    command: `npm run bench -- ${process.argv.slice(2).join(" ")}`.trim(),
    machine: machine(),
    versions: {
      node: process.version,
      kafkajs: packageVersion("kafkajs"),
      "@platformatic/kafka": packageVersion("@platformatic/kafka"),
      "@clickhouse/client": packageVersion("@clickhouse/client"),
      "isolated-vm": packageVersion("@weir/sandbox/node_modules/isolated-vm"),
      protobufjs: packageVersion("@weir/otlp/node_modules/protobufjs"),
      clickhouseServer: chVersion,
      kafkaBroker: "3.9.1 (services/kafka/pom.xml)",
    },
    settings: {
      spans: load0.spans,
      spansPerMessage: o.spansPerMessage,
      messages,
      partitions: o.partitions,
      formats: o.formats,
      codecs: o.skipClients ? [] : o.codecs,
      weirCodec: o.codec,
      sink: `${o.sink} (legacy table flavor, migrations/clickhouse/legacy/001)`,
      maxBatchRows: o.maxBatchRows,
      maxBatchWaitMs: o.maxBatchWaitMs,
      partitionConcurrency: o.partitionConcurrency,
      sandboxChunk: o.sandboxChunk,
      isolates: o.isolates,
      processModelPairs: o.skipProcessModel ? 0 : o.processModelPairs,
      nodeFlags: o.nodeFlags,
      latencySeconds: o.latencySeconds,
      latencyFraction: o.latencyFraction,
      latencyFormats,
      seed: o.seed,
      targets: { ...TARGETS, latencyFraction: o.latencyFraction },
    },
    load: { ...load0, ...rate(load0) },
    loads: loaded.map((l) => ({
      format: l.format,
      codec: l.codec,
      topic: l.topic,
      ...l.stats,
      ...rate(l.stats),
    })),
    weir: undefined as unknown as BenchResults["weir"],
    baselines: {},
    formats: [],
    ratios: {},
    serviceProcesses: { ...services, clockTicksPerSec: hz },
  };

  const floors = new Map<InputFormat, FloorFigures>();
  if (!o.skipBaselines) {
    for (const format of o.formats) {
      say(`baseline (a), ${format}: compute floor, the handler as a plain function on values in memory`);
      const a = computeFloor(data, messages, 500, format);
      floors.set(format, {
        ...a,
        seconds: round(a.seconds, 3),
        cpuSeconds: round(a.cpuSeconds, 3),
        parseCpuSeconds: round(a.parseCpuSeconds, 3),
        stringifyCpuSeconds: round(a.stringifyCpuSeconds, 3),
        rowsPerSec: Math.round(a.rows / a.seconds),
        cpuSecondsPerMillionRows: round(a.cpuSeconds / (a.rows / 1e6), 2),
        cpuSecondsPerMillionSpans: round(a.cpuSeconds / (a.spans / 1e6), 2),
        jsonFloorCpuSecondsPerMillionRows: round(
          (a.parseCpuSeconds + a.stringifyCpuSeconds) / (a.rows / 1e6),
          2,
        ),
      });
    }
    say("decode per span: JSON.parse vs decodeTraces on the host, json vs otlp_proto in an isolate");
    results.decode = await decodeCost(data, messages, { chunk: o.sandboxChunk });
  }

  for (const l of weirTopics) {
    say(
      `weir, ${l.format}/${l.codec}: PipelineRunner with functions/otel-traces in the sandbox -> ClickHouse`,
    );
    const table = await freshTable("weir");
    const raw = await runToCompletion(
      "weir",
      childOptions(l.topic, table, messages, { format: l.format }),
      `weir ${l.format}`,
    );
    const weir: SpanFigures = {
      ...withSpans({ ...figures(raw), boxCpu: boxCpuFigures(raw, cores, hz) }, l.stats),
      verifiedRows: await countRows(ch, table),
    };
    results.formats.push({
      format: l.format,
      codec: l.codec,
      topic: l.topic,
      load: { ...l.stats, ...rate(l.stats) },
      weir,
    });
  }
  results.weir = results.formats[0]!.weir;

  if (!o.skipProcessModel && o.processModelPairs > 0) {
    // Pairs of in-process and supervised runs, the order alternating, on the first format's topic;
    // the first pair's in-process run is that format's run above.
    const format = first.format;
    const inProcess = async (label: string): Promise<InProcessRun> => {
      const table = await freshTable("weir");
      const raw = await runToCompletion("weir", childOptions(topic, table, messages, { format }), label);
      return {
        ...figures(raw),
        boxCpu: boxCpuFigures(raw, cores, hz),
        verifiedRows: await countRows(ch, table),
      };
    };
    const supervised = async (label: string): Promise<SupervisedRun> => {
      const table = await freshTable("weir_cell");
      const raw = await runToCompletion("weir-cell", childOptions(topic, table, messages, { format }), label);
      const pm = processModelFigures(raw);
      if (!pm) throw new Error("the weir-cell child reported no supervisor/cell split");
      return {
        ...figures(raw),
        boxCpu: boxCpuFigures(raw, cores, hz),
        verifiedRows: await countRows(ch, table),
        processModel: pm,
      };
    };
    const pairs: ProcessModelPair[] = [];
    for (let i = 0; i < o.processModelPairs; i++) {
      const tag = `pair ${i + 1}/${o.processModelPairs}`;
      say(
        `process model, ${tag} (${format}): the same pipeline in-process and through the worker's supervisor and a cell`,
      );
      if (i % 2 === 0) {
        const a = i === 0 ? results.weir : await inProcess(`weir in-process (${tag})`);
        pairs.push(pair("in-process first", a, await supervised(`weir supervised (${tag})`)));
      } else {
        const b = await supervised(`weir supervised (${tag})`);
        pairs.push(pair("supervised first", await inProcess(`weir in-process (${tag})`), b));
      }
    }
    results.processModel = processModelResults(pairs);
    results.weirSupervised = pairs[0]!.supervised;
  }

  if (!o.skipBusy) {
    // The worker's real process model with several pipelines at once, on the first format's topic.
    const w0 = weirTopics[0]!;
    results.busy = await runBusy({
      topic: { topic: w0.topic, messages },
      childOptions,
      freshTable,
      countRows: (table) => countRows(ch, table),
      cores,
      hz,
      say,
      kafka,
      data,
      partitions: o.partitions,
      compression: w0.codec,
      format: w0.format,
      newTopic: async (kind) => {
        const t = `bench-${kind}-${runId}`;
        await createTopic(kafka, t, o.partitions);
        topics.push(t); // deleted with its .dlq at the end unless --keep
        return t;
      },
    });
  }

  if (!o.skipBaselines) {
    for (const l of weirTopics) {
      say(
        `baseline (b), ${l.format}/${l.codec}: hand-written kafkajs consumer, plain handler, @clickhouse/client inserts`,
      );
      const table = await freshTable("plain");
      const raw = await runToCompletion(
        "plain",
        childOptions(l.topic, table, messages, { format: l.format }),
        `plain ${l.format}`,
      );
      const run = results.formats.find((f) => f.format === l.format)!;
      run.plainConsumer = {
        ...withSpans({ ...figures(raw), boxCpu: boxCpuFigures(raw, cores, hz) }, l.stats),
        verifiedRows: await countRows(ch, table),
      };
    }
  }

  for (const f of results.formats) {
    const a = floors.get(f.format);
    if (a) {
      f.computeFloor = a;
      f.overhead = round(
        (f.weir.cpuSecondsPerMillionSpans - a.cpuSecondsPerMillionSpans) / a.cpuSecondsPerMillionSpans,
        3,
      );
    }
    if (f.plainConsumer)
      f.cpuPerRowVsPlain = round(
        f.weir.cpuSecondsPerMillionRows / f.plainConsumer.cpuSecondsPerMillionRows,
        2,
      );
  }
  const f0: FormatRun = results.formats[0]!;
  if (f0.computeFloor) results.baselines.computeFloor = f0.computeFloor;
  if (f0.plainConsumer) results.baselines.plainConsumer = f0.plainConsumer;

  const pm = results.processModel?.overall;
  if (pm) {
    results.ratios["CPU per row, supervised / in-process"] = pm.cpuPerRow;
    if (pm.cpuPerRowSustained !== null)
      results.ratios["CPU per row sustained, supervised / in-process"] = pm.cpuPerRowSustained;
    results.ratios["throughput, supervised / in-process"] = pm.throughput;
  }
  for (const f of results.formats) {
    const w = f.weir;
    const b = f.plainConsumer;
    const a = f.computeFloor;
    if (b) {
      results.ratios[`throughput, weir / (b) plain consumer, ${f.format}`] = round(
        w.rowsPerSec / b.rowsPerSec,
        2,
      );
      results.ratios[`CPU per row, weir / (b) plain consumer, ${f.format}`] = f.cpuPerRowVsPlain!;
    }
    if (a) {
      results.ratios[`throughput, weir / (a) compute floor, ${f.format}`] = round(
        w.rowsPerSec / a.rowsPerSec,
        2,
      );
      results.ratios[`CPU per span, weir / (a) compute floor, ${f.format}`] = round(
        w.cpuSecondsPerMillionSpans / a.cpuSecondsPerMillionSpans,
        2,
      );
    }
  }
  const json = results.formats.find((f) => f.format === "otlp_json");
  const proto = results.formats.find((f) => f.format === "otlp_proto");
  if (json && proto)
    results.ratios["worker CPU per span, otlp_proto / otlp_json"] = round(
      proto.weir.cpuSecondsPerMillionSpans / json.weir.cpuSecondsPerMillionSpans,
      2,
    );

  if (!o.skipClients) {
    const version = (c: ClientId) => packageVersion(clientName(c));
    const b = json?.plainConsumer;
    const matrix = await runClientMatrix({
      topics: clientTopics.map((l) => ({ codec: l.codec, topic: l.topic, messages })),
      childOptions,
      freshTable,
      countRows: (table) => countRows(ch, table),
      version,
      cores,
      hz,
      // (b) on kafkajs on Weir's otlp_json topic is the run above, not repeated.
      reuse:
        b && json
          ? {
              codec: json.codec,
              result: { client: "kafkajs", version: version("kafkajs"), codec: json.codec, ...b },
            }
          : undefined,
      endToEnd: true,
      say,
    });
    results.clients = matrix.consume;
    results.clientsEndToEnd = matrix.endToEnd;
    results.clientComparison = compareClients(matrix.consume, matrix.endToEnd);
  }

  if (o.latencySeconds > 0) {
    results.latencies = [];
    for (const format of latencyFormats) {
      const run = results.formats.find((f) => f.format === format)!;
      results.latencies.push(await latencyRun(run));
    }
    results.latency = results.latencies[0];
  }

  const withTargets = { ...results, targets: targetLines(results, busyTargetLines(results.busy)) };
  const full: BenchResults = { ...withTargets, summary: summary(withTargets) };
  const outDir = isAbsolute(o.out) ? o.out : join(repoRoot, o.out);
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `${date.slice(0, 10)}-${full.git.sha}.json`);
  writeFileSync(file, `${JSON.stringify(full, null, 2)}\n`);
  console.log(full.summary);
  console.log(`results: ${file}`);
}

/**
 * The fixed-rate run on one format: a fresh topic, the Weir child started and warmed up (group join
 * and first fetches not counted), then the format's values produced at `--latency-fraction` of
 * Weir's measured rows/s on that format, each send compressed with `--codec`.
 */
async function latencyRun(run: FormatRun): Promise<LatencyRun> {
  const l = run.load;
  const rowsPerMessage = l.expectedRows / l.messages;
  const targetRowsPerSec = Math.round(run.weir.rowsPerSec * o.latencyFraction);
  const perSecond = Math.max(1, Math.round(targetRowsPerSec / rowsPerMessage));
  say(
    `latency, ${run.format}/${o.codec}: ${perSecond} msg/s (~${targetRowsPerSec} rows/s, ${o.latencyFraction} of the max) for ${o.latencySeconds} s`,
  );
  const ltopic = `bench-latency-${run.format === "otlp_proto" ? "proto" : "json"}-${runId}`;
  await createTopic(kafka, ltopic, o.partitions);
  topics.push(ltopic);
  const ltable = await freshTable("latency");
  const pool = Array.from({ length: Math.min(200, messages) }, (_, i) => {
    const v = benchValue(data, i, run.format).value;
    return typeof v === "string" ? Buffer.from(v) : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  });
  const child = startChild("weir", childOptions(ltopic, ltable, 0, { format: run.format }));
  await child.ready;
  // Warm-up: the group join and the first fetches, not counted.
  const warm = await producePaced(
    kafka,
    ltopic,
    o.partitions,
    pool,
    1000,
    (o.partitions * 2) / 1000,
    o.codec,
  );
  await until(() => child.progress.messages >= warm.messages, 60_000, "the warm-up messages");
  const paced = await producePaced(kafka, ltopic, o.partitions, pool, perSecond, o.latencySeconds, o.codec);
  await until(
    () => child.progress.messages >= warm.messages + paced.messages,
    120_000,
    "the paced messages to be written",
  );
  child.stop();
  const raw = await child.result;
  return {
    format: run.format,
    codec: o.codec,
    fraction: o.latencyFraction,
    targetRowsPerSec,
    messagesPerSec: perSecond,
    seconds: o.latencySeconds,
    producedMessages: paced.messages,
    weir: { ...figures(raw, paced.startedAt), boxCpu: boxCpuFigures(raw, cores, hz) },
  };
}

async function until(probe: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

try {
  await main();
} finally {
  if (!o.keep) {
    for (const t of tables) await dropTable(ch, t).catch(() => undefined);
    // Weir's runs also create `<topic>.dlq` (its dead-letter topic, auto-created on first use).
    for (const t of topics) for (const name of [t, `${t}.dlq`]) await deleteTopic(kafka, name);
  }
  await ch.close();
}
