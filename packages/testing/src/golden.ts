/**
 * Golden runs of the example handlers (functions/*): every committed OTLP fixture (the official
 * samples and the corpus next to them, see fixtures/otlp/README.md) through a real sandbox, written as
 * one text whose bytes are compared with a committed golden file. The rows are the NDJSON the sink
 * receives, byte for byte; log lines and error codes and messages come along (times and stacks do
 * not, they change with every run or refactor).
 */
import type { Sandbox } from "@weir/sandbox";
import { readFixture } from "./fixtures.ts";

export interface GoldenInput {
  /** `fixture#line`, shown in the golden file. */
  name: string;
  /** The message value as it sits in Kafka. */
  value: string;
}

/** The OTLP sample and every corpus line of one signal. */
export function goldenInputs(signal: "traces" | "logs"): GoldenInput[] {
  const sample = signal === "traces" ? "otlp/trace.json" : "otlp/logs.json";
  const corpus = `otlp/corpus-${signal}.ndjson`;
  return [
    { name: sample, value: readFixture(sample) },
    ...readFixture(corpus)
      .split("\n")
      .filter((line) => line !== "")
      .map((value, i) => ({ name: `${corpus}#${i + 1}`, value })),
  ];
}

/** Run `inputs` through `sandbox`, in order, and write what came out as the golden text. */
export async function goldenText(sandbox: Sandbox, inputs: readonly GoldenInput[]): Promise<string> {
  const results = await sandbox.runBatch(inputs.map((i) => ({ value: i.value })));
  let out = "";
  results.forEach((r, i) => {
    const logs = r.logs.map((l) => ({ level: l.level, message: l.message, fields: l.fields }));
    const head = r.ok
      ? { input: inputs[i]?.name, ok: true, rows: r.rowCount, logs }
      : { input: inputs[i]?.name, ok: false, error: { code: r.error.code, message: r.error.message }, logs };
    out += `${JSON.stringify(head)}\n`;
    if (r.ok && r.rows !== "") out += `${r.rows}\n`;
  });
  return out;
}
