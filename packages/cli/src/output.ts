/** Plain-text rendering: aligned tables, times, sizes. JSON output is `JSON.stringify` as is. */

/** Columns padded to the widest cell; the last column is not padded (no trailing blanks). */
export function table(headers: string[], rows: string[][]): string {
  const all = [headers, ...rows];
  const widths = headers.map((_, c) => Math.max(...all.map((r) => (r[c] ?? "").length)));
  return all
    .map((r) =>
      r
        .map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c] ?? 0)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** ISO 8601 in UTC with milliseconds, or "-" for null/undefined. */
export function isoTime(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? "-" : new Date(ms).toISOString();
}

/** "1.2 kB", "3.4 MB". */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} kB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** Milliseconds with a precision that suits the size: "0.42 ms", "12.3 ms", "1.25 s". */
export function millis(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 10) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(2)} ms`;
}

/** Thousands separators for counters. */
export function count(n: number): string {
  return n.toLocaleString("en-US");
}

/** First `n` characters, with an ellipsis when cut. */
export function clip(text: string, n: number): string {
  const one = text.replace(/\s+/g, " ");
  return one.length <= n ? one : `${one.slice(0, n - 1)}…`;
}
