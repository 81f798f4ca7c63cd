/**
 * The DLQ record of a message retried after RetryAfterError: every attempt's error rides in
 * `weir.error`'s `details.attempt_errors`, round-trips through the codec and stays bounded.
 */
import {
  DLQ_HEADER,
  type DlqAttemptError,
  MAX_ATTEMPT_ERROR_MESSAGE,
  MAX_ATTEMPT_ERRORS,
  type SerializedError,
} from "@weir/core";
import { describe, expect, it } from "vitest";
import { type DlqInput, encodeDlqMessage, parseDlqMessage } from "./codec.ts";

function input(error: SerializedError, attempts: number): DlqInput {
  return {
    pipelineId: "p1",
    stage: "handler",
    error,
    attempts,
    handlerVersion: "3",
    source: { topic: "in", partition: 0, offset: "42" },
    key: null,
    value: Buffer.from('{"n":1}'),
    headers: {},
  };
}

const attempt = (n: number, message = `limited ${n}`): DlqAttemptError => ({
  attempt: n,
  code: "HANDLER_RETRY_AFTER",
  name: "RetryAfterError",
  message,
  retry_after_ms: 200,
  failed_at: 1000 + n,
});

describe("DLQ codec: attempt errors", () => {
  it("round-trips every attempt's error with the attempts count", () => {
    const list = [attempt(1), attempt(2), attempt(3)];
    const error: SerializedError = {
      name: "RetryAfterError",
      message: "limited 3",
      code: "HANDLER_RETRY_AFTER",
      retryable: true,
      stack: "RetryAfterError: limited 3\n    at handler (handler.ts:4:9)",
      details: { retry_after_ms: 200, location: { file: "handler.ts", line: 4 }, attempt_errors: list },
    };
    const m = encodeDlqMessage(input(error, 3), 5);
    const rec = parseDlqMessage({ ...m, offset: "0", timestamp: "5" }, 0);
    expect(rec.attempts).toBe(3);
    expect(rec.error).toEqual(error);
  });

  it("keeps the record bounded: at most MAX_ATTEMPT_ERRORS entries (the latest), messages clipped, no stacks", () => {
    const huge = "x".repeat(1_000_000);
    const list = Array.from({ length: MAX_ATTEMPT_ERRORS + 20 }, (_, i) => ({
      ...attempt(i + 1, huge),
      stack: huge,
    }));
    const error: SerializedError = {
      name: "RetryAfterError",
      message: huge,
      code: "HANDLER_RETRY_AFTER",
      retryable: true,
      details: { attempt_errors: list },
    };
    const m = encodeDlqMessage(input(error, list.length));
    expect(String(m.headers[DLQ_HEADER.error]).length).toBeLessThan(200_000);
    const rec = parseDlqMessage({ ...m, offset: "0", timestamp: "5" }, 0);
    const kept = rec.error.details?.attempt_errors as DlqAttemptError[];
    expect(kept).toHaveLength(MAX_ATTEMPT_ERRORS);
    expect(kept[0]?.attempt).toBe(21);
    expect(kept.at(-1)?.attempt).toBe(MAX_ATTEMPT_ERRORS + 20);
    expect(kept[0]?.message.length).toBeLessThan(MAX_ATTEMPT_ERROR_MESSAGE + 40);
    expect(kept[0]).not.toHaveProperty("stack");
  });
});
