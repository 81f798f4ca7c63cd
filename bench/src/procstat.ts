/**
 * CPU of the whole box and of the Kafka broker and ClickHouse server processes, from /proc (Linux).
 * The parent finds the service pids once (`findServices`); each measuring child samples the box and
 * those pids (`sampleCpu`) at the same two moments it reads its own `process.cpuUsage()`, so every
 * figure covers the same window. Everything degrades to null off Linux or for remote services.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";

/** Jiffies of the `cpu` line of /proc/stat, summed over every core. */
export interface BoxTicks {
  /** user + nice + system + irq + softirq (guest time is already inside user and nice). */
  busy: number;
  /** idle + iowait. */
  idle: number;
  /** Time the hypervisor gave to other guests: neither our work nor idle. */
  steal: number;
  /** irq + softirq (inside busy): interrupt work no process is charged for, loopback networking included. */
  irq: number;
}

/** Parse the aggregate `cpu ` line of /proc/stat. */
export function parseBoxStat(text: string): BoxTicks | null {
  const line = text.split("\n").find((l) => l.startsWith("cpu "));
  if (!line) return null;
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  return { busy: user + nice + system + irq + softirq, idle: idle + iowait, steal, irq: irq + softirq };
}

/**
 * utime + stime (jiffies) from /proc/<pid>/stat. The main pid's line already sums every thread of
 * the process. The command name (field 2) is in parentheses and may itself hold spaces or
 * parentheses, so fields are counted from the last ')'.
 */
export function parsePidStat(text: string): number | null {
  return parsePidStatNamed(text)?.ticks ?? null;
}

/**
 * The command name (field 2, which a kernel worker changes as it picks up work), utime + stime and
 * the start time (field 22, jiffies after boot: with the pid, it names a process across pid reuse).
 */
export function parsePidStatNamed(text: string): { comm: string; ticks: number; started: number } | null {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) return null;
  // After ')': state(3) ppid(4) ... utime(14) stime(15), so utime is the 12th field from here.
  const f = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const utime = Number(f[11]);
  const stime = Number(f[12]);
  const started = Number(f[19]);
  return Number.isFinite(utime) && Number.isFinite(stime)
    ? { comm: text.slice(open + 1, close), ticks: utime + stime, started }
    : null;
}

export type ServiceKind = "broker" | "server";

/** Is this argv (from /proc/<pid>/cmdline) the Kafka broker (a JVM running kafka.Kafka) or clickhouse-server? */
export function isService(kind: ServiceKind, argv: string[]): boolean {
  const exe = (argv[0] ?? "").split("/").pop() ?? "";
  if (kind === "broker") return exe.startsWith("java") && argv.includes("kafka.Kafka");
  return exe === "clickhouse-server" || (exe === "clickhouse" && argv[1] === "server");
}

/** Socket inodes listening on `port` (any address) in a /proc/net/tcp or tcp6 table. */
export function listeningInodes(table: string, port: number): string[] {
  const out: string[] = [];
  for (const line of table.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
    if (f.length < 10 || f[3] !== "0A") continue;
    const hexPort = f[1]!.split(":").pop()!;
    if (Number.parseInt(hexPort, 16) === port) out.push(f[9]!);
  }
  return out;
}

function read(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

function argvOf(pid: number): string[] {
  return (read(`/proc/${pid}/cmdline`) ?? "").split("\0").filter(Boolean);
}

/** true/false when the fds could be read, undefined when not (another user's process). */
function listensOn(pid: number, inodes: Set<string>): boolean | undefined {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return undefined;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m && inodes.has(m[1]!)) return true;
    } catch {
      // fd closed meanwhile
    }
  }
  return false;
}

export interface ServiceProcess {
  pid: number;
  /** How it was found: "pid file <path>" or "/proc scan". */
  source: string;
}

export interface ServiceLookup {
  broker: ServiceProcess | null;
  server: ServiceProcess | null;
  /** Why a service is null, or how an ambiguity was resolved. */
  notes: string[];
}

interface Endpoint {
  host: string;
  port: number;
}

function isLocalHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (["localhost", "127.0.0.1", "::1", "0.0.0.0", "::", os.hostname().toLowerCase()].includes(h))
    return true;
  if (h.startsWith("127.")) return true;
  return Object.values(os.networkInterfaces()).some((list) => list?.some((a) => a.address === h));
}

function findOne(kind: ServiceKind, pidFile: string, at: Endpoint): ServiceProcess | string {
  const what = kind === "broker" ? "Kafka broker" : "ClickHouse server";
  if (!isLocalHost(at.host))
    return `${what} at ${at.host}:${at.port} is not on this machine: its CPU is not measured (null)`;
  if (read("/proc/stat") === null) return `no /proc (not Linux): ${what} CPU not measured (null)`;
  const inodes = new Set(
    ["/proc/net/tcp", "/proc/net/tcp6"].flatMap((p) => listeningInodes(read(p) ?? "", at.port)),
  );
  // Listening on the port the bench uses, when that can be told (else the command line decides).
  const fits = (pid: number) =>
    isService(kind, argvOf(pid)) && (inodes.size === 0 || listensOn(pid, inodes) !== false);
  const fromFile = Number.parseInt(read(pidFile) ?? "", 10);
  if (Number.isInteger(fromFile) && fits(fromFile)) return { pid: fromFile, source: `pid file ${pidFile}` };
  const found = readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((pid) => pid !== fromFile && fits(pid));
  if (found.length === 1) return { pid: found[0]!, source: "/proc scan" };
  if (found.length === 0)
    return `no ${what} process found (pid file ${pidFile}, /proc scan, port ${at.port}): CPU not measured (null)`;
  return `several ${what} processes (${found.join(", ")}) and none listens on port ${at.port} for sure: CPU not measured (null)`;
}

/**
 * The broker's and the server's pids: the pid files `scripts/services` writes
 * ($WEIR_STATE_DIR or <repo>/.weir, then services/kafka/pid and services/clickhouse/pid), checked
 * against the command line and the listening port; else a scan of /proc/*\/cmdline.
 */
export function findServices(repoRoot: string, brokers: string[], clickhouseUrl: string): ServiceLookup {
  const state = process.env.WEIR_STATE_DIR ?? join(repoRoot, ".weir");
  const first = brokers[0] ?? "127.0.0.1:9092";
  const colon = first.lastIndexOf(":");
  const broker: Endpoint = {
    host: colon > 0 ? first.slice(0, colon) : first,
    port: colon > 0 ? Number(first.slice(colon + 1)) : 9092,
  };
  const url = new URL(clickhouseUrl);
  const server: Endpoint = {
    host: url.hostname,
    port: Number(url.port || (url.protocol === "https:" ? 443 : 80)),
  };
  const b = findOne("broker", join(state, "services/kafka/pid"), broker);
  const s = findOne("server", join(state, "services/clickhouse/pid"), server);
  const notes = [b, s].filter((x): x is string => typeof x === "string");
  return {
    broker: typeof b === "string" ? null : b,
    server: typeof s === "string" ? null : s,
    notes,
  };
}

/** Jiffies per second (USER_HZ), 100 on virtually every Linux. */
export function clockTicks(): number {
  try {
    const v = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
    if (Number.isInteger(v) && v > 0) return v;
  } catch {
    // no getconf
  }
  return 100;
}

/** One reading of the box and the watched pids; jiffies, null where unreadable. */
export interface CpuSample {
  at: number;
  box: BoxTicks | null;
  procs: Record<string, number | null>;
  /**
   * Every other live process ("<pid>:<start time>" -> [comm, jiffies]; the watched pids and the
   * sampling process left out), to tell what the box's "rest" was. Processes that exit inside the
   * window are not seen.
   */
  others?: Record<string, [string, number]>;
}

/** VmHWM (peak resident set) of a /proc/<pid>/status text, in bytes; null if absent. */
export function parseVmHwm(text: string): number | null {
  const m = /VmHWM:\s+(\d+) kB/.exec(text);
  return m ? Number(m[1]) * 1024 : null;
}

/** One process's CPU jiffies since it started (utime + stime), start time and peak RSS; null once it is gone. */
export function readProcess(pid: number): { ticks: number; started: number; peakRssBytes: number } | null {
  const stat = read(`/proc/${pid}/stat`);
  const named = stat === null ? null : parsePidStatNamed(stat);
  if (!named) return null;
  const status = read(`/proc/${pid}/status`);
  return {
    ticks: named.ticks,
    started: named.started,
    peakRssBytes: (status === null ? null : parseVmHwm(status)) ?? 0,
  };
}

/**
 * Read the box and the watched pids; with `others`, every other live process too, except this one,
 * the watched ones and `skip` (processes whose CPU the caller counts itself, e.g. the worker's cells).
 */
export function sampleCpu(pids: Record<string, number>, others = false, skip: number[] = []): CpuSample {
  const text = read("/proc/stat");
  const procs: Record<string, number | null> = {};
  for (const [name, pid] of Object.entries(pids)) {
    const t = read(`/proc/${pid}/stat`);
    procs[name] = t === null ? null : parsePidStat(t);
  }
  const sample: CpuSample = { at: Date.now(), box: text === null ? null : parseBoxStat(text), procs };
  if (others && text !== null) {
    const skipped = new Set([process.pid, ...Object.values(pids), ...skip]);
    sample.others = {};
    for (const d of readdirSync("/proc")) {
      if (!/^\d+$/.test(d) || skipped.has(Number(d))) continue;
      const t = read(`/proc/${d}/stat`);
      const named = t === null ? null : parsePidStatNamed(t);
      if (named && named.ticks > 0) sample.others[`${d}:${named.started}`] = [named.comm, named.ticks];
    }
  }
  return sample;
}

/** CPU seconds between two samples: the box's busy, idle and steal time, and each watched process's. */
export interface CpuDelta {
  seconds: number;
  box: { busy: number; idle: number; steal: number; irq: number } | null;
  procs: Record<string, number | null>;
  /** Other live processes' ("<pid> <comm>") CPU seconds in the window, largest first (when both samples have `others`). */
  others?: [string, number][];
}

export function cpuDelta(start: CpuSample, end: CpuSample, hz: number): CpuDelta {
  const procs: Record<string, number | null> = {};
  for (const name of Object.keys(start.procs)) {
    const a = start.procs[name];
    const b = end.procs[name];
    procs[name] = a == null || b == null || b < a ? null : (b - a) / hz;
  }
  return {
    seconds: (end.at - start.at) / 1000,
    box:
      start.box && end.box
        ? {
            busy: (end.box.busy - start.box.busy) / hz,
            idle: (end.box.idle - start.box.idle) / hz,
            steal: (end.box.steal - start.box.steal) / hz,
            irq: (end.box.irq - start.box.irq) / hz,
          }
        : null,
    procs,
    others:
      start.others && end.others
        ? Object.entries(end.others)
            // A process started inside the window counts from 0 (a reused pid has another start time).
            .map(([k, [comm, t]]): [string, number] => [
              `${k.split(":")[0]} ${comm}`,
              (t - (start.others?.[k]?.[1] ?? 0)) / hz,
            ])
            .filter(([, x]) => x > 0)
            .sort((a, b) => b[1] - a[1])
        : undefined,
  };
}
