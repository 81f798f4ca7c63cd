/** How a source batch is cut into sandbox calls: by message count and by bytes of values. */
import { describe, expect, it } from "vitest";
import { chunkEnd } from "./handle.ts";

const msgs = (...sizes: (number | null)[]) =>
  sizes.map((n) => ({ value: n === null ? null : Buffer.alloc(n) }));

describe("chunkEnd", () => {
  it("cuts at the message count when bytes are not bounded", () => {
    expect(chunkEnd(msgs(10, 10, 10, 10, 10), 0, 2)).toBe(2);
    expect(chunkEnd(msgs(10, 10, 10, 10, 10), 4, 2)).toBe(5);
  });

  it("cuts before the message that would pass the byte bound", () => {
    expect(chunkEnd(msgs(40, 40, 40, 40), 0, 500, 100)).toBe(2); // 80 fits, 120 does not
    expect(chunkEnd(msgs(40, 40, 40, 40), 2, 500, 100)).toBe(4);
    expect(chunkEnd(msgs(50, 50, 1), 0, 500, 100)).toBe(2); // exactly 100 fits, 101 does not
  });

  it("always takes at least one message, however large", () => {
    expect(chunkEnd(msgs(1000, 10), 0, 500, 100)).toBe(1);
    expect(chunkEnd(msgs(10, 1000), 1, 500, 100)).toBe(2);
  });

  it("counts a null value (tombstone) as no bytes, and ends at the batch's end", () => {
    expect(chunkEnd(msgs(null, null, 90, null), 0, 500, 100)).toBe(4);
    expect(chunkEnd(msgs(), 0, 500, 100)).toBe(0);
  });
});
