import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { ChildResult } from "./child/harness.ts";
import { boxCpuFigures } from "./measure.ts";
import {
  type CpuSample,
  cpuDelta,
  isService,
  listeningInodes,
  parseBoxStat,
  parsePidStat,
  parsePidStatNamed,
  sampleCpu,
} from "./procstat.ts";

describe("/proc parsing", () => {
  it("reads busy, idle and steal jiffies from the cpu line of /proc/stat", () => {
    const text = "cpu  810160 5 108528 1116445 4801 7 8917 3698 11 0\ncpu0 1 2 3 4 5 6 7 8 9 10\nintr 1\n";
    // busy = user + nice + system + irq + softirq; guest (11) is already in user.
    expect(parseBoxStat(text)).toEqual({
      busy: 810160 + 5 + 108528 + 7 + 8917,
      idle: 1116445 + 4801,
      steal: 3698,
      irq: 7 + 8917,
    });
    expect(parseBoxStat("intr 1\n")).toBeNull();
  });

  it("reads utime + stime of a pid, counting fields from the last ')' of the command name", () => {
    const real =
      "8586 (clickhouse-serv) S 1 8353 7640 0 -1 4194304 649402 0 19 0 777 438 0 0 20 0 31 0 869379 3017330688 108705";
    expect(parsePidStat(real)).toBe(777 + 438);
    const odd = "42 (a) b (c) R 1 42 42 0 -1 0 0 0 0 0 10 5 0 0 20 0 1 0 100 0 0";
    expect(parsePidStat(odd)).toBe(15);
    expect(parsePidStatNamed(odd)).toEqual({ comm: "a) b (c", ticks: 15, started: 100 });
    expect(parsePidStat("garbage")).toBeNull();
  });

  it("tells the broker and the server from other command lines", () => {
    const java = ["/usr/bin/java", "-Xmx1g", "-cp", "/x/*", "kafka.Kafka", "/x/server.properties"];
    expect(isService("broker", java)).toBe(true);
    expect(isService("broker", ["java", "-cp", "x", "kafka.tools.StorageTool"])).toBe(false);
    expect(isService("broker", ["bash", "-c", "java kafka.Kafka"])).toBe(false);
    expect(isService("server", ["clickhouse-server", "--config-file=/x.xml"])).toBe(true);
    expect(isService("server", ["/usr/bin/clickhouse", "server", "--config-file=/x.xml"])).toBe(true);
    expect(isService("server", ["tail", "-f", "clickhouse-server.log"])).toBe(false);
    expect(isService("server", ["/usr/bin/clickhouse", "client"])).toBe(false);
  });

  it("finds the inodes of sockets listening on a port in /proc/net/tcp", () => {
    const table = [
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
      "   0: 0100007F:1FBB 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 149080 1 0 100 0 0 10 0",
      "   1: 00000000:2384 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5550 1 0 100 0 0 10 0",
      "   2: 0100007F:2384 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000     0        0 7777 1 0 100 0 0 10 0",
    ].join("\n");
    expect(listeningInodes(table, 0x1fbb)).toEqual(["149080"]);
    // 0x2384 = 9092: the established connection (st 01) is not a listener.
    expect(listeningInodes(table, 9092)).toEqual(["5550"]);
    expect(listeningInodes(table, 1)).toEqual([]);
  });

  it("turns two samples into CPU seconds, null for a process that was not readable", () => {
    const start: CpuSample = {
      at: 1000,
      box: { busy: 100, idle: 300, steal: 0, irq: 10 },
      procs: { broker: 10, server: 20, bench: null },
      others: {
        "7:5": ["kworker/0:1-events", 50],
        "9:6": ["sleepy", 3],
        "10:7": ["gone", 40],
        "12:8": ["old", 9],
      },
    };
    const end: CpuSample = {
      at: 3000,
      box: { busy: 400, idle: 400, steal: 0, irq: 30 },
      procs: { broker: 30, server: 80, bench: 5 },
      // 7 renamed itself (kernel workers do), 9 did nothing, 10 exited, 11 started inside the window,
      // 12 exited and its pid went to a new process.
      others: {
        "7:5": ["kworker/0:1-mm_percpu_wq", 60],
        "9:6": ["sleepy", 3],
        "11:250": ["vitest", 25],
        "12:260": ["new", 4],
      },
    };
    expect(cpuDelta(start, end, 100)).toEqual({
      seconds: 2,
      box: { busy: 3, idle: 1, steal: 0, irq: 0.2 },
      procs: { broker: 0.2, server: 0.6, bench: null },
      others: [
        ["11 vitest", 0.25],
        ["7 kworker/0:1-mm_percpu_wq", 0.1],
        ["12 new", 0.04],
      ],
    });
  });

  it("splits the box's CPU per row and derives the ceilings", () => {
    const r = {
      rows: 100_000,
      cpuMs: 2000,
      cpuSamples: {
        start: {
          at: 0,
          box: { busy: 0, idle: 0, steal: 0, irq: 0 },
          procs: { broker: 0, server: 0, bench: 0 },
          others: { "5:1": ["other", 1] },
        },
        end: {
          at: 2000,
          box: { busy: 300, idle: 100, steal: 0, irq: 15 },
          procs: { broker: 20, server: 30, bench: 10 },
          others: { "5:1": ["other", 21] },
        },
      },
    } as unknown as ChildResult;
    const b = boxCpuFigures(r, 2, 100)!;
    expect(b.cpuSeconds).toMatchObject({
      worker: 2,
      broker: 0.2,
      server: 0.3,
      bench: 0.1,
      rest: 0.4,
      box: 3,
    });
    expect(b.cpuSecondsPerMillionRows).toMatchObject({ worker: 20, broker: 2, server: 3, box: 30 });
    expect(b.boxBusyCores).toBe(1.5);
    expect(b.boxCoresAccounted).toBe(2);
    expect(b.ceilingRowsPerSec).toBe(Math.round(2e6 / 30));
    expect(b.ceilingZeroCostWorkerRowsPerSec).toBe(400_000);
    expect(b.ceilingPipelineRowsPerSec).toBe(80_000);
    // rest 0.4 = irq/softirq 0.15 + other live processes 0.2 + 0.05 unattributed.
    expect(b.restDetail).toEqual({
      irqSoftirq: 0.15,
      otherProcesses: 0.2,
      unattributed: 0.05,
      top: [{ process: "5 other", cpuSeconds: 0.2 }],
    });
    expect(boxCpuFigures({ ...r, cpuSamples: undefined }, 2, 100)).toBeNull();
  });

  it.runIf(existsSync("/proc/self/stat"))("samples this box and this process from /proc", () => {
    const s = sampleCpu({ self: process.pid, gone: 2 ** 22 + 12_345 }, true);
    expect(s.box?.busy).toBeGreaterThan(0);
    expect(s.procs.self).toBeGreaterThanOrEqual(0);
    expect(s.procs.gone).toBeNull();
    expect(Object.keys(s.others ?? {}).some((k) => k.startsWith(`${process.pid}:`))).toBe(false);
    expect(Object.keys(s.others ?? {}).length).toBeGreaterThan(0);
  });
});
