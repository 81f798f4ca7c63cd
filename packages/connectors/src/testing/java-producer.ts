/**
 * A producer Weir did not write: the Kafka distribution's own Java console producer, run from the
 * broker jars `scripts/services` fetched into `.weir/kafka-libs`. Tests use it to check that what
 * the Java client writes (xerial snappy, Kafka's LZ4 frames, zstd streams, gzip) decodes in Weir.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Codecs the Java producer's `--compression-codec` takes. */
export type JavaCodec = "none" | "gzip" | "snappy" | "lz4" | "zstd";

/** The repository's `.weir/kafka-libs` (the jars of the broker `scripts/services` runs). */
export function kafkaLibsDir(): string {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../../..");
  return join(root, ".weir", "kafka-libs");
}

export interface JavaProduceOptions {
  brokers: string[];
  topic: string;
  codec: JavaCodec;
  /** Message values, one per line (no newlines inside). */
  values: string[];
  /**
   * Producer `batch.size` in bytes (default 1 MiB) and `linger.ms` (default 500): large, so many
   * records share one compressed batch as they do under a real producer's load.
   */
  batchBytes?: number;
  lingerMs?: number;
}

/**
 * Produce `values` with `kafka.tools.ConsoleProducer` (the class Kafka 3.9's
 * `kafka-console-producer.sh` runs), acks=all, and wait for it to exit. Rejects with its stderr on
 * a non-zero exit.
 */
export async function javaProduce(options: JavaProduceOptions): Promise<void> {
  const libs = kafkaLibsDir();
  if (!existsSync(libs)) throw new Error(`${libs} is missing: run scripts/services up kafka first`);
  for (const v of options.values) if (v.includes("\n")) throw new Error("values must be single lines");
  const args = [
    "-Xmx256m",
    "-cp",
    `${libs}/*`,
    "kafka.tools.ConsoleProducer",
    "--bootstrap-server",
    options.brokers.join(","),
    "--topic",
    options.topic,
    "--compression-codec",
    options.codec,
    "--request-required-acks",
    "all",
    "--batch-size",
    String(options.batchBytes ?? 1024 * 1024),
    "--timeout",
    String(options.lingerMs ?? 500),
    "--producer-property",
    "max.request.size=8388608",
    "--producer-property",
    `batch.size=${options.batchBytes ?? 1024 * 1024}`,
    "--producer-property",
    `linger.ms=${options.lingerMs ?? 500}`,
  ];
  const child = spawn("java", args, { stdio: ["pipe", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (d: string) => {
    stderr = (stderr + d).slice(-8000);
  });
  const exited = new Promise<number | null>((resolveExit, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolveExit(code));
  });
  child.stdin.end(options.values.map((v) => `${v}\n`).join(""));
  const code = await exited;
  // The console producer logs send failures and still exits 0; an ERROR line means records were lost.
  if (code !== 0 || /\bERROR\b|Exception/.test(stderr)) {
    throw new Error(`java ConsoleProducer (${options.codec}) exited ${code}: ${stderr}`);
  }
}
