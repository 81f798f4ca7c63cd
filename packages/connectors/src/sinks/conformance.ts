/**
 * The one conformance suite every sink passes (Benthos-style). A sink's test file calls
 * {@link runSinkConformance} with a harness that creates a fresh target (a table with columns
 * `id UInt32, name String, value Float64`, or an HTTP receiver that checks the same shape) per test.
 * Imports vitest, so it is exported from `@weir/connectors/testing`, never from the package entry.
 *
 * Decisions the suite pins down:
 * - A batch with no chunks is a no-op: it resolves without contacting the target (it may even be
 *   unreachable), so the worker can commit offsets of messages whose rows were all dropped.
 * - Replaying a batch (same dedupToken) must not add rows: at rest when the sink claims
 *   `capabilities.dedupToken`, else after the target's own collapsing (`read({ final: true })`, i.e.
 *   ReplacingMergeTree + FINAL, or a receiver that honours the idempotency key).
 */
import { isWeirError } from "@weir/core";
import { afterEach, describe, expect, it } from "vitest";
import { dedupToken, type Sink, type SinkBatch } from "./types.ts";

export interface ConformanceRow {
  id: number;
  name: string;
  value: number;
}

export interface ConformanceTarget {
  /** A sink pointed at this target, not yet connected. */
  sink: Sink;
  /** Rows at the target sorted by id. `final`: after the target's own deduplication (FINAL). */
  read(opts?: { final?: boolean }): Promise<ConformanceRow[]>;
  cleanup(): Promise<void>;
}

export interface ConformanceHarness {
  create(pipelineId: string): Promise<ConformanceTarget>;
  /** A sink whose table does not exist and that table's name; a string says why the case does not apply. */
  missingTable: (() => { sink: Sink; table: string }) | string;
  /** A sink whose endpoint cannot be reached; a string says why the case does not apply. */
  unreachable: (() => Sink) | string;
}

/** Build a batch the way the worker does: NDJSON chunks, counts and the dedup token. */
export function makeBatch(
  pipelineId: string,
  chunks: ReadonlyArray<ReadonlyArray<object>>,
  opts: { topic?: string; partition?: number; firstOffset?: number } = {},
): SinkBatch {
  const topic = opts.topic ?? "conformance";
  const partition = opts.partition ?? 0;
  const first = opts.firstOffset ?? 0;
  const rowCount = chunks.reduce((n, c) => n + c.length, 0);
  const serialized = chunks
    .filter((c) => c.length > 0)
    .map((c) => c.map((r) => JSON.stringify(r)).join("\n"));
  const ids = {
    pipelineId,
    topic,
    partition,
    firstOffset: String(first),
    lastOffset: String(first + rowCount),
  };
  return {
    ...ids,
    chunks: serialized,
    rowCount,
    bytes: serialized.reduce((n, c) => n + Buffer.byteLength(c), 0),
    dedupToken: dedupToken(ids),
  };
}

const ROWS: ConformanceRow[] = [
  { id: 1, name: "plain", value: 1.5 },
  { id: 2, name: 'quote " and \\ backslash', value: -2 },
  { id: 3, name: "line\nbreak\ttab", value: 0 },
  { id: 4, name: "unicode é 漢字 🚀", value: 1e-7 },
  { id: 5, name: "", value: 123456.75 },
];

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error("expected the call to fail");
}

/** Run the shared sink suite. */
export function runSinkConformance(name: string, harness: ConformanceHarness): void {
  describe(`sink conformance: ${name}`, () => {
    const open: ConformanceTarget[] = [];
    let seq = 0;
    const target = async () => {
      const t = await harness.create(`conf-${name.replace(/[^a-z0-9]/gi, "")}-${++seq}`);
      open.push(t);
      return t;
    };
    afterEach(async () => {
      for (const t of open.splice(0)) {
        await t.sink.close();
        await t.cleanup();
      }
    });

    it("writes rows exactly, across chunks", async () => {
      const t = await target();
      await t.sink.connect();
      await t.sink.healthcheck();
      await t.sink.write(makeBatch("p", [ROWS.slice(0, 3), ROWS.slice(3)]));
      expect(await t.read()).toEqual(ROWS);
    });

    it("treats a batch without chunks as a no-op", async () => {
      const t = await target();
      await t.sink.connect();
      await t.sink.write(makeBatch("p", []));
      expect(await t.read()).toEqual([]);
      if (typeof harness.unreachable !== "string") {
        const down = harness.unreachable();
        await down.write(makeBatch("p", [])); // never contacts the target
        await down.close();
      }
    });

    it("does not add rows when the same batch is written twice", async () => {
      const t = await target();
      await t.sink.connect();
      const batch = makeBatch("p", [ROWS.slice(0, 2), ROWS.slice(2)], { firstOffset: 100 });
      await t.sink.write(batch);
      await t.sink.write(batch);
      if (t.sink.capabilities.dedupToken) expect(await t.read()).toEqual(ROWS);
      else expect(await t.read({ final: true })).toEqual(ROWS);
    });

    it("fails connect with SINK_SCHEMA naming a missing table", async (ctx) => {
      if (typeof harness.missingTable === "string") return ctx.skip(harness.missingTable);
      const { sink, table } = harness.missingTable();
      try {
        const err = await rejection(sink.connect());
        expect(isWeirError(err) && err.code).toBe("SINK_SCHEMA");
        expect((err as Error).message).toContain(table);
      } finally {
        await sink.close();
      }
    });

    it("rejects an unknown column and a wrong type as SINK_PERMANENT", async () => {
      const t = await target();
      await t.sink.connect();
      for (const bad of [
        { id: 7, name: "x", value: 1, no_such_column: 1 },
        { id: "not a number", name: "x", value: 1 },
      ]) {
        const err = await rejection(t.sink.write(makeBatch("p", [[bad]])));
        expect(isWeirError(err) && err.code, JSON.stringify(bad)).toBe("SINK_PERMANENT");
        expect((err as { retryable: boolean }).retryable).toBe(false);
      }
      expect(await t.read()).toEqual([]);
    });

    it("reports an unreachable endpoint as SINK_RETRYABLE", async (ctx) => {
      if (typeof harness.unreachable === "string") return ctx.skip(harness.unreachable);
      const sink = harness.unreachable();
      try {
        const err = await rejection(sink.connect().then(() => sink.write(makeBatch("p", [ROWS]))));
        expect(isWeirError(err) && err.code).toBe("SINK_RETRYABLE");
        expect((err as { retryable: boolean }).retryable).toBe(true);
      } finally {
        await sink.close();
      }
    });

    it("closes idempotently", async () => {
      const t = await target();
      await t.sink.connect();
      await t.sink.close();
      await t.sink.close();
    });
  });
}
