/**
 * Benchmark: OTLP trace messages (100 spans each) through the seed transform, as a plain
 * in-process function vs through the sandbox's runBatch, in one run. Prints spans/s and the
 * ratio against the 1.3x target. Run with `pnpm --filter @weir/sandbox bench`.
 *
 * Plain = JSON.parse + handler + JSON.stringify of each row, joined as NDJSON, in the host, with
 * node:crypto md5. Sandbox = the same handler compiled by compileHandler, raw strings in, NDJSON out.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import ivm from "isolated-vm";
import { compileHandler, createProcessSandbox, createSandbox, type Sandbox } from "../src/index.ts";
import { handler } from "./handler.ts";
import { otlpMessages } from "./otlp.ts";

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 2000);
const SPANS = Number(process.env.BENCH_SPANS ?? 100);
const BATCH = Number(process.env.BENCH_BATCH ?? 500);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const TARGET = 1.3;

const nodeMd5 = (text: string) => createHash("md5").update(text).digest("hex");
(globalThis as { hash?: unknown }).hash = { md5: nodeMd5 };
const log = { info: (_message: string) => {} };

function plain(values: string[]): { spans: number; rows: string[] } {
  const rows: string[] = [];
  for (const value of values) {
    const out = handler(JSON.parse(value), log);
    let text = "";
    for (let i = 0; i < out.length; i++) text += (i ? "\n" : "") + JSON.stringify(out[i]);
    rows.push(text);
  }
  return { spans: values.length * SPANS, rows };
}

function ms(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

async function main(): Promise<void> {
  const values = otlpMessages(MESSAGES, SPANS);
  const bytes = values.reduce((n, v) => n + v.length, 0);
  const compiled = await compileHandler(readFileSync(new URL("./handler.ts", import.meta.url), "utf8"));
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.diagnostics));
  const sandbox = await createSandbox({
    code: compiled.code,
    sourceMap: compiled.sourceMap,
    pipelineId: "bench",
  });
  const batches: { value: string }[][] = [];
  for (let i = 0; i < values.length; i += BATCH)
    batches.push(values.slice(i, i + BATCH).map((value) => ({ value })));

  const runSandbox = async (on: Sandbox = sandbox) => {
    const rows: string[] = [];
    for (const batch of batches) {
      for (const r of await on.runBatch(batch)) {
        if (!r.ok) throw new Error(JSON.stringify(r.error));
        rows.push(r.rows);
      }
    }
    return rows;
  };

  // Warm up both paths (JIT) and check they produce the same NDJSON.
  const expected = plain(values).rows;
  const got = await runSandbox();
  const mismatch = got.findIndex((r, i) => r !== expected[i]);
  if (mismatch >= 0) throw new Error(`sandbox output differs from plain output at message ${mismatch}`);

  let bestPlain = Number.POSITIVE_INFINITY;
  let bestSandbox = Number.POSITIVE_INFINITY;
  for (let round = 0; round < ROUNDS; round++) {
    let t0 = process.hrtime.bigint();
    plain(values);
    bestPlain = Math.min(bestPlain, ms(t0));
    t0 = process.hrtime.bigint();
    await runSandbox();
    bestSandbox = Math.min(bestSandbox, ms(t0));
  }
  const spans = MESSAGES * SPANS;
  const rows = expected.reduce((n, r) => n + (r ? r.split("\n").length : 0), 0);
  const ratio = bestSandbox / bestPlain;
  const stats = sandbox.stats();
  sandbox.dispose();

  console.log(
    `OTLP bench: ${MESSAGES} messages x ${SPANS} spans (${(bytes / 1e6).toFixed(1)} MB JSON), ${rows} rows out, batches of ${BATCH}, best of ${ROUNDS}`,
  );
  console.log(
    `  plain function : ${bestPlain.toFixed(1)} ms  ${Math.round(spans / (bestPlain / 1000)).toLocaleString("en-US")} spans/s`,
  );
  console.log(
    `  sandbox        : ${bestSandbox.toFixed(1)} ms  ${Math.round(spans / (bestSandbox / 1000)).toLocaleString("en-US")} spans/s`,
  );
  console.log(
    `  ratio          : ${ratio.toFixed(2)}x the plain function's time (target <= ${TARGET}x: ${ratio <= TARGET ? "MET" : "MISSED"})`,
  );
  console.log(
    `  sandbox cpu    : ${stats.cpuTimeMs.toFixed(0)} ms in the isolate, ${stats.droppedLogLines} log lines dropped by the rate limit`,
  );
  await processBench(compiled, runSandbox, expected, bestSandbox);
  await md5Bench();
}

/**
 * The same batches through createProcessSandbox (handler in a child process, messages over IPC)
 * against the in-process sandbox's best time: the price of the process boundary.
 */
async function processBench(
  compiled: { code: string; sourceMap: string | null },
  runSandbox: (on: Sandbox) => Promise<string[]>,
  expected: string[],
  bestInProcess: number,
): Promise<void> {
  const sandbox = await createProcessSandbox({
    code: compiled.code,
    sourceMap: compiled.sourceMap,
    pipelineId: "bench-process",
    execArgv: ["--no-node-snapshot", "--max-semi-space-size=16"],
  });
  const got = await runSandbox(sandbox);
  const mismatch = got.findIndex((r, i) => r !== expected[i]);
  if (mismatch >= 0)
    throw new Error(`process sandbox output differs from plain output at message ${mismatch}`);
  let best = Number.POSITIVE_INFINITY;
  let parentCpuMs = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    await runSandbox(sandbox);
    const took = ms(t0);
    if (took < best) {
      best = took;
      const cpu = process.cpuUsage(cpu0);
      parentCpuMs = (cpu.user + cpu.system) / 1000;
    }
  }
  sandbox.dispose();
  const rate = (t: number) => Math.round(MESSAGES / (t / 1000)).toLocaleString("en-US");
  console.log(`  in-process     : ${bestInProcess.toFixed(1)} ms  ${rate(bestInProcess)} messages/s`);
  console.log(
    `  child process  : ${best.toFixed(1)} ms  ${rate(best)} messages/s (${(best / bestInProcess).toFixed(2)}x in-process; parent CPU ${parentCpuMs.toFixed(0)} ms for IPC)`,
  );
}

/** Why md5 runs as plain JS inside the isolate rather than through a bridge to node:crypto. */
async function md5Bench(): Promise<void> {
  const N = 200_000;
  const keys = Array.from(
    { length: 1000 },
    (_, i) => `${"5b8efff798038103d269b633813fc60c"}${(1e15 + i).toString(16)}`,
  );
  const isolate = new ivm.Isolate({ memoryLimit: 64 });
  const context = await isolate.createContext();
  const compiled = await compileHandler(
    `declare const hash: { md5(t: string): string };
     export function handler(d: { n: number; keys: string[] }) {
       let x = 0; for (let i = 0; i < d.n; i++) x += hash.md5(d.keys[i % d.keys.length]!).length; return { x }; }`,
  );
  if (!compiled.ok) throw new Error("md5 bench handler failed to compile");
  const sandbox = await createSandbox({ code: compiled.code });
  const input = JSON.stringify({ n: N, keys });
  await sandbox.run(input);
  let t0 = process.hrtime.bigint();
  await sandbox.run(input);
  const inIsolate = ms(t0);
  sandbox.dispose();

  await context.global.set("bridgeMd5", new ivm.Callback((text: string) => nodeMd5(text)));
  await context.global.set("keys", new ivm.ExternalCopy(keys).copyInto());
  const loop = `(() => { let x = 0; for (let i = 0; i < ${N}; i++) x += bridgeMd5(keys[i % keys.length]).length; return x; })()`;
  await context.eval(loop);
  t0 = process.hrtime.bigint();
  await context.eval(loop);
  const bridged = ms(t0);
  isolate.dispose();

  t0 = process.hrtime.bigint();
  let x = 0;
  for (let i = 0; i < N; i++) x += nodeMd5(keys[i % keys.length]!).length;
  const host = ms(t0);
  const per = (t: number) => `${((t * 1000) / N).toFixed(2)} µs/hash`;
  console.log(`md5 of ~48-byte keys (${N.toLocaleString("en-US")} hashes, check ${x > 0}):`);
  console.log(`  pure JS in the isolate      : ${per(inIsolate)}`);
  console.log(`  bridge to host node:crypto  : ${per(bridged)}`);
  console.log(`  node:crypto in the host     : ${per(host)}`);
}

await main();
