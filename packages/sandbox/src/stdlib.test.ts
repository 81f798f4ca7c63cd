import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rowsOf, sandboxFor } from "./test-helpers.ts";
import type { Sandbox } from "./types.ts";

let s: Sandbox;
beforeAll(async () => {
  // The handler evaluates an expression against `input`; a test harness, not a pattern for users.
  s = await sandboxFor(
    `export function handler(d: { expr: string; input: unknown }) {
      const input = d.input;
      return { out: (0, eval)("(input) => " + d.expr)(input) };
    }`,
    { env: { REGION: "eu-west-1", EMPTY: "" } },
  );
});
afterAll(() => s.dispose());

async function evaluate(expr: string, input?: unknown): Promise<unknown> {
  const r = await s.run(JSON.stringify({ expr, input }));
  return (rowsOf(r)[0] as { out: unknown }).out;
}

const node = (algo: string, text: string) => createHash(algo).update(text, "utf8").digest("hex");

describe("standard library", () => {
  // md5 has a one-block fast path for ASCII text of at most 55 chars: lengths around the block and
  // padding edges on both sides of it, and non-ASCII text that starts or fails it late.
  const samples = [
    "",
    "a",
    "abc",
    "5b8efff798038103d269b633813fc60c" + "eee4a2f8b5a1a5f3",
    "x".repeat(55),
    "y".repeat(56),
    "w".repeat(63),
    "z".repeat(64),
    "v".repeat(65),
    "\u0000\u007f~",
    "é",
    "é".repeat(27), // 27 chars, 54 bytes: one block, but not ASCII
    "é".repeat(28), // 28 chars, 56 bytes: two blocks
    `${"k".repeat(54)}é`, // 55 chars, the last one not ASCII
    `${"k".repeat(52)}😀`, // 54 chars (a surrogate pair), 56 bytes
    "\ud800 lone surrogate",
    "é漢😀 mixed\u0000",
    "q".repeat(1000),
  ];

  it.each(["md5", "sha1", "sha256"])("hash.%s matches node:crypto as hex", async (algo) => {
    const out = await evaluate(`input.map((t) => hash.${algo}(t))`, samples);
    expect(out).toEqual(samples.map((t) => node(algo, t)));
    expect(await evaluate(`hash.${algo}(new Uint8Array([0, 255, 1]))`)).toBe(
      createHash(algo)
        .update(Buffer.from([0, 255, 1]))
        .digest("hex"),
    );
  });

  it("TextEncoder/TextDecoder round-trip UTF-8 like Node's", async () => {
    const text = "héllo 漢字 😀";
    expect(await evaluate("Array.from(new TextEncoder().encode(input))", text)).toEqual([
      ...Buffer.from(text),
    ]);
    expect(await evaluate("new TextDecoder().decode(new TextEncoder().encode(input))", text)).toBe(text);
    expect(await evaluate("new TextDecoder().decode(new Uint8Array([0xff, 0x41]))")).toBe("\ufffdA");
    expect(
      await evaluate(
        "(() => { try { new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array([0xff])); return 'no'; } catch (e) { return e.name; } })()",
      ),
    ).toBe("TypeError");
  });

  it("base64, btoa and atob agree with Node", async () => {
    const text = "weir ✓ base64";
    expect(await evaluate("base64.encode(input)", text)).toBe(Buffer.from(text).toString("base64"));
    expect(await evaluate("base64.decode(input)", Buffer.from(text).toString("base64"))).toBe(text);
    expect(await evaluate("base64.decode(input)", Buffer.from(text).toString("base64url"))).toBe(text);
    expect(await evaluate("Array.from(base64.decodeBytes('AP8B'))")).toEqual([0, 255, 1]);
    expect(await evaluate("btoa('hello')")).toBe("aGVsbG8=");
    expect(await evaluate("atob('aGVsbG8=')")).toBe("hello");
  });

  it("structuredClone deep-copies with cycles, Maps, Dates and refuses functions", async () => {
    const out = await evaluate(
      `(() => {
      const a: any = { d: new Date(5), m: new Map([[1, { x: 1 }]]), s: new Set([1]), arr: [1, { y: 2 }], u: new Uint8Array([1, 2]) };
      a.self = a;
      const b: any = structuredClone(a);
      let fn = "none";
      try { structuredClone({ f() {} }); } catch (e: any) { fn = e.name; }
      return { distinct: b !== a && b.arr[1] !== a.arr[1], cycle: b.self === b, date: b.d.getTime(),
        map: b.m.get(1).x, set: b.s.has(1), bytes: Array.from(b.u), fn };
    })()`.replace(/: any/g, ""),
    );
    expect(out).toEqual({
      distinct: true,
      cycle: true,
      date: 5,
      map: 1,
      set: true,
      bytes: [1, 2],
      fn: "DataCloneError",
    });
  });

  it("exposes the pipeline's env as a frozen global", async () => {
    expect(await evaluate("env.REGION")).toBe("eu-west-1");
    expect(await evaluate("env.EMPTY")).toBe("");
    expect(
      await evaluate(
        "(() => { try { (env as any).REGION = 'x'; } catch {} return env.REGION; })()".replace(" as any", ""),
      ),
    ).toBe("eu-west-1");
    expect(await evaluate("Object.isFrozen(env)")).toBe(true);
  });
});
