/** Reading thrown values defensively: a handler may throw anything, including objects whose getters throw. */
const StringCtor = String;

/** `String(value)`, capped, and never throwing. */
export function safeString(value: unknown, max = 16_384): string {
  try {
    const s = typeof value === "string" ? value : StringCtor(value);
    return s.length > max ? `${s.slice(0, max)}…` : s;
  } catch {
    return "<unprintable value>";
  }
}

/** [name, message, stack] of anything thrown. */
export function describeError(err: unknown): [name: string, message: string, stack: string] {
  if (typeof err === "object" && err !== null) {
    let name = "Error";
    let message = "";
    let stack = "";
    try {
      const e = err as { name?: unknown; message?: unknown; stack?: unknown };
      name = typeof e.name === "string" ? e.name : "Error";
      message = safeString(e.message ?? "");
      stack = typeof e.stack === "string" ? safeString(e.stack, 65_536) : "";
    } catch {
      message = "<error could not be read>";
    }
    return [name, message, stack];
  }
  return ["Error", safeString(err), ""];
}
