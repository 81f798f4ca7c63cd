/**
 * kafkajs (with the codecs Weir registers) against @platformatic/kafka, by measurement: per codec
 * topic, each client reads the whole topic twice, once consume-only (value to string, nothing else)
 * and once as the hand-written consumer (b) end to end (handler + @clickhouse/client inserts), each
 * in its own child measured by the same harness. The figures, the per-codec ratios and the summary
 * table live here; `main.ts` loads the topics and calls `runClientMatrix`.
 */
import type { ChildOptions } from "./child/harness.ts";
import { boxCpuFigures, type ConsumerFigures, figures, round, runToCompletion } from "./measure.ts";

export const CLIENTS = ["kafkajs", "platformatic"] as const;
export type ClientId = (typeof CLIENTS)[number];

/** Consume-only figures of one client on one codec's topic. */
export interface ClientFigures {
  client: string;
  version: string;
  /** Batch codec of the topic read (schema 3). */
  codec: string;
  messages: number;
  /** Decoded value bytes (uncompressed, as produced) read. */
  bytes: number;
  messagesPerSec: number;
  /** Decoded value bytes per second, 1e6 bytes a MB. */
  mbPerSec: number;
  cpuSeconds: number;
  /** Child CPU-s per GB of decoded values (= CPU-ms per MB). */
  cpuSecondsPerGB: number;
  peakRssMB: number;
}

/** The hand-written consumer (b) on one client and one codec's topic. */
export interface ClientEndToEnd extends ConsumerFigures {
  client: string;
  version: string;
  codec: string;
  verifiedRows: number;
}

/** One codec: both clients' cost side by side; ratios are platformatic / kafkajs. */
export interface ClientComparison {
  codec: string;
  consumeCpuSecondsPerGB: { kafkajs: number; platformatic: number; ratio: number } | null;
  consumeMessagesPerSec: { kafkajs: number; platformatic: number; ratio: number } | null;
  endToEndCpuSecondsPerMillionRows: { kafkajs: number; platformatic: number; ratio: number } | null;
  endToEndRowsPerSec: { kafkajs: number; platformatic: number; ratio: number } | null;
}

export interface ClientMatrixDeps {
  /** Codec -> its loaded topic. */
  topics: { codec: string; topic: string; messages: number }[];
  childOptions(topic: string, table: string, messages: number, extra?: Partial<ChildOptions>): ChildOptions;
  freshTable(kind: string): Promise<string>;
  countRows(table: string): Promise<number>;
  version(client: ClientId): string;
  cores: number;
  hz: number;
  /** Already measured: (b) on kafkajs for this codec (the baseline run next to Weir's). */
  reuse?: { codec: string; result: ClientEndToEnd };
  /** Run the end-to-end (b) consumers too (false: consume-only). */
  endToEnd: boolean;
  say(s: string): void;
}

export const clientName = (c: ClientId) => (c === "kafkajs" ? "kafkajs" : "@platformatic/kafka");

/** Every (codec, client) pair, consume-only then end to end; the client order alternates by codec to spread drift. */
export async function runClientMatrix(
  d: ClientMatrixDeps,
): Promise<{ consume: ClientFigures[]; endToEnd: ClientEndToEnd[] }> {
  const consume: ClientFigures[] = [];
  const endToEnd: ClientEndToEnd[] = [];
  for (const [i, t] of d.topics.entries()) {
    const order = i % 2 === 0 ? CLIENTS : ([...CLIENTS].reverse() as ClientId[]);
    for (const client of order) {
      d.say(`consume only: ${client}, ${t.codec}`);
      const r = await runToCompletion(
        "consume",
        d.childOptions(t.topic, "", t.messages, { client }),
        `${client}/${t.codec}`,
      );
      const wall = (r.endedAt - r.startedAt) / 1000;
      consume.push({
        client: clientName(client),
        version: d.version(client),
        codec: t.codec,
        messages: r.messages,
        bytes: r.bytes,
        messagesPerSec: Math.round(r.messages / wall),
        mbPerSec: round(r.bytes / 1e6 / wall, 2),
        cpuSeconds: round(r.cpuMs / 1000, 2),
        cpuSecondsPerGB: round(r.cpuMs / 1000 / (r.bytes / 1e9), 2),
        peakRssMB: Math.round(r.peakRssBytes / 2 ** 20),
      });
    }
    if (!d.endToEnd) continue;
    for (const client of order) {
      if (client === "kafkajs" && d.reuse?.codec === t.codec) {
        endToEnd.push(d.reuse.result);
        continue;
      }
      d.say(`(b) hand-written consumer on ${client}, ${t.codec}`);
      const table = await d.freshTable(`plain_${client}_${t.codec}`);
      const raw = await runToCompletion(
        client === "kafkajs" ? "plain" : "plain-platformatic",
        d.childOptions(t.topic, table, t.messages),
        `(b) ${client}/${t.codec}`,
      );
      endToEnd.push({
        client: clientName(client),
        version: d.version(client),
        codec: t.codec,
        ...figures(raw),
        boxCpu: boxCpuFigures(raw, d.cores, d.hz),
        verifiedRows: await d.countRows(table),
      });
    }
  }
  return { consume, endToEnd };
}

function pair(
  rows: { client: string; codec: string }[],
  codec: string,
  pick: (x: never) => number,
): { kafkajs: number; platformatic: number; ratio: number } | null {
  const k = rows.find((x) => x.codec === codec && x.client === "kafkajs");
  const p = rows.find((x) => x.codec === codec && x.client === "@platformatic/kafka");
  if (!k || !p) return null;
  const kv = pick(k as never);
  const pv = pick(p as never);
  return { kafkajs: kv, platformatic: pv, ratio: kv > 0 ? round(pv / kv, 3) : 0 };
}

/** Per codec: CPU per GB consume-only and per 1M rows end to end, each client, and platformatic / kafkajs. */
export function compareClients(consume: ClientFigures[], endToEnd: ClientEndToEnd[]): ClientComparison[] {
  const codecs = [...new Set([...consume, ...endToEnd].map((x) => x.codec))];
  return codecs.map((codec) => ({
    codec,
    consumeCpuSecondsPerGB: pair(consume, codec, (x: ClientFigures) => x.cpuSecondsPerGB),
    consumeMessagesPerSec: pair(consume, codec, (x: ClientFigures) => x.messagesPerSec),
    endToEndCpuSecondsPerMillionRows: pair(
      endToEnd,
      codec,
      (x: ClientEndToEnd) => x.cpuSecondsPerMillionRows,
    ),
    endToEndRowsPerSec: pair(endToEnd, codec, (x: ClientEndToEnd) => x.rowsPerSec),
  }));
}

const n = (x: number) => Math.round(x).toLocaleString("en-US");
const f2 = (x: number) => x.toFixed(2);

/** The summary's client block: one line per (codec, client), then the platformatic / kafkajs ratios. */
export function clientLines(consume: ClientFigures[], endToEnd: ClientEndToEnd[]): string[] {
  if (consume.length === 0 && endToEnd.length === 0) return [];
  const lines = [
    "Kafka clients, same topics (consume only: value to string; e2e: (b) handler + CH inserts). CPU-s/GB = CPU-ms per MB of values, CPU-s/1M rows = CPU-us per row:",
    "  codec   client                          msg/s     MB/s  CPU-s/GB  RSS MB |  e2e rows/s  CPU-s/1M rows  RSS MB   rows verified",
  ];
  for (const cmp of compareClients(consume, endToEnd)) {
    for (const client of ["kafkajs", "@platformatic/kafka"]) {
      const c = consume.find((x) => x.codec === cmp.codec && x.client === client);
      const e = endToEnd.find((x) => x.codec === cmp.codec && x.client === client);
      const version = (c ?? e)?.version ?? "";
      const left = c
        ? `${n(c.messagesPerSec).padStart(7)}  ${f2(c.mbPerSec).padStart(7)}  ${f2(c.cpuSecondsPerGB).padStart(8)}  ${String(c.peakRssMB).padStart(6)}`
        : "-".padStart(34);
      const right = e
        ? `${n(e.rowsPerSec).padStart(11)}  ${f2(e.cpuSecondsPerMillionRows).padStart(13)}  ${String(e.peakRssMB).padStart(6)}   ${n(e.verifiedRows)}`
        : "-".padStart(11);
      lines.push(`  ${cmp.codec.padEnd(7)} ${`${client} ${version}`.padEnd(28)} ${left} | ${right}`);
    }
    const r = (x: { ratio: number } | null) => (x ? `${f2(x.ratio)}x` : "-");
    lines.push(
      `  ${cmp.codec.padEnd(7)} ${"platformatic / kafkajs".padEnd(28)} ${r(cmp.consumeMessagesPerSec).padStart(7)}  ${"".padStart(7)}  ${r(cmp.consumeCpuSecondsPerGB).padStart(8)}  ${"".padStart(6)} | ${r(cmp.endToEndRowsPerSec).padStart(11)}  ${r(cmp.endToEndCpuSecondsPerMillionRows).padStart(13)}`,
    );
  }
  return lines;
}
