/**
 * Real Weir processes for integration tests: the API and workers run as child processes exactly as
 * a user starts them (node --no-node-snapshot src/main.ts; Node strips the types), so SIGKILL and SIGTERM mean
 * what they mean in production.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { waitFor } from "./index.ts";

const repoRoot = resolve(fileURLToPath(import.meta.url), "../../../..");

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? ok(addr.port) : fail(new Error("no port"))));
    });
  });
}

export interface AppProcess {
  readonly proc: ChildProcess;
  /** Everything the process wrote, stdout and stderr interleaved. */
  output(): string;
  /** Resolves with the exit code (or signal name) once the process is gone. */
  exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): Promise<number | string>;
}

function spawnApp(app: "api" | "worker", env: Record<string, string>): AppProcess {
  const cwd = join(repoRoot, "apps", app);
  // The same flags as the apps' `start` scripts: isolated-vm needs --no-node-snapshot, and the
  // worker's isolates run faster with a larger young generation (see bench/README.md).
  const flags = ["--no-node-snapshot", ...(app === "worker" ? ["--max-semi-space-size=16"] : [])];
  const proc = spawn(process.execPath, [...flags, "src/main.ts"], {
    cwd,
    env: { ...process.env, ...env, NODE_OPTIONS: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const keep = (b: Buffer) => {
    out += b.toString();
    if (out.length > 2_000_000) out = out.slice(-1_000_000);
  };
  proc.stdout?.on("data", keep);
  proc.stderr?.on("data", keep);
  const exited = new Promise<number | string>((r) =>
    proc.once("exit", (code, signal) => r(code ?? signal ?? -1)),
  );
  return {
    proc,
    output: () => out,
    exited,
    async kill(signal: NodeJS.Signals = "SIGTERM") {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

export interface ApiProcess extends AppProcess {
  url: string;
  adminToken: string;
  workerToken: string;
  dbPath: string;
}

/**
 * Start the API on a free (or given, e.g. to restart it where clients expect it) port with a fresh
 * (or given) SQLite file; resolves when /readyz answers. `env` adds WEIR_* settings (e.g. WEIR_EGRESS_DENY).
 */
export async function startApi(
  opts: {
    dbPath?: string;
    adminToken?: string;
    workerToken?: string;
    port?: number;
    env?: Record<string, string>;
  } = {},
): Promise<ApiProcess> {
  const port = opts.port ?? (await freePort());
  const dbPath = opts.dbPath ?? join(mkdtempSync(join(tmpdir(), "weir-api-")), "weir.db");
  const adminToken = opts.adminToken ?? `adm_${randomBytes(16).toString("hex")}`;
  const workerToken = opts.workerToken ?? `wrk_${randomBytes(16).toString("hex")}`;
  const p = spawnApp("api", {
    WEIR_API_PORT: String(port),
    WEIR_DB_PATH: dbPath,
    WEIR_ADMIN_TOKEN: adminToken,
    WEIR_WORKER_TOKEN: workerToken,
    WEIR_LOG_LEVEL: "warn",
    WEIR_LOG_FLUSH_MS: "50",
    ...opts.env,
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (p.proc.exitCode !== null) throw new Error(`API exited early:\n${p.output()}`);
      return fetch(`${url}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
    },
    { what: "the API to be ready", timeoutMs: 60_000 },
  );
  return { ...p, url, adminToken, workerToken, dbPath };
}

/** Start a worker against `api`; `env` adds or overrides WEIR_WORKER_* settings. */
export function startWorker(
  api: { url: string; workerToken: string },
  env: Record<string, string> = {},
): AppProcess {
  return spawnApp("worker", {
    WEIR_API_URL: api.url,
    WEIR_WORKER_TOKEN: api.workerToken,
    WEIR_WORKER_METRICS_PORT: "0",
    WEIR_WORKER_POLL_MS: "250",
    WEIR_WORKER_REPORT_MS: "500",
    WEIR_WORKER_LOG_FLUSH_MS: "100",
    WEIR_LOG_LEVEL: "warn",
    KAFKAJS_NO_PARTITIONER_WARNING: "1",
    ...env,
  });
}
