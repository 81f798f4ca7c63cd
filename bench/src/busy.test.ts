import { createClient } from "@clickhouse/client";
import { createKafka } from "@weir/connectors";
import { afterAll, describe, expect, it } from "vitest";
import { type BusyDeps, type BusyRun, busySummary, implications, runWorker } from "./busy.ts";
import type { ChildOptions } from "./child/harness.ts";
import { createTopic, deleteTopic, loadTopic } from "./load.ts";
import { countRows, createTable, dropTable } from "./tables.ts";

const run = (pipelines: number, rowsPerSec: number, over: Partial<BusyRun> = {}): BusyRun => ({
  pipelines,
  messagesPerPipeline: 100,
  cells: 1,
  expectedCells: 1,
  kills: {},
  cellSize: 8,
  maxCells: 2,
  isolates: 2,
  rows: pipelines * 1e6,
  verifiedRows: pipelines * 1e6,
  rowsPerSec,
  rowsPerSecWall: rowsPerSec,
  cpuSecondsPerMillionRows: 12,
  cpuSecondsPerMillionRowsSustained: 10,
  cpuSeconds: pipelines * 12,
  supervisorCpuSeconds: 0.3,
  cellCpuSeconds: pipelines * 11.7,
  cellMainThreadCpuSeconds: pipelines * 4,
  cellStartupCpuSeconds: 0.6,
  cores: 1,
  wallSeconds: 10,
  peakRssMB: 400,
  peakRssHwmSumMB: 450,
  supervisorPeakRssMB: 120,
  rssSamples: 50,
  cellsAtPeak: { rssMB: 300, heapTotalMB: 100, externalMB: 50, restMB: 150 },
  perCell: [{ pipelines, cpuSeconds: pipelines * 11.7, mainThreadCpuSeconds: pipelines * 4, peakRssMB: 330 }],
  perPipeline: Array.from({ length: pipelines }, () => ({
    messages: 100,
    rows: 1e6,
    verifiedRows: 1e6,
    seconds: 10,
  })),
  boxCpu: null,
  ...over,
});

describe("busy worker figures", () => {
  it("derives speed-up, rows/s per worker core and the cell main thread's bound", () => {
    const im = implications([run(1, 50_000), run(2, 70_000), run(4, 80_000)]);
    expect(im.speedup.map((s) => s.ratio)).toEqual([1, 1.4, 1.6]);
    // The largest run's sustained CPU: 10 CPU-s per 1M rows = 100k rows/s per busy core.
    expect(im.rowsPerSecPerWorkerCore).toBe(100_000);
    expect(im.sixteenCoresWorkerOnly).toBe(1_600_000);
    // Main threads: 16 CPU-s less 0.6 of boot over 4M rows = 3.85 CPU-s per 1M rows.
    expect(im.rowsPerSecPerCellMainThread).toBe(259_740);
    // Isolates: (46.8 - 16) CPU-s over 4M rows = 7.7 per 1M rows, 2 isolates.
    expect(im.rowsPerSecPerPipelineIsolateBound).toBe(259_740);
    expect(im.cellCoresAtMainThreadLimit).toBeCloseTo((46.8 - 0.6) / (16 - 0.6), 2);
    expect(im.sixteenCoresWithServices).toBeNull();
    // Every run peaks at 400 MB: no slope.
    expect(im.rssPerBusyPipelineMB).toBe(0);
    const grows = implications([1, 2, 4].map((n) => run(n, 1, { peakRssMB: 300 + 200 * n })));
    expect([grows.rssInterceptMB, grows.rssPerBusyPipelineMB]).toEqual([300, 200]);
  });

  it("prints one line per run, the 16-core reading, the memory verdict and killed cells", () => {
    const lines = busySummary({
      scaling: [run(1, 50_000), run(2, 70_000, { cells: 2, kills: { memory: 1 } })],
      memory: { ...run(10, 60_000, { cells: 2, expectedCells: 2 }), targetMB: 300, met: false },
      implications: implications([run(1, 50_000), run(2, 70_000)]),
      cores: 2,
      cellEnv: {},
    });
    const text = lines.join("\n");
    expect(text).toContain("16-core box");
    expect(text).toContain("worker defaults: 8 pipelines a cell, at most 2 cells, 2 isolates a pipeline");
    expect(text).toContain("target <= 300 MB NOT MET");
    expect(text).toMatch(/2 pipelines: 2 cell processes for 1 placed; the supervisor killed 1 \(memory\)/);
    expect(lines.filter((l) => /^ +\d+ +\d+ +[\d,]+ /.test(l)).map((l) => l.trim().split(/ +/)[0])).toEqual([
      "1",
      "2",
      "10",
    ]);
  });
});

const brokers = (process.env.KAFKA_BROKERS ?? "127.0.0.1:9092").split(",");
const clickhouseUrl = process.env.CLICKHOUSE_URL ?? "http://127.0.0.1:8123";

describe("the busy-worker child (real Kafka and ClickHouse, tiny N)", () => {
  const id = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const kafka = createKafka({ clientId: "bench-test", brokers });
  const ch = createClient({ url: clickhouseUrl });
  const topic = `bench-test-busy-${id}`;
  const tables: string[] = [];
  afterAll(async () => {
    for (const t of tables) await dropTable(ch, t).catch(() => undefined);
    await deleteTopic(kafka, topic);
    await ch.close();
  });

  it("runs 3 pipelines in 2 cells of the real supervisor, each writing the whole topic to its table", async () => {
    const messages = 6;
    await createTopic(kafka, topic, 2);
    const spec = { seed: 7, spansPerMessage: 20, baseTimeUnixNano: "1767225600000000000" };
    const load = await loadTopic(kafka, topic, 2, spec, messages);
    const deps: BusyDeps = {
      topic: { topic, messages },
      childOptions: (t, table, expectedMessages): ChildOptions => ({
        brokers,
        clickhouseUrl,
        topic: t,
        groupId: `bench-test-${id}`,
        table,
        expectedMessages,
        maxBatchRows: 50,
        maxBatchWaitMs: 100,
        partitionConcurrency: 2,
        sandboxChunk: 10,
        isolates: 1,
        nodeFlags: [],
      }),
      freshTable: async (kind) => {
        const name = `bench_test_${kind}_${id}`;
        await createTable(ch, name);
        tables.push(name);
        return name;
      },
      countRows: (t) => countRows(ch, t),
      cores: 2,
      hz: 100,
      say: () => undefined,
      // Two pipelines a cell: 3 pipelines take 2 cells.
      cellEnv: { WEIR_WORKER_CELL_SIZE: "2" },
      prebuild: false,
    };
    const r = await runWorker(deps, deps.topic, 3, "busy");
    expect(r.cells).toBe(2);
    expect(r.expectedCells).toBe(2);
    expect(r.kills).toEqual({});
    expect(r.isolates).toBe(1);
    expect(r.perCell.map((c) => c.pipelines).sort()).toEqual([1, 2]);
    expect(r.perPipeline.map((p) => p.verifiedRows)).toEqual(Array(3).fill(load.expectedRows));
    expect(r.perPipeline.map((p) => p.messages)).toEqual([messages, messages, messages]);
    expect(r.rows).toBe(3 * load.expectedRows);
    // The sampled whole-worker peak is a real sum of live processes, at most the sum of their peaks.
    expect(r.rssSamples).toBeGreaterThan(0);
    expect(r.peakRssMB).toBeGreaterThan(r.supervisorPeakRssMB);
    expect(r.peakRssMB).toBeLessThanOrEqual(r.peakRssHwmSumMB);
    expect(r.cellMainThreadCpuSeconds).toBeGreaterThan(0);
    expect(r.cellMainThreadCpuSeconds).toBeLessThan(r.cellCpuSeconds);
  }, 120_000);
});
