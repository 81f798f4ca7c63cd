/**
 * The real OpenTelemetry Collector and telemetrygen for tests: binaries built by `scripts/otelcol
 * build` from Go modules at one pinned release (services/otelcol), run as child processes on
 * loopback ports. This is the producer Weir's users run, so its Kafka messages (encodings,
 * compression codecs, batching) are the real thing rather than our imitation of them.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import {
  type CollectorConfig,
  type KafkaCollectorConfigOptions,
  kafkaCollectorConfig,
  type OtlpEndpoints,
  otlpEndpointsOf,
} from "./otelcol-config.ts";
import { freePort } from "./processes.ts";

export * from "./otelcol-config.ts";

const repoRoot = resolve(fileURLToPath(import.meta.url), "../../../..");
const logDir = join(process.env.WEIR_STATE_DIR ?? join(repoRoot, ".weir"), "logs");

/** Where the two binaries are. */
export interface OtelcolBinaries {
  dir: string;
  otelcol: string;
  telemetrygen: string;
}

let cached: OtelcolBinaries | undefined;

/**
 * The binaries `scripts/otelcol build` made: from `WEIR_OTELCOL_DIR` when set, else the folder
 * `scripts/otelcol path` prints. Throws, saying how to build them, when they are not there.
 */
export function otelcolBinaries(): OtelcolBinaries {
  if (cached) return cached;
  let dir = process.env.WEIR_OTELCOL_DIR;
  if (!dir) {
    try {
      dir = execFileSync(join(repoRoot, "scripts/otelcol"), ["path"], {
        encoding: "utf8",
        stdio: "pipe",
      }).trim();
    } catch (err) {
      const why = String((err as { stderr?: unknown }).stderr ?? err).trim();
      throw new Error(`the OpenTelemetry Collector is not built: run scripts/otelcol build (${why})`);
    }
  }
  const bins = { dir, otelcol: join(dir, "otelcol"), telemetrygen: join(dir, "telemetrygen") };
  for (const bin of [bins.otelcol, bins.telemetrygen]) {
    if (!existsSync(bin))
      throw new Error(`${bin} is missing: run scripts/otelcol build (or fix WEIR_OTELCOL_DIR)`);
  }
  cached = bins;
  return bins;
}

/** A running Collector. */
export interface RunningCollector {
  /** OTLP/gRPC `host:port`. */
  grpcEndpoint: string;
  /** OTLP/HTTP `host:port`, or undefined when the config has no HTTP receiver (the article's). */
  httpEndpoint: string | undefined;
  /** The config file it runs and the file its stdout and stderr go to. */
  configPath: string;
  logPath: string;
  proc: ChildProcess;
  /** Its output so far (the tail of it). */
  output(): string;
  /**
   * SIGTERM (the Collector flushes and shuts down), wait for it to exit, and resolve with its exit
   * code (or signal name); SIGKILL after `timeoutMs` and reject, since a hung shutdown is a bug.
   */
  stop(timeoutMs?: number): Promise<number | string>;
}

export type StartCollectorOptions =
  | (KafkaCollectorConfigOptions & { name?: string })
  | {
      /** A whole config, given the loopback endpoints picked for the OTLP receiver. */
      config: (endpoints: Required<OtlpEndpoints>) => CollectorConfig;
      name?: string;
    };

/**
 * Start the Collector with OTLP on free loopback ports and a Kafka exporter (or a config of the
 * caller's, e.g. {@link articleCollectorConfig}); resolves once it logs that it is ready.
 */
export async function startCollector(opts: StartCollectorOptions): Promise<RunningCollector> {
  const { otelcol } = otelcolBinaries();
  const ports = { grpc: `127.0.0.1:${await freePort()}`, http: `127.0.0.1:${await freePort()}` };
  const config = "config" in opts ? opts.config(ports) : kafkaCollectorConfig(opts, ports);
  const endpoints = otlpEndpointsOf(config);
  mkdirSync(logDir, { recursive: true });
  const base = join(logDir, `otelcol-${opts.name ?? "test"}-${process.pid}-${Date.now().toString(36)}`);
  const configPath = `${base}.yaml`;
  const logPath = `${base}.log`;
  writeFileSync(configPath, stringify(config));

  const proc = spawn(otelcol, ["--config", configPath], { stdio: ["ignore", "pipe", "pipe"] });
  const log = createWriteStream(logPath);
  let out = "";
  const keep = (b: Buffer) => {
    log.write(b);
    out += b.toString();
    if (out.length > 400_000) out = out.slice(-200_000);
  };
  proc.stdout?.on("data", keep);
  proc.stderr?.on("data", keep);
  let spawnError: Error | undefined;
  const exited = new Promise<number | string>((r) => {
    proc.once("exit", (code, signal) => {
      log.end();
      r(code ?? signal ?? -1);
    });
    // A binary that cannot start emits "error" and never "exit".
    proc.once("error", (err) => {
      spawnError = err;
      log.end();
      r(-1);
    });
  });
  const running: RunningCollector = {
    grpcEndpoint: endpoints.grpc,
    httpEndpoint: endpoints.http,
    configPath,
    logPath,
    proc,
    output: () => out,
    async stop(timeoutMs = 15_000) {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, fail) => {
        timer = setTimeout(() => {
          proc.kill("SIGKILL");
          fail(new Error(`the Collector did not stop within ${timeoutMs} ms of SIGTERM (log: ${logPath})`));
        }, timeoutMs);
      });
      try {
        return await Promise.race([exited, late]);
      } finally {
        clearTimeout(timer);
      }
    },
  };

  // Ready means every component started; a bad config or a taken port ends the process instead.
  const ready = "Everything is ready. Begin running and processing data.";
  const deadline = Date.now() + 30_000;
  while (!out.includes(ready)) {
    if (spawnError || proc.exitCode !== null || proc.signalCode !== null) {
      const why = spawnError ? String(spawnError) : out.slice(-3000);
      throw new Error(`the Collector exited before it was ready (log: ${logPath}):\n${why}`);
    }
    if (Date.now() > deadline) {
      await running.stop().catch(() => undefined);
      throw new Error(`the Collector was not ready after 30 s (log: ${logPath}):\n${out.slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return running;
}

export interface TelemetrygenOptions {
  signal: "traces" | "logs";
  /** The Collector's OTLP/gRPC `host:port` (loopback only). */
  endpoint: string;
  /** Traces (or log records) each worker sends. */
  count: number;
  workers?: number;
  /** Attributes set on every span or log record (`--telemetry-attributes`). */
  attrs?: Record<string, string | number | boolean>;
  serviceName?: string;
  /** Child spans per trace (traces only; telemetrygen's default is 1). */
  childSpans?: number;
  /** Each span's duration, e.g. "5ms" (traces only; telemetrygen's default is 123µs). */
  spanDuration?: string;
  timeoutMs?: number;
}

/** What a telemetrygen run sent, all acknowledged by the Collector's receiver. */
export interface TelemetrygenResult {
  signal: "traces" | "logs";
  /** Traces, or log records. */
  items: number;
  /** Spans (traces only: a root and `childSpans` children per trace), else 0. */
  spans: number;
  serviceName: string;
  output: string;
}

function attrFlag(key: string, value: string | number | boolean): string {
  return typeof value === "string" ? `${key}=${JSON.stringify(value)}` : `${key}=${value}`;
}

/**
 * Run telemetrygen to completion against a Collector: insecure OTLP/gRPC, unthrottled. Rejects on
 * a non-zero exit (telemetrygen stops at the first failed export) or after `timeoutMs`.
 */
export async function runTelemetrygen(opts: TelemetrygenOptions): Promise<TelemetrygenResult> {
  const host = opts.endpoint.replace(/:\d+$/, "");
  if (!/^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(host)) {
    throw new Error(`runTelemetrygen sends to loopback only, not ${opts.endpoint}`);
  }
  const workers = opts.workers ?? 1;
  const childSpans = opts.childSpans ?? 1;
  const serviceName = opts.serviceName ?? "telemetrygen";
  const args = [
    opts.signal,
    "--otlp-endpoint",
    opts.endpoint,
    "--otlp-insecure",
    `--${opts.signal}`,
    String(opts.count),
    "--workers",
    String(workers),
    "--rate",
    "0",
    "--service",
    serviceName,
  ];
  if (opts.signal === "traces") args.push("--child-spans", String(childSpans));
  if (opts.signal === "traces" && opts.spanDuration) args.push("--span-duration", opts.spanDuration);
  for (const [k, v] of Object.entries(opts.attrs ?? {})) args.push("--telemetry-attributes", attrFlag(k, v));
  const output = await new Promise<string>((ok, fail) => {
    execFile(
      otelcolBinaries().telemetrygen,
      args,
      { timeout: opts.timeoutMs ?? 60_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const text = `${stdout}${stderr}`;
        if (err)
          fail(new Error(`telemetrygen ${args.join(" ")} failed: ${err.message}\n${text.slice(-3000)}`));
        else ok(text);
      },
    );
  });
  const items = opts.count * workers;
  return {
    signal: opts.signal,
    items,
    spans: opts.signal === "traces" ? items * (1 + childSpans) : 0,
    serviceName,
    output,
  };
}
