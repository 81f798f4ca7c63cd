import { createClient } from "@clickhouse/client";
import { createKafka } from "@weir/connectors";
import { afterAll, describe, expect, it } from "vitest";
import { type ChildOptions, Recorder } from "./child/harness.ts";
import { createTopic, deleteTopic, loadTopic } from "./load.ts";
import { type ConsumerFigures, figures, processModelFigures, runToCompletion } from "./measure.ts";
import { pair, processModelResults, type SupervisedRun } from "./processmodel.ts";
import { countRows, createTable, dropTable } from "./tables.ts";

const run = (
  cpu: number,
  sustained: number,
  rowsPerSec: number,
): ConsumerFigures & { verifiedRows: number } => ({
  messages: 100,
  rows: 1e6,
  rowsPerSec,
  rowsPerSecWall: rowsPerSec,
  messagesPerSec: 1,
  cpuSeconds: cpu,
  cpuSecondsPerMillionRows: cpu,
  cpuSecondsPerMillionRowsSustained: sustained,
  cores: 1,
  peakRssMB: 1,
  wallSeconds: 10,
  latencyMs: { messages: 0, p50: 0, p95: 0, p99: 0, max: 0, mean: 0 },
  verifiedRows: 1e6,
});
const supervised = (
  cpu: number,
  sustained: number,
  rowsPerSec: number,
  supervisorCpu: number,
): SupervisedRun => ({
  ...run(cpu, sustained, rowsPerSec),
  processModel: {
    supervisorCpuSeconds: supervisorCpu,
    cellCpuSeconds: cpu - supervisorCpu,
    cellStartupCpuSeconds: 0.5,
    supervisorPeakRssMB: 100,
    cellPeakRssMB: 600,
    cells: 1,
    cellReportMs: 250,
    cellNice: 5,
  },
});

describe("process model figures", () => {
  it("compares each pair and all pairs by the ratio of the means", () => {
    const pairs = [
      pair("in-process first", run(20, 16, 70_000), supervised(18, 14, 80_000, 0.2)),
      pair("supervised first", run(14, 12, 90_000), supervised(17, 15, 60_000, 0.4)),
    ];
    expect(pairs[0]!.cpuPerRowSustained).toBe(0.875);
    expect(pairs[1]!.cpuPerRowSustained).toBe(1.25);
    const r = processModelResults(pairs);
    expect(r.overall.cpuPerRowSustained).toBeCloseTo(29 / 28, 3);
    expect(r.overall.cpuPerRow).toBeCloseTo(35 / 34, 3);
    expect(r.overall.throughput).toBeCloseTo(140 / 160, 3);
    expect(r.sustainedRange).toEqual([0.875, 1.25]);
    expect(r.supervisorCores).toBeCloseTo(0.03, 3);
  });

  it("adds the counted processes' CPU and RSS, and keeps CPU between the 10% and 90% marks", () => {
    const rec = new Recorder(10);
    let cellCpu = 0;
    rec.countAlso(() => ({
      cpuMs: cellCpu,
      peakRssBytes: 5 * 2 ** 20,
      pids: [123_456_789],
      parts: { cellCpuMs: cellCpu, cellStartupCpuMs: 100, cellPeakRssBytes: 5 * 2 ** 20, cells: 1 },
    }));
    rec.begin();
    const t0 = Date.now();
    for (let i = 1; i <= 10; i++) {
      cellCpu = i * 1000;
      rec.written(1, 100, [], t0 + i * 100);
    }
    const r = rec.result();
    // Marks at message 1 (10%) and 9 (90%): 800 rows, 8 s of cell CPU (plus this process's, a little).
    expect(r.sustained?.rows).toBe(800);
    expect(r.sustained?.seconds).toBeCloseTo(0.8, 5);
    expect(r.sustained?.cpuMs).toBeGreaterThanOrEqual(8000);
    expect(r.sustained?.cpuMs).toBeLessThan(8500);
    expect(r.cpuMs).toBeGreaterThanOrEqual(10_000);
    expect(r.parts?.cellCpuMs).toBe(10_000);
    expect(r.peakRssBytes).toBe((r.parts?.ownPeakRssBytes ?? 0) + 5 * 2 ** 20);
    const f = figures(r);
    expect(f.cpuSecondsPerMillionRowsSustained).toBeCloseTo(r.sustained!.cpuMs / 1000 / (800 / 1e6), 1);
    expect(f.latencyMs.messages).toBe(0);
    const pm = processModelFigures(r)!;
    expect(pm.cellCpuSeconds).toBe(10);
    expect(pm.cellStartupCpuSeconds).toBe(0.1);
    expect(pm.cells).toBe(1);
  });
});

const brokers = (process.env.KAFKA_BROKERS ?? "127.0.0.1:9092").split(",");
const clickhouseUrl = process.env.CLICKHOUSE_URL ?? "http://127.0.0.1:8123";

describe("the supervised child (real Kafka and ClickHouse, tiny N)", () => {
  const id = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const kafka = createKafka({ clientId: "bench-test", brokers });
  const ch = createClient({ url: clickhouseUrl });
  const topic = `bench-test-cell-${id}`;
  const table = `bench_test_cell_${id}`;
  afterAll(async () => {
    await dropTable(ch, table).catch(() => undefined);
    await deleteTopic(kafka, topic);
    await ch.close();
  });

  it("runs the pipeline in a cell forked by the worker's supervisor and counts the cell's CPU", async () => {
    const messages = 6;
    await createTopic(kafka, topic, 2);
    const spec = { seed: 7, spansPerMessage: 20, baseTimeUnixNano: "1767225600000000000" };
    const load = await loadTopic(kafka, topic, 2, spec, messages);
    await createTable(ch, table);
    const opts: ChildOptions = {
      brokers,
      clickhouseUrl,
      topic,
      groupId: `bench-test-${id}`,
      table,
      expectedMessages: messages,
      maxBatchRows: 50,
      maxBatchWaitMs: 100,
      partitionConcurrency: 2,
      sandboxChunk: 10,
      isolates: 1,
      nodeFlags: [],
    };
    const raw = await runToCompletion("weir-cell", opts, "weir supervised", 60_000);
    expect(raw.messages).toBe(messages);
    expect(raw.rows).toBe(load.expectedRows);
    expect(await countRows(ch, table)).toBe(load.expectedRows);
    const pm = processModelFigures(raw)!;
    expect(pm.cells).toBe(1);
    expect(pm.cellReportMs).toBe(250);
    // The cell did the work: Node's boot alone is well over the supervisor's share.
    expect(pm.cellCpuSeconds).toBeGreaterThan(pm.cellStartupCpuSeconds);
    expect(pm.cellStartupCpuSeconds).toBeGreaterThan(0.1);
    expect(pm.cellPeakRssMB).toBeGreaterThan(50);
    expect(raw.cpuMs).toBeCloseTo((raw.parts!.ownCpuMs ?? 0) + (raw.parts!.cellCpuMs ?? 0), 5);
  }, 90_000);
});
