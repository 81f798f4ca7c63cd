/**
 * `npm run bench`: Weir end to end (Kafka -> otel-traces in the sandbox -> ClickHouse) against two
 * baselines on the same data in the same invocation, a latency run at half the measured maximum,
 * and kafkajs vs @platformatic/kafka (consume only and end to end) on topics compressed with each
 * of `--codecs`. Writes bench/results/<date>-<sha>.json and prints
 * a one-screen summary. See bench/README.md for what each figure means and how it is measured.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient } from "@clickhouse/client";
import { KAFKA_COMPRESSIONS, type KafkaCompression } from "@weir/connectors";
import { Command, InvalidArgumentError, Option } from "commander";
import { Kafka, logLevel } from "kafkajs";
import type { ChildOptions } from "./child/harness.ts";
import { type ClientId, clientName, compareClients, runClientMatrix } from "./clients.ts";
import { computeFloor } from "./compute.ts";
import { benchMessage, type DataSpec } from "./data.ts";
import { createTopic, deleteTopic, type LoadStats, loadTopic, producePaced } from "./load.ts";
import { boxCpuFigures, figures, processModelFigures, round, runToCompletion } from "./measure.ts";
import {
  type InProcessRun,
  type ProcessModelPair,
  pair,
  processModelResults,
  type SupervisedRun,
} from "./processmodel.ts";
import { clockTicks, findServices } from "./procstat.ts";
import { type BenchResults, gitInfo, machine, packageVersion, summary } from "./report.ts";
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
  .option("--skip-baselines", "run only Weir (no compute floor, no plain consumer)")
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
  .option(
    "--skip-clients",
    "skip the kafkajs vs @platformatic/kafka comparison (consume only and end to end)",
  )
  .option(
    "--codecs <list>",
    "batch codecs, one topic each; Weir and (b) read the first; the clients read all",
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
  skipBaselines?: boolean;
  skipProcessModel?: boolean;
  processModelPairs: number;
  skipClients?: boolean;
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

async function freshTable(kind: string): Promise<string> {
  const name = `bench_${kind}_${runId}`;
  await createTable(ch, name);
  tables.push(name);
  return name;
}

async function main(): Promise<void> {
  const chVersion = await serverVersion(ch);
  // One topic per codec, the same messages in each; Weir and (b) read the first.
  const loaded: { codec: KafkaCompression; topic: string; stats: LoadStats }[] = [];
  for (const codec of o.codecs) {
    const topic = `bench-otel-${codec}-${runId}`;
    await createTopic(kafka, topic, o.partitions);
    topics.push(topic);
    say(
      `loading ${messages} messages x ${o.spansPerMessage} spans into ${topic} (${o.partitions} partitions, ${codec})`,
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
    );
    say(
      `loaded ${stats.messages} messages (${(stats.bytes / 1e6).toFixed(0)} MB) in ${stats.seconds.toFixed(1)} s`,
    );
    loaded.push({ codec, topic, stats });
  }
  const { topic, stats: load, codec: weirCodec } = loaded[0]!;
  const rate = (l: LoadStats) => ({
    messagesPerSec: Math.round(l.messages / l.seconds),
    mbPerSec: round(l.bytes / 1e6 / l.seconds, 2),
  });

  const results: Omit<BenchResults, "summary"> = {
    schema: 4,
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
      clickhouseServer: chVersion,
      kafkaBroker: "3.9.1 (services/kafka/pom.xml)",
    },
    settings: {
      spans: load.spans,
      spansPerMessage: o.spansPerMessage,
      messages,
      partitions: o.partitions,
      codecs: o.codecs,
      weirCodec,
      sink: `${o.sink} (legacy table flavor, migrations/clickhouse/legacy/001)`,
      maxBatchRows: o.maxBatchRows,
      maxBatchWaitMs: o.maxBatchWaitMs,
      partitionConcurrency: o.partitionConcurrency,
      sandboxChunk: o.sandboxChunk,
      isolates: o.isolates,
      processModelPairs: o.skipProcessModel ? 0 : o.processModelPairs,
      nodeFlags: o.nodeFlags,
      latencySeconds: o.latencySeconds,
      seed: o.seed,
      targets: { rowsPerSec: 100_000, cpuPerRowRatio: 1.3, p99Ms: 1000, processModelCpuPerRowRatio: 1.05 },
    },
    load: { ...load, ...rate(load) },
    loads: loaded.map((l) => ({ codec: l.codec, topic: l.topic, ...l.stats, ...rate(l.stats) })),
    weir: undefined as unknown as BenchResults["weir"],
    baselines: {},
    ratios: {},
    serviceProcesses: { ...services, clockTicksPerSec: hz },
  };

  if (!o.skipBaselines) {
    say("baseline (a): compute floor, the handler as a plain function on strings in memory");
    const a = computeFloor(data, messages);
    results.baselines.computeFloor = {
      ...a,
      seconds: round(a.seconds, 3),
      cpuSeconds: round(a.cpuSeconds, 3),
      parseCpuSeconds: round(a.parseCpuSeconds, 3),
      stringifyCpuSeconds: round(a.stringifyCpuSeconds, 3),
      rowsPerSec: Math.round(a.rows / a.seconds),
      cpuSecondsPerMillionRows: round(a.cpuSeconds / (a.rows / 1e6), 2),
      jsonFloorCpuSecondsPerMillionRows: round(
        (a.parseCpuSeconds + a.stringifyCpuSeconds) / (a.rows / 1e6),
        2,
      ),
    };
  }

  say("weir: PipelineRunner with functions/otel-traces in the sandbox -> ClickHouse");
  const weirTable = await freshTable("weir");
  const weirRaw = await runToCompletion("weir", childOptions(topic, weirTable, messages), "weir");
  results.weir = {
    ...figures(weirRaw),
    boxCpu: boxCpuFigures(weirRaw, cores, hz),
    verifiedRows: await countRows(ch, weirTable),
  };

  if (!o.skipProcessModel && o.processModelPairs > 0) {
    // Pairs of in-process and supervised runs, the order alternating; the first pair's in-process
    // run is the one above.
    const inProcess = async (label: string): Promise<InProcessRun> => {
      const table = await freshTable("weir");
      const raw = await runToCompletion("weir", childOptions(topic, table, messages), label);
      return {
        ...figures(raw),
        boxCpu: boxCpuFigures(raw, cores, hz),
        verifiedRows: await countRows(ch, table),
      };
    };
    const supervised = async (label: string): Promise<SupervisedRun> => {
      const table = await freshTable("weir_cell");
      const raw = await runToCompletion("weir-cell", childOptions(topic, table, messages), label);
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
        `process model, ${tag}: the same pipeline in-process and through the worker's supervisor and a cell`,
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

  if (!o.skipBaselines) {
    say("baseline (b): hand-written kafkajs consumer, plain handler, @clickhouse/client inserts");
    const plainTable = await freshTable("plain");
    const plainRaw = await runToCompletion("plain", childOptions(topic, plainTable, messages), "plain");
    results.baselines.plainConsumer = {
      ...figures(plainRaw),
      boxCpu: boxCpuFigures(plainRaw, cores, hz),
      verifiedRows: await countRows(ch, plainTable),
    };
  }

  const w = results.weir;
  const a = results.baselines.computeFloor;
  const b = results.baselines.plainConsumer;
  const pm = results.processModel?.overall;
  if (pm) {
    results.ratios["CPU per row, supervised / in-process"] = pm.cpuPerRow;
    if (pm.cpuPerRowSustained !== null)
      results.ratios["CPU per row sustained, supervised / in-process"] = pm.cpuPerRowSustained;
    results.ratios["throughput, supervised / in-process"] = pm.throughput;
  }
  if (b) {
    results.ratios["throughput, weir / (b) plain consumer"] = round(w.rowsPerSec / b.rowsPerSec, 2);
    results.ratios["CPU per row, weir / (b) plain consumer"] = round(
      w.cpuSecondsPerMillionRows / b.cpuSecondsPerMillionRows,
      2,
    );
  }
  if (a) {
    results.ratios["throughput, weir / (a) compute floor"] = round(w.rowsPerSec / a.rowsPerSec, 2);
    results.ratios["CPU per row, weir / (a) compute floor"] = round(
      w.cpuSecondsPerMillionRows / a.cpuSecondsPerMillionRows,
      2,
    );
  }

  if (!o.skipClients) {
    const version = (c: ClientId) => packageVersion(clientName(c));
    const matrix = await runClientMatrix({
      topics: loaded.map((l) => ({ codec: l.codec, topic: l.topic, messages })),
      childOptions,
      freshTable,
      countRows: (table) => countRows(ch, table),
      version,
      cores,
      hz,
      reuse: b
        ? {
            codec: weirCodec,
            result: { client: "kafkajs", version: version("kafkajs"), codec: weirCodec, ...b },
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
    const rowsPerMessage = load.expectedRows / load.messages;
    const targetRowsPerSec = Math.round(w.rowsPerSec / 2);
    const perSecond = Math.max(1, Math.round(targetRowsPerSec / rowsPerMessage));
    say(`latency: ${perSecond} msg/s (~${targetRowsPerSec} rows/s) for ${o.latencySeconds} s`);
    const ltopic = `bench-latency-${runId}`;
    await createTopic(kafka, ltopic, o.partitions);
    topics.push(ltopic);
    const ltable = await freshTable("latency");
    const pool = Array.from({ length: Math.min(200, messages) }, (_, i) =>
      Buffer.from(benchMessage(data, i).value),
    );
    const child = startChild("weir", childOptions(ltopic, ltable, 0));
    await child.ready;
    // Warm-up: the group join and the first fetches, not counted.
    const warm = await producePaced(kafka, ltopic, o.partitions, pool, 1000, (o.partitions * 2) / 1000);
    await until(() => child.progress.messages >= warm.messages, 60_000, "the warm-up messages");
    const paced = await producePaced(kafka, ltopic, o.partitions, pool, perSecond, o.latencySeconds);
    await until(
      () => child.progress.messages >= warm.messages + paced.messages,
      120_000,
      "the paced messages to be written",
    );
    child.stop();
    const raw = await child.result;
    results.latency = {
      targetRowsPerSec,
      messagesPerSec: perSecond,
      seconds: o.latencySeconds,
      producedMessages: paced.messages,
      weir: { ...figures(raw, paced.startedAt), boxCpu: boxCpuFigures(raw, cores, hz) },
    };
  }

  const full: BenchResults = { ...results, summary: summary(results) };
  const outDir = isAbsolute(o.out) ? o.out : join(repoRoot, o.out);
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `${date.slice(0, 10)}-${full.git.sha}.json`);
  writeFileSync(file, `${JSON.stringify(full, null, 2)}\n`);
  console.log(full.summary);
  console.log(`results: ${file}`);
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
