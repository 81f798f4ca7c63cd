/**
 * Stage 2, the handler call: a chunk of one partition's messages into the sandbox, one result per
 * message back. Poison messages (they killed or hung a cell before) are not run: they come back
 * as failures with the supervisor's code. The chunk is recorded while it runs so the cell can tell
 * the supervisor which message is in the handler (its hard deadline), and the partition is kept
 * alive meanwhile (the isolates run off the main thread; a chunk of slow handlers can take
 * timeout_ms per message).
 */
import type { DesiredPipeline } from "@weir/core";
import {
  createSandbox,
  isBinaryFormat,
  type MessageFormat,
  type RunResult,
  type Sandbox,
  sandboxFormat,
} from "@weir/sandbox";
import { type ChunkInFlight, locateInflight } from "../cell/inflight.ts";
import { mergeResults, splitPoison } from "../cell/poison.ts";
import type { InflightReport, PoisonEntry } from "../cell/protocol.ts";
import type { SourceBatch, SourceMessage } from "./source.ts";

export class HandlerStage {
  private readonly chunks = new Set<ChunkInFlight>();
  private readonly format: MessageFormat;
  private readonly binary: boolean;
  private readonly sandbox: Sandbox;
  private readonly pipeline: DesiredPipeline;
  private constructor(sandbox: Sandbox, pipeline: DesiredPipeline) {
    this.sandbox = sandbox;
    this.pipeline = pipeline;
    this.format = sandboxFormat(pipeline.spec.source.config);
    this.binary = isBinaryFormat(this.format);
  }

  static async create(pipeline: DesiredPipeline, isolates: number): Promise<HandlerStage> {
    const handler = pipeline.handler!;
    const sandbox = await createSandbox({
      code: handler.code,
      sourceMap: handler.source_map,
      env: pipeline.spec.env,
      limits: pipeline.spec.limits,
      pipelineId: pipeline.id,
      handlerVersion: String(handler.version),
      format: sandboxFormat(pipeline.spec.source.config),
      isolates,
    });
    return new HandlerStage(sandbox, pipeline);
  }

  /**
   * Run `messages` (consecutive, of `batch`'s partition); results are in the same order. Never
   * rejects for handler faults (they are failed results), only once the sandbox is disposed.
   */
  async run(
    batch: SourceBatch,
    messages: readonly SourceMessage[],
    poisonFor: (offset: string) => PoisonEntry | undefined,
    heartbeatMs: number,
  ): Promise<RunResult[]> {
    const { runnable, poisoned } = splitPoison(
      messages.map((m) => m.offset),
      poisonFor,
    );
    const chunk: ChunkInFlight = {
      topic: batch.topic,
      partition: batch.partition,
      offsets: runnable.map((k) => messages[k]!.offset),
      startedAt: Date.now(),
    };
    this.chunks.add(chunk);
    const beat = setInterval(() => void batch.heartbeat().catch(() => undefined), heartbeatMs);
    try {
      const ran = await this.sandbox.runBatch(
        runnable.map((k) => {
          const m = messages[k]!;
          return {
            // Bytes are copied into the isolate: a kafkajs value is a view of the whole fetch
            // response, so copy this message's bytes alone (Buffer#slice would share them).
            value: this.binary ? copyBytes(m.value) : m.value === null ? "" : m.value.toString("utf8"),
            meta: { topic: batch.topic, partition: batch.partition, offset: m.offset, format: this.format },
          };
        }),
      );
      return mergeResults(messages.length, runnable, ran, poisoned);
    } finally {
      clearInterval(beat);
      this.chunks.delete(chunk);
    }
  }

  /** The handler calls in progress (for the supervisor's hard deadline). */
  inflight(): InflightReport[] {
    return locateInflight(this.sandbox, this.chunks, this.pipeline.id, this.pipeline.spec.limits.timeout_ms);
  }

  /** Log lines the sandbox dropped over the rate limit since it started. */
  droppedLogLines(): number {
    return this.sandbox.droppedLogLines();
  }

  dispose(): void {
    this.sandbox.dispose();
  }
}

/** A message's bytes in a buffer of their own (a typed-array copy, not a view). */
function copyBytes(value: Buffer | null): Uint8Array {
  return value ? new Uint8Array(value) : new Uint8Array(0);
}
