import { afterEach, describe, expect, it } from "vitest";
import { sandboxFor } from "./test-helpers.ts";
import type { Sandbox } from "./types.ts";

const open: Sandbox[] = [];
async function make(source: string, opts: Parameters<typeof sandboxFor>[1] = {}) {
  const s = await sandboxFor(source, opts);
  open.push(s);
  return s;
}
afterEach(() => {
  for (const s of open.splice(0)) s.dispose();
});

describe("log bridge", () => {
  it("captures log.* and console.* with level, time, fields and the message's topic/partition/offset", async () => {
    const s = await make(
      `export function handler(data: { n: number }, log: any) {
        log.debug("dbg", { n: data.n });
        log.info("info line");
        log.warn("careful", { nested: { a: [1, 2] } });
        log.error("bad", { n: data.n });
        console.log("console", data.n, { x: 1 });
        console.error(new Error("as error"));
        return null;
      }`,
      { handlerVersion: "v7" },
    );
    const before = Date.now();
    const [r] = await s.runBatch([{ value: '{"n":3}', meta: { topic: "t1", partition: 2, offset: "42" } }]);
    const logs = r!.logs;
    expect(logs.map((l) => [l.level, l.message])).toEqual([
      ["debug", "dbg"],
      ["info", "info line"],
      ["warn", "careful"],
      ["error", "bad"],
      ["info", 'console 3 {"x":1}'],
      ["error", expect.stringContaining("Error: as error")],
    ]);
    expect(logs[0]).toMatchObject({
      fields: { n: 3 },
      source: "handler",
      topic: "t1",
      partition: 2,
      offset: "42",
      handler_version: "v7",
    });
    expect(logs[2]!.fields).toEqual({ nested: { a: [1, 2] } });
    expect(logs[0]!.time).toBeGreaterThanOrEqual(before - 5);
    expect(logs[0]!.time).toBeLessThanOrEqual(Date.now() + 5);
    const drained = s.drainLogs();
    expect(drained.records).toHaveLength(6);
    expect(s.drainLogs().records).toHaveLength(0);
  });

  it("keeps logs of a failed message and attributes lines to their own message", async () => {
    const s = await make(`export async function handler(d: { n: number }, log: any) {
      log.info("start " + d.n); await null; log.info("after await " + d.n);
      if (d.n === 1) throw new Error("fail");
      return null; }`);
    const results = await s.runBatch(
      [0, 1, 2].map((n) => ({ value: `{"n":${n}}`, meta: { offset: String(n) } })),
    );
    expect(results.map((r) => r.logs.map((l) => `${l.offset}:${l.message}`))).toEqual([
      ["0:start 0", "0:after await 0"],
      ["1:start 1", "1:after await 1"],
      ["2:start 2", "2:after await 2"],
    ]);
    expect(results[1]!.ok).toBe(false);
  });

  it("rate-limits per pipeline, counts what it drops and refills over time", async () => {
    const flood = `export function handler(d: { n: number }, log: any) { for (let i = 0; i < d.n; i++) log.info("line " + i); return null; }`;
    const s = await make(flood, { limits: { log_lines_per_second: 20 }, pipelineId: "p-flood" });
    const [r] = await s.runBatch([{ value: '{"n":100000}' }]);
    expect(r!.ok).toBe(true);
    expect(r!.logs).toHaveLength(20);
    expect(s.stats().droppedLogLines).toBe(100000 - 20);
    expect(s.droppedLogLines()).toBe(s.stats().droppedLogLines);
    expect(s.drainLogs()).toMatchObject({ dropped: 100000 - 20 });
    // A second sandbox of the same pipeline shares the (now empty) budget.
    const other = await make(flood, { limits: { log_lines_per_second: 20 }, pipelineId: "p-flood" });
    expect((await other.run('{"n":5}')).logs.length).toBeLessThanOrEqual(1);
    await new Promise((r) => setTimeout(r, 300));
    const refilled = (await s.run('{"n":100}')).logs.length;
    expect(refilled).toBeGreaterThanOrEqual(4);
    expect(refilled).toBeLessThanOrEqual(12);
  });

  it("truncates lines over max_log_line_bytes and survives unserializable fields", async () => {
    const s = await make(
      `export function handler(_: unknown, log: any) {
        log.info("x".repeat(1000));
        log.info("small", { big: "y".repeat(1000) });
        const cyc: any = {}; cyc.self = cyc;
        log.warn("cyclic", cyc);
        log.info("bigint", { n: 1n });
        return null;
      }`,
      { limits: { max_log_line_bytes: 256 } },
    );
    const { logs } = await s.run("{}");
    expect(logs[0]!.message.length).toBeLessThanOrEqual(257);
    expect(logs[0]!.fields).toEqual({ weir_truncated_chars: 1004 });
    expect(logs[1]).toMatchObject({ message: "small", fields: { weir_truncated_chars: expect.any(Number) } });
    expect(logs[2]!.fields).toMatchObject({ weir_unserializable: expect.stringMatching(/circular/i) });
    expect(logs[3]!.fields).toMatchObject({ weir_unserializable: expect.stringMatching(/BigInt/) });
    expect(s.stats().truncatedLogLines).toBe(2);
  });
});
