/**
 * Profiling aid (not part of `npm run bench`): the bench's messages through the plain handler and
 * through the sandbox, CPU and wall per round. N=messages, MEM=memory_mb, SEMI=--max-semi-space-size
 * set at runtime. Run: node --no-node-snapshot [--max-semi-space-size=16] src/profile-sandbox.ts
 */
import v8 from "node:v8";

if (process.env.SEMI) v8.setFlagsFromString(`--max-semi-space-size=${process.env.SEMI}`);

import { createSandbox } from "@weir/sandbox";
import { benchMessage } from "./data.ts";
import { compiledHandler, transformToNdjson } from "./handler.ts";
import { cpuMs } from "./stats.ts";

const N = Number(process.env.N ?? 1000);
const spec = {
  seed: 1,
  spansPerMessage: 100,
  baseTimeUnixNano: (BigInt(Date.now()) * 1_000_000n).toString(),
};
const values = Array.from({ length: N }, (_, i) => benchMessage(spec, i).value);
const compiled = await compiledHandler();
const sb = await createSandbox({
  code: compiled.code,
  env: { WEIR_TABLE_FLAVOR: "legacy" },
  pipelineId: "p",
  limits: { memory_mb: Number(process.env.MEM ?? 128) },
});
const msgs = values.map((value) => ({
  value,
  meta: { topic: "t", partition: 0, offset: "1", format: "json" as const },
}));
for (let round = 0; round < 3; round++) {
  let c = cpuMs();
  let t = performance.now();
  let rows = 0;
  for (const v of values) rows += transformToNdjson(v).rows;
  console.log(
    `plain   cpu ${(cpuMs() - c).toFixed(0)} ms wall ${(performance.now() - t).toFixed(0)} ms rows ${rows}`,
  );
  c = cpuMs();
  t = performance.now();
  rows = 0;
  for (let i = 0; i < msgs.length; i += 500)
    for (const r of await sb.runBatch(msgs.slice(i, i + 500))) rows += r.ok ? r.rowCount : 0;
  console.log(
    `sandbox cpu ${(cpuMs() - c).toFixed(0)} ms wall ${(performance.now() - t).toFixed(0)} ms rows ${rows} isolate cpu ${sb.stats().cpuTimeMs.toFixed(0)}`,
  );
}
sb.dispose();
