/**
 * A private Kafka broker and ClickHouse server for scenarios that stop and restart them, started
 * with scripts/services in a throwaway state folder on free ports, so the shared services other
 * tests use are never touched.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { freePort } from "@weir/testing";

const run = promisify(execFile);
const root = resolve(fileURLToPath(import.meta.url), "../../../..");
type Service = "kafka" | "clickhouse";

export class PrivateServices {
  readonly stateDir: string;
  private readonly env: Record<string, string>;
  private constructor(stateDir: string, env: Record<string, string>) {
    this.stateDir = stateDir;
    this.env = env;
  }

  get kafkaBrokers(): string[] {
    return [`127.0.0.1:${this.env.WEIR_KAFKA_PORT}`];
  }

  get clickhouseUrl(): string {
    return `http://127.0.0.1:${this.env.WEIR_CLICKHOUSE_HTTP_PORT}`;
  }

  /** Start a broker and a server of our own (fresh data) on free ports. */
  static async start(): Promise<PrivateServices> {
    const stateDir = mkdtempSync(join(tmpdir(), "weir-faults-"));
    // Reuse the broker jars the shared services already resolved (same pom, same stamp).
    const libs = join(root, ".weir", "kafka-libs");
    if (existsSync(libs)) symlinkSync(libs, join(stateDir, "kafka-libs"));
    const env = {
      WEIR_STATE_DIR: stateDir,
      WEIR_KAFKA_PORT: String(await freePort()),
      WEIR_KAFKA_CONTROLLER_PORT: String(await freePort()),
      WEIR_KAFKA_SASL_PORT: String(await freePort()),
      WEIR_CLICKHOUSE_HTTP_PORT: String(await freePort()),
      WEIR_CLICKHOUSE_TCP_PORT: String(await freePort()),
    };
    const s = new PrivateServices(stateDir, env);
    await s.services("up");
    return s;
  }

  /** scripts/services <cmd> [which] with this instance's state folder and ports. */
  async services(cmd: "up" | "down" | "start" | "restart", which?: Service): Promise<void> {
    const args = [join(root, "scripts", "services"), cmd, ...(which ? [which] : [])];
    try {
      await run("bash", args, { env: { ...process.env, ...this.env }, maxBuffer: 16 * 1024 * 1024 });
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string };
      throw new Error(`scripts/services ${cmd} ${which ?? ""} failed:\n${e.stdout ?? ""}\n${e.stderr ?? ""}`);
    }
  }

  async stop(): Promise<void> {
    await this.services("down").catch(() => undefined);
    rmSync(this.stateDir, { recursive: true, force: true });
  }
}
