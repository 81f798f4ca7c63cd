/**
 * `npm run bench -- --scale`: placement and idle cost at scale. Real API and worker processes, real
 * Kafka (one 1-partition topic per pipeline), a webhook sink served by this process (so first-row
 * times are exact and no database is involved). In order:
 *
 *   1. W workers start with no pipelines; their idle CPU and RSS (supervisor only) is the baseline.
 *   2. N pipelines are created and given a handler; time until every one is `running` on its worker.
 *   3. An idle window: CPU and RSS of every worker's process tree (supervisor + cells) minus the
 *      baseline, per idle pipeline; and how evenly placement spread them.
 *   4. Upload-to-first-row with N pipelines defined: create a pipeline, upload, produce, first row.
 *   5. A burst on a random 10%: produce to their topics at once; time to each one's first row.
 *   6. SIGKILL the busiest worker: time until each of its pipelines runs on another worker, and
 *      until a message produced after the kill lands from every one of them.
 *
 * Prints the figures next to issue 15's targets and writes bench/results/scale-<date>-<sha>.json.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { WeirClient } from "@weir/sdk";
import { type AppProcess, kafkaBrokers, startApi, startWorker, waitFor } from "@weir/testing";
import { Command, InvalidArgumentError } from "commander";
import { Kafka, logLevel } from "kafkajs";
import { gitInfo, machine } from "./report.ts";

const repoRoot = resolve(fileURLToPath(import.meta.url), "../../..");

function int(name: string, min: number) {
  return (value: string): number => {
    const v = Number(value.replaceAll(",", "").replaceAll("_", ""));
    if (!Number.isInteger(v) || v < min)
      throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
    return v;
  };
}

const opts = new Command()
  .name("weir-bench --scale")
  .description("N idle pipelines over W workers: idle cost, time to running, first row, reassignment")
  .option("--pipelines <n>", "pipelines (one 1-partition topic each)", int("--pipelines", 1), 1000)
  .option("--workers <n>", "worker processes", int("--workers", 1), 3)
  .option("--idle-seconds <n>", "length of the idle measurement window", int("--idle-seconds", 5), 30)
  .option(
    "--settle-seconds <n>",
    "wait after all are running before measuring (isolates stay loaded until WEIR_WORKER_IDLE_UNLOAD_MS, 5 min; measured not to change idle RSS)",
    int("--settle-seconds", 0),
    35,
  )
  .option("--burst-percent <n>", "share of pipelines that get a burst", int("--burst-percent", 1), 10)
  .option("--burst-messages <n>", "messages per pipeline in the burst", int("--burst-messages", 1), 50)
  .option("--worker-env <k=v...>", "extra worker environment (e.g. WEIR_WORKER_CELL_SIZE=64)", [])
  .option("--no-kill", "skip the SIGKILL reassignment step")
  .parse(process.argv)
  .opts<{
    pipelines: number;
    workers: number;
    idleSeconds: number;
    settleSeconds: number;
    burstPercent: number;
    burstMessages: number;
    workerEnv: string[];
    kill: boolean;
  }>();

const HZ = 100;
const PAGE = 4096; // bytes per page in /proc/<pid>/stat rss (x86-64 Linux)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

/** A process and its descendants. */
function tree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${out[i]}/task`);
    } catch {
      continue;
    }
    for (const t of tasks) {
      try {
        const kids = readFileSync(`/proc/${out[i]}/task/${t}/children`, "utf8").trim();
        if (kids) out.push(...kids.split(/\s+/).map(Number));
      } catch {}
    }
  }
  return out;
}

/** CPU ticks (user + system) and RSS bytes of a set of processes. */
function usage(pids: number[]): { ticks: number; rss: number } {
  let ticks = 0;
  let rss = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(f[11]) + Number(f[12]);
      rss += Number(f[21]) * PAGE;
    } catch {}
  }
  return { ticks, rss };
}

/** CPU (cores) and mean RSS of the workers' trees over `seconds`. */
async function window(
  workers: AppProcess[],
  seconds: number,
): Promise<{ cores: number; rssBytes: number; cells: number }> {
  const pids = () => workers.flatMap((w) => (w.proc.exitCode === null && w.proc.pid ? tree(w.proc.pid) : []));
  const t0 = Date.now();
  const start = usage(pids());
  let rss = 0;
  let cells = 0;
  let n = 0;
  while (Date.now() - t0 < seconds * 1000) {
    await sleep(1000);
    const all = pids();
    rss += usage(all).rss;
    cells += all.length - workers.length;
    n++;
  }
  const end = usage(pids());
  if (process.env.WEIR_SCALE_DEBUG)
    for (const pid of pids()) {
      const st = readFileSync(`/proc/${pid}/stat`, "utf8");
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ").slice(-60);
      console.log(
        `  pid ${pid} rss ${round((Number(st.slice(st.lastIndexOf(")") + 2).split(" ")[21]) * PAGE) / 2 ** 20, 1)} MB ${cmd}`,
      );
    }
  return {
    cores: (end.ticks - start.ticks) / HZ / ((Date.now() - t0) / 1000),
    rssBytes: rss / n,
    cells: cells / n,
  };
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
}

async function main(): Promise<void> {
  const N = opts.pipelines;
  const W = opts.workers;
  const brokers = kafkaBrokers();
  const kafka = new Kafka({ clientId: "weir-scale-bench", brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const producer = kafka.producer();
  await producer.connect();

  // The sink: every pipeline POSTs to /p/<index>; first arrival per pipeline is recorded.
  const firstRow = new Map<number, number>();
  const rows = new Map<number, number>();
  const sink = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const idx = Number(/\/p\/(\d+)/.exec(req.url ?? "")?.[1] ?? -1);
      const n = (JSON.parse(Buffer.concat(chunks).toString() || "[]") as unknown[]).length;
      if (!firstRow.has(idx)) firstRow.set(idx, Date.now());
      rows.set(idx, (rows.get(idx) ?? 0) + n);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => sink.listen(0, "127.0.0.1", r));
  const sinkPort = (sink.address() as AddressInfo).port;

  const run = `scale${Date.now().toString(36)}`;
  const topicOf = (i: number) => `${run}-${i}`;
  console.log(`creating ${N + 1} topics`);
  // In chunks, then wait for every partition's leader (a thousand at once times out kafkajs' wait).
  for (let i = 0; i <= N; i += 100) {
    const chunk = Array.from({ length: Math.min(100, N + 1 - i) }, (_, j) => topicOf(i + j));
    await admin.createTopics({
      topics: chunk.map((topic) => ({ topic, numPartitions: 1 })),
      waitForLeaders: false,
    });
    await waitFor(
      () =>
        admin.fetchTopicMetadata({ topics: chunk }).then(
          (md) => md.topics.every((t) => t.partitions.every((p) => p.leader >= 0)),
          () => false,
        ),
      { what: "topic leaders", timeoutMs: 120_000, intervalMs: 500 },
    );
  }

  const api = await startApi({ env: { WEIR_LOG_LEVEL: "warn" } });
  started.push(api);
  const client = new WeirClient({ baseUrl: api.url, token: api.adminToken });
  const extraEnv = Object.fromEntries(
    opts.workerEnv.map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
  );
  // Production cadences (the test harness's are faster).
  const workerEnv = (i: number) => ({
    WEIR_WORKER_ID: `scale-w${i}`,
    WEIR_WORKER_POLL_MS: "1000",
    WEIR_WORKER_REPORT_MS: "2000",
    WEIR_WORKER_LOG_FLUSH_MS: "1000",
    ...extraEnv,
  });
  const workers = Array.from({ length: W }, (_, i) => startWorker(api, workerEnv(i)));
  started.push(...workers);
  await waitFor(async () => (await client.listWorkers()).items.filter((w) => w.live).length === W, {
    what: "workers live",
    timeoutMs: 60_000,
  });
  await sleep(3000);
  console.log("baseline: workers with no pipelines");
  const baseline = await window(workers, Math.min(10, opts.idleSeconds));

  const spec = (i: number, name: string) => ({
    name,
    source: { type: "kafka", config: { bootstrap_servers: brokers.join(","), topic: topicOf(i) } },
    sink: { type: "webhook", config: { url: `http://127.0.0.1:${sinkPort}/p/${i}`, max_batch_wait_ms: 200 } },
  });
  const HANDLER = "export function handler(data: { id: number }) { return { id: data.id }; }";
  console.log(`creating ${N} pipelines`);
  const created: string[] = new Array(N);
  const t0 = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < N) {
        const i = next++;
        const p = await client.createPipeline(spec(i, `${run}-${i}`));
        await client.uploadHandler(p.id, HANDLER);
        created[i] = p.id;
      }
    }),
  );
  const createdMs = Date.now() - t0;
  const runningCount = async () => {
    let n = 0;
    let cursor: string | undefined;
    do {
      const page = await client.listPipelines({ limit: 200, ...(cursor ? { cursor } : {}) });
      n += page.items.filter((p) => p.status.state === "running").length;
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
    return n;
  };
  let lastLog = 0;
  await waitFor(
    async () => {
      const n = await runningCount();
      if (Date.now() - lastLog > 10_000) {
        console.log(`  ${n}/${N} running after ${round((Date.now() - t0) / 1000, 1)} s`);
        lastLog = Date.now();
      }
      return n === N;
    },
    { what: "every pipeline running", timeoutMs: 15 * 60_000, intervalMs: 2000 },
  );
  const allRunningMs = Date.now() - t0;
  console.log(`all ${N} running ${round(allRunningMs / 1000, 1)} s after the first create`);

  console.log(`settling ${opts.settleSeconds} s, then an idle window of ${opts.idleSeconds} s`);
  await sleep(opts.settleSeconds * 1000);
  const idle = await window(workers, opts.idleSeconds);
  const perPipeline = {
    cpu_percent_of_core: round(((idle.cores - baseline.cores) / N) * 100, 4),
    rss_mb: round((idle.rssBytes - baseline.rssBytes) / N / 2 ** 20, 2),
  };
  const spread = (await client.listWorkers()).items.map((w) => ({ id: w.id, pipelines: w.pipelines }));

  // Upload to first row, with N pipelines defined.
  const u0 = Date.now();
  const extra = await client.createPipeline(spec(N, `${run}-extra`));
  await client.uploadHandler(extra.id, HANDLER);
  await producer.send({ topic: topicOf(N), messages: [{ value: JSON.stringify({ id: 1 }) }] });
  await waitFor(async () => firstRow.has(N), {
    what: "first row of the new pipeline",
    timeoutMs: 120_000,
    intervalMs: 20,
  });
  const uploadToFirstRowMs = firstRow.get(N)! - u0;

  // Burst on a random share.
  const k = Math.max(1, Math.round((N * opts.burstPercent) / 100));
  const chosen = [...Array(N).keys()].sort(() => Math.random() - 0.5).slice(0, k);
  const b0 = Date.now();
  await Promise.all(
    chosen.map((i) =>
      producer.send({
        topic: topicOf(i),
        messages: Array.from({ length: opts.burstMessages }, (_, m) => ({
          value: JSON.stringify({ id: m }),
        })),
      }),
    ),
  );
  await waitFor(async () => chosen.every((i) => (rows.get(i) ?? 0) >= opts.burstMessages), {
    what: "every burst row",
    timeoutMs: 300_000,
    intervalMs: 50,
  });
  const burstAllMs = Date.now() - b0;
  const burstFirst = chosen.map((i) => firstRow.get(i)! - b0);

  // SIGKILL the busiest worker.
  let kill: Record<string, number | string> | null = null;
  if (opts.kill && W > 1) {
    const busiest = [...spread].sort((a, b) => b.pipelines - a.pipelines)[0]!;
    const victimIdx = Number(busiest.id.replace("scale-w", ""));
    const victims: number[] = [];
    for (let i = 0; i < N; i++) {
      const s = await client.getPipelineStatus(created[i]!);
      if (s.placement?.workers.some((w) => w.worker_id === busiest.id)) victims.push(i);
    }
    const before = new Map(victims.map((i) => [i, rows.get(i) ?? 0]));
    const k0 = Date.now();
    workers[victimIdx]!.proc.kill("SIGKILL");
    await Promise.all(
      victims.map((i) =>
        producer.send({ topic: topicOf(i), messages: [{ value: JSON.stringify({ id: 1e6 }) }] }),
      ),
    );
    let reassignedMs = 0;
    await waitFor(
      async () => {
        if (!reassignedMs) {
          const ws = (await client.listWorkers()).items;
          if (ws.find((w) => w.id === busiest.id)?.pipelines === 0) reassignedMs = Date.now() - k0;
        }
        return victims.every((i) => (rows.get(i) ?? 0) > before.get(i)!);
      },
      { what: "rows from every moved pipeline", timeoutMs: 600_000, intervalMs: 100 },
    );
    kill = {
      worker: busiest.id,
      pipelines: victims.length,
      reassigned_ms: reassignedMs,
      all_delivering_ms: Date.now() - k0,
    };
  }

  const results = {
    kind: "scale",
    date: new Date().toISOString(),
    git: gitInfo(),
    machine: machine(),
    config: { pipelines: N, workers: W, idle_seconds: opts.idleSeconds, worker_env: extraEnv },
    baseline: { cores: round(baseline.cores, 4), rss_mb: round(baseline.rssBytes / 2 ** 20, 1) },
    idle: {
      cores: round(idle.cores, 4),
      rss_mb: round(idle.rssBytes / 2 ** 20, 1),
      cells: round(idle.cells, 1),
    },
    per_idle_pipeline: perPipeline,
    create_all_ms: createdMs,
    all_running_ms: allRunningMs,
    spread,
    upload_to_first_row_ms: uploadToFirstRowMs,
    burst: {
      pipelines: k,
      messages_each: opts.burstMessages,
      first_row_ms: {
        p50: quantile(burstFirst, 0.5),
        p99: quantile(burstFirst, 0.99),
        max: Math.max(...burstFirst),
      },
      all_rows_ms: burstAllMs,
    },
    kill,
  };
  const file = join(
    repoRoot,
    "bench/results",
    `scale-${results.date.slice(0, 10)}-${results.git.sha.slice(0, 7)}.json`,
  );
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);

  const line = (what: string, value: string, target: string, ok: boolean) =>
    console.log(
      `${what.padEnd(40)} ${value.padStart(14)}   target ${target.padEnd(10)} ${ok ? "met" : "MISSED"}`,
    );
  console.log(`\nscale bench: ${N} pipelines over ${W} workers (${file})`);
  line(
    "CPU per idle pipeline (% of a core)",
    `${perPipeline.cpu_percent_of_core}%`,
    "<= 0.1%",
    perPipeline.cpu_percent_of_core <= 0.1,
  );
  line("RSS per idle pipeline", `${perPipeline.rss_mb} MB`, "<= 2 MB", perPipeline.rss_mb <= 2);
  line(
    "all running after first create",
    `${round(allRunningMs / 1000, 1)} s`,
    "<= 120 s",
    allRunningMs <= 120_000,
  );
  line(
    "upload to first row",
    `${round(uploadToFirstRowMs / 1000, 2)} s`,
    "<= 5 s",
    uploadToFirstRowMs <= 5000,
  );
  console.log(
    `burst on ${k}: first row p50 ${results.burst.first_row_ms.p50} ms, p99 ${results.burst.first_row_ms.p99} ms; all rows ${burstAllMs} ms`,
  );
  if (kill)
    line(
      `SIGKILL ${kill.worker} (${kill.pipelines} pipelines): reassigned`,
      `${round(Number(kill.reassigned_ms) / 1000, 1)} s`,
      "<= 30 s",
      Number(kill.reassigned_ms) <= 30_000,
    );
  if (kill)
    console.log(
      `  every moved pipeline delivering again after ${round(Number(kill.all_delivering_ms) / 1000, 1)} s`,
    );
  console.log(
    `spread: ${spread.map((s) => `${s.id}=${s.pipelines}`).join(" ")}; idle ${results.idle.cells} cells, ${results.idle.rss_mb} MB, ${round(idle.cores * 100, 1)}% of a core (baseline ${results.baseline.rss_mb} MB, ${round(baseline.cores * 100, 1)}%)`,
  );

  await Promise.allSettled(workers.map((w) => w.kill("SIGTERM")));
  await api.kill();
  await producer.disconnect();
  const topics = Array.from({ length: N + 1 }, (_, i) => topicOf(i));
  for (let i = 0; i < topics.length; i += 200)
    await admin.deleteTopics({ topics: topics.slice(i, i + 200) }).catch(() => {});
  await admin.disconnect();
  sink.close();
}

/** Every process this bench started, killed on the way out whatever happened. */
const started: AppProcess[] = [];
function killAll(): void {
  for (const p of started) {
    const pid = p.proc.pid;
    if (pid && p.proc.exitCode === null)
      for (const q of tree(pid).reverse())
        try {
          process.kill(q, "SIGKILL");
        } catch {}
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    killAll();
    process.exit(1);
  },
);
