/**
 * Maps stack frames of the compiled handler back to the uploaded TypeScript. A source map v3
 * decoder is ~60 lines, so this avoids a dependency; it is only used on failures, never on the
 * hot path, and each map is decoded once per sandbox (lazily).
 */
import { HANDLER_FILENAME } from "./compile.ts";

/** One segment: generated column -> original source, line, column (all 0-based). */
type Segment = [genCol: number, source: number, line: number, col: number];

const B64 = new Map(
  [..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"].map((c, i) => [c, i]),
);

function decodeVlq(text: string, pos: { i: number }): number {
  let result = 0;
  let shift = 0;
  for (;;) {
    const digit = B64.get(text[pos.i++] ?? "");
    if (digit === undefined) throw new Error("bad VLQ");
    result += (digit & 31) << shift;
    if ((digit & 32) === 0) break;
    shift += 5;
  }
  return result & 1 ? -(result >>> 1) : result >>> 1;
}

/** A decoded source map: look up the original position of a generated line/column. */
export class SourceMap {
  private readonly lines: Segment[][] = [];
  private readonly sources: string[];

  constructor(json: string) {
    const raw = JSON.parse(json) as { sources?: unknown; mappings?: unknown };
    this.sources = Array.isArray(raw.sources) ? raw.sources.map(String) : [];
    const mappings = typeof raw.mappings === "string" ? raw.mappings : "";
    let source = 0;
    let line = 0;
    let col = 0;
    for (const group of mappings.split(";")) {
      const segments: Segment[] = [];
      let genCol = 0;
      for (const seg of group.split(",")) {
        if (seg === "") continue;
        const pos = { i: 0 };
        genCol += decodeVlq(seg, pos);
        if (pos.i >= seg.length) continue; // a segment with no source
        source += decodeVlq(seg, pos);
        line += decodeVlq(seg, pos);
        col += decodeVlq(seg, pos);
        segments.push([genCol, source, line, col]);
      }
      this.lines.push(segments);
    }
  }

  /** Original position of a 1-based line and column, or undefined when unmapped. */
  originalPosition(
    line: number,
    column: number,
  ): { source: string; line: number; column: number } | undefined {
    const segments = this.lines[line - 1];
    if (!segments || segments.length === 0) return undefined;
    let best: Segment | undefined;
    for (const s of segments) {
      if (s[0] <= column - 1) best = s;
      else break;
    }
    best ??= segments[0];
    if (!best) return undefined;
    return { source: this.sources[best[1]] ?? "handler.ts", line: best[2] + 1, column: best[3] + 1 };
  }
}

const FRAME = new RegExp(`${HANDLER_FILENAME.replace(".", "\\.")}:(\\d+):(\\d+)`, "g");

/**
 * Rewrite `handler.js:L:C` locations in a V8 stack to the uploaded file's positions and drop the
 * runtime's own frames. Returns the new stack and the first mapped location (the throw site).
 */
export function mapStack(
  stack: string,
  map: SourceMap | undefined,
): { stack: string; location?: { file: string; line: number; column: number } } {
  let location: { file: string; line: number; column: number } | undefined;
  const lines = stack.split("\n").filter((l) => !/\(?weir-runtime\.js:\d+/.test(l));
  const out = lines.map((l) =>
    map
      ? l.replace(FRAME, (whole, ln: string, cl: string) => {
          const pos = map.originalPosition(Number(ln), Number(cl));
          if (!pos) return whole;
          location ??= { file: pos.source, line: pos.line, column: pos.column };
          return `${pos.source}:${pos.line}:${pos.column}`;
        })
      : l,
  );
  return location ? { stack: out.join("\n"), location } : { stack: out.join("\n") };
}
