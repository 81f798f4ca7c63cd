/** `structuredClone` for the isolate: the HTML structured clone algorithm's common types, with cycles. */

function dataCloneError(what: string): Error {
  const err = new Error(`${what} could not be cloned.`);
  err.name = "DataCloneError";
  return err;
}

/** Deep copy of `value`; functions, symbols, WeakMaps, Promises and the like throw a DataCloneError. */
export function structuredClone<T>(value: T): T {
  const seen = new Map<object, unknown>();
  const clone = (v: unknown): unknown => {
    if (typeof v === "function")
      throw dataCloneError(`function ${(v as { name?: string }).name || "anonymous"}`);
    if (typeof v === "symbol") throw dataCloneError(String(v));
    if (typeof v !== "object" || v === null) return v;
    const done = seen.get(v);
    if (done !== undefined) return done;
    if (Array.isArray(v)) {
      const out: unknown[] = new Array(v.length);
      seen.set(v, out);
      for (let i = 0; i < v.length; i++) if (i in v) out[i] = clone(v[i]);
      return out;
    }
    if (v instanceof Date) return remember(v, new Date(v.getTime()));
    if (v instanceof RegExp) return remember(v, new RegExp(v.source, v.flags));
    if (v instanceof ArrayBuffer) return remember(v, v.slice(0));
    if (ArrayBuffer.isView(v)) {
      const buffer = clone(v.buffer) as ArrayBuffer;
      const Ctor = v.constructor as new (b: ArrayBuffer, o: number, l: number) => ArrayBufferView;
      const len = v instanceof DataView ? v.byteLength : (v as unknown as { length: number }).length;
      return remember(v, new Ctor(buffer, v.byteOffset, len));
    }
    if (v instanceof Map) {
      const out = new Map();
      seen.set(v, out);
      for (const [k, x] of v) out.set(clone(k), clone(x));
      return out;
    }
    if (v instanceof Set) {
      const out = new Set();
      seen.set(v, out);
      for (const x of v) out.add(clone(x));
      return out;
    }
    if (v instanceof Error) {
      const out = new Error(v.message);
      out.name = v.name;
      if (v.stack !== undefined) out.stack = v.stack;
      return remember(v, out);
    }
    for (const ctor of [Boolean, Number, String]) {
      if (v instanceof ctor) return remember(v, Object(v.valueOf()));
    }
    if (v instanceof Promise || v instanceof WeakMap || v instanceof WeakSet || v instanceof WeakRef) {
      throw dataCloneError(Object.prototype.toString.call(v));
    }
    const out: Record<string, unknown> = {};
    seen.set(v, out);
    for (const key of Object.keys(v)) {
      Object.defineProperty(out, key, {
        value: clone((v as Record<string, unknown>)[key]),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  };
  const remember = (from: object, to: unknown) => {
    seen.set(from, to);
    return to;
  };
  return clone(value) as T;
}
