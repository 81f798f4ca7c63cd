/**
 * The in-isolate runtime, bundled by esbuild into one script (`weir-runtime.js`) and run once per
 * isolate before the handler. It installs the standard library, then exposes `__weir_boot` and
 * `__weir_define`; the host takes a reference to the runner and deletes both globals, so handler
 * code can reach nothing of the host and none of the runtime's internals.
 *
 * Builtins the runtime relies on are captured here, before handler code runs, so a handler that
 * overwrites JSON.stringify or Promise.prototype.then cannot corrupt the output format. The RowBinary
 * encoder (@weir/core rowbinary.ts, used when the host asks for RowBinary rows) does use builtins
 * at call time (DataView, String.prototype.charCodeAt, ...): a handler that patches them can garble
 * only its own rows, which go to its own pipeline's table (the chunk header's lengths are the
 * runtime's own, so message boundaries hold).
 */
import { ByteWriter, RowBinaryError, type RowEncoder, rowEncoder } from "@weir/core/rowbinary";
import { structuredClone } from "./clone.ts";
import { describeError } from "./errors.ts";
import { installAllocationGuards } from "./guards.ts";
import { md5, sha1, sha256 } from "./hash.ts";
import { beginLogs, consoleObject, endLogs, log, setCurrent } from "./logs.ts";
import { PROGRESS, type RuntimeConfig } from "./protocol.ts";
import { classify, NonRetryableError, RetryAfterError } from "./retry.ts";
import { atob, base64, btoa, TextDecoder, TextEncoder } from "./text.ts";

type Handler = (data: unknown, log: unknown) => unknown;
type OtlpDecoder = { decodeTraces(u8: Uint8Array): unknown; decodeLogs(u8: Uint8Array): unknown };

const g = globalThis as unknown as Record<string, unknown>;
const parse = JSON.parse;
const stringify = JSON.stringify;
const now = Date.now;
const isArray = Array.isArray;
const apply = Reflect.apply;
const defineProperty = Object.defineProperty;
const freeze = Object.freeze;
const PromiseCtor = Promise;
const promiseThen = Promise.prototype.then;
const U8 = Uint8Array;

// JSON.stringify silently drops functions; a row with a function in it is a handler bug, so make
// it fail loudly. (BigInt and cycles already throw.)
defineProperty(Function.prototype, "toJSON", {
  value() {
    throw new TypeError("a function cannot be serialized to JSON");
  },
  writable: false,
  enumerable: false,
  configurable: false,
});

// Wasm memories live outside the V8 heap, where the isolate's heap limit does not bound them;
// handlers have no use for them.
delete g.WebAssembly;

// The OTLP protobuf decoder, when the host loaded it (before this script): captured and its global
// removed before handler code runs, so a handler cannot replace it.
const otlp = g.__weirOtlp as OtlpDecoder | undefined;
delete g.__weirOtlp;

let config: RuntimeConfig;
let handler: Handler | undefined;
/** Set when the host asked for RowBinary rows (config.rowBinary): rows go into `bin`, not `rows`. */
let encodeRow: RowEncoder | undefined;
let bin: ByteWriter | undefined;
let progressIndex: Int32Array;
let progressStart: Float64Array;

for (const [name, value] of Object.entries({
  hash: freeze({ md5, sha1, sha256 }),
  base64,
  btoa,
  atob,
  TextEncoder,
  TextDecoder,
  structuredClone,
  console: consoleObject,
  NonRetryableError,
  RetryAfterError,
})) {
  defineProperty(g, name, { value, writable: true, enumerable: false, configurable: true });
}

/** Why a message failed; the code travels as a string and is checked on the host. */
type FailCode =
  | "DECODE_ERROR"
  | "HANDLER_ERROR"
  | "HANDLER_NON_RETRYABLE"
  | "HANDLER_RETRY_AFTER"
  | "HANDLER_OUTPUT";

/** Per-call output accumulators (see protocol.ts for the format). */
let rows = "";
let stats = "";
let errors = "";

function fail(i: number, code: FailCode, err: unknown, t0: number, prefix = "", retryAfterMs?: number): void {
  const [name, message, stack] = describeError(err);
  const delay = retryAfterMs === undefined ? "" : `,${retryAfterMs}`;
  errors += `${errors ? "," : ""}[${i},"${code}",${stringify(name)},${stringify(prefix + message)},${stringify(stack)}${delay}]`;
  stats += `${stats ? "," : ""}-1,0,${now() - t0}`;
}

/** The handler threw (or its promise rejected): NonRetryableError and RetryAfterError get codes of their own. */
function handlerFail(i: number, err: unknown, t0: number): void {
  const [code, retryAfterMs] = classify(err);
  fail(i, code, err, t0, "", retryAfterMs);
}

function outputError(message: string): Error {
  const err = new Error(message);
  err.name = "OutputError";
  err.stack = "";
  return err;
}

/** Encode one message's rows as RowBinary into `bin`; a row that does not fit fails that message only. */
function emitBinary(i: number, list: unknown[], t0: number, w: ByteWriter, encode: RowEncoder): void {
  const start = w.pos;
  for (let k = 0; k < list.length; k++) {
    const row = list[k];
    if (typeof row !== "object" || row === null || isArray(row)) {
      w.pos = start;
      const kind = row === null ? "null" : isArray(row) ? "an array" : `a ${typeof row}`;
      fail(i, "HANDLER_OUTPUT", outputError(`row ${k} is ${kind}; rows must be plain objects`), t0);
      return;
    }
    try {
      encode(w, row as Record<string, unknown>);
    } catch (err) {
      w.pos = start;
      const e = err instanceof RowBinaryError ? outputError(err.message) : err;
      fail(i, "HANDLER_OUTPUT", e, t0, `row ${k} does not fit the table: `);
      return;
    }
    if (w.pos - start > config.maxOutputChars) {
      w.pos = start;
      const message = `output exceeds max_output_bytes (${config.maxOutputChars}) at row ${k}`;
      fail(i, "HANDLER_OUTPUT", outputError(message), t0);
      return;
    }
  }
  stats += `${stats ? "," : ""}${list.length},${w.pos - start},${now() - t0}`;
}

/** Serialize one message's result into `rows`; a bad result fails that message only. */
function emit(i: number, result: unknown, t0: number): void {
  if (encodeRow && bin) {
    const list = result === null || result === undefined ? [] : isArray(result) ? result : [result];
    emitBinary(i, list as unknown[], t0, bin, encodeRow);
    return;
  }
  let text = "";
  let count = 0;
  if (result !== null && result !== undefined) {
    const list = isArray(result) ? (result as unknown[]) : [result];
    for (let k = 0; k < list.length; k++) {
      const row = list[k];
      if (typeof row !== "object" || row === null || isArray(row)) {
        const kind = row === null ? "null" : isArray(row) ? "an array" : `a ${typeof row}`;
        fail(i, "HANDLER_OUTPUT", outputError(`row ${k} is ${kind}; rows must be plain objects`), t0);
        return;
      }
      let line: unknown;
      try {
        line = stringify(row);
      } catch (err) {
        fail(i, "HANDLER_OUTPUT", err, t0, `row ${k} cannot be serialized to JSON: `);
        return;
      }
      if (typeof line !== "string") {
        fail(i, "HANDLER_OUTPUT", outputError(`row ${k} serializes to nothing (toJSON?)`), t0);
        return;
      }
      text += count ? `\n${line}` : line;
      count++;
      if (text.length > config.maxOutputChars) {
        const message = `output exceeds max_output_bytes (${config.maxOutputChars}) at row ${k}`;
        fail(i, "HANDLER_OUTPUT", outputError(message), t0);
        return;
      }
    }
  }
  if (count > 0) rows += `${text}\n`;
  stats += `${stats ? "," : ""}${count},${text.length},${now() - t0}`;
}

function finish(next: number): string | [string, Uint8Array] {
  const { logs, dropped } = endLogs();
  const header = `{"n":${next},"s":[${stats}],"e":[${errors}],"l":[${logs}],"d":${dropped}}`;
  const text = rows;
  rows = stats = errors = "";
  if (bin) {
    const bytes = bin.buf.slice(0, bin.pos);
    bin.pos = 0;
    return [header, bytes];
  }
  return `${header}\n${text}`;
}

/** Output built so far in this call (code units of NDJSON, or RowBinary bytes). */
function outputSize(): number {
  return bin ? bin.pos : rows.length;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function"
  );
}

/** The handler's `data` for a raw value and its format code (see FORMAT_CODES). */
function decode(value: unknown, format: number): unknown {
  if (format === 106 /* j */) return parse(value as string);
  if (!otlp) throw new TypeError("the OTLP decoder is not loaded in this sandbox");
  if (!(value instanceof U8)) throw new TypeError("an otlp_proto message must be bytes");
  if (format === 112 /* p */) return otlp.decodeTraces(value);
  if (format === 108 /* l */) return otlp.decodeLogs(value);
  throw new TypeError(`unknown message format code ${format}`);
}

type Output = string | [string, Uint8Array];

/**
 * Process messages from `i` on, synchronously until a handler returns a promise; then continue
 * from that promise's settlement. Sync handlers never touch the microtask queue.
 */
function loop(values: Array<string | Uint8Array>, formats: string, i: number): Output | Promise<Output> {
  for (; i < values.length; i++) {
    if (outputSize() >= config.chunkChars) return finish(i);
    const t0 = now();
    progressStart[PROGRESS.startSlot] = t0;
    progressIndex[PROGRESS.indexSlot] = i;
    setCurrent(i);
    let data: unknown = values[i];
    const format = formats.charCodeAt(i);
    if (format !== 116 /* t */) {
      try {
        data = decode(data, format);
      } catch (err) {
        fail(i, "DECODE_ERROR", err, t0);
        continue;
      }
    }
    let result: unknown;
    try {
      result = (handler as Handler)(data, log);
      if (isThenable(result)) {
        const index = i;
        const promise = new PromiseCtor((resolve, reject) => apply(promiseThen, result, [resolve, reject]));
        return apply(promiseThen, promise, [
          (value: unknown) => {
            emit(index, value, t0);
            return loop(values, formats, index + 1);
          },
          (err: unknown) => {
            handlerFail(index, err, t0);
            return loop(values, formats, index + 1);
          },
        ]) as Promise<Output>;
      }
    } catch (err) {
      handlerFail(i, err, t0);
      continue;
    }
    emit(i, result, t0);
  }
  return finish(values.length);
}

/**
 * The host's entry point: run a chunk of messages with `logBudget` log lines to spend. `formats`
 * has one character per message (FORMAT_CODES in protocol.ts): how to turn the value into `data`.
 */
function run(
  values: Array<string | Uint8Array>,
  formats: string,
  logBudget: number,
): Output | Promise<Output> {
  beginLogs(logBudget, config.maxLogLineChars);
  rows = stats = errors = "";
  if (bin) bin.pos = 0;
  return loop(values, formats, 0);
}

/** One-shot: the host calls this with the progress buffer and config, then deletes it. */
g.__weir_boot = (progress: SharedArrayBuffer, cfg: RuntimeConfig) => {
  config = cfg;
  installAllocationGuards(cfg.memoryMb);
  if (cfg.rowBinary) {
    encodeRow = rowEncoder(cfg.rowBinary);
    bin = new ByteWriter(64 * 1024);
  }
  progressIndex = new Int32Array(progress);
  progressStart = new Float64Array(progress);
  const env = Object.create(null) as Record<string, string>;
  for (const key of Object.keys(cfg.env)) env[key] = String(cfg.env[key]);
  defineProperty(g, "env", { value: freeze(env), writable: false, enumerable: false, configurable: false });
  g.__weir_run = run;
};

/** One-shot: the compiled handler script calls this with its CommonJS body. */
g.__weir_define = (factory: (module: { exports: Record<string, unknown> }, exports: unknown) => void) => {
  delete g.__weir_define;
  const module = { exports: {} as Record<string, unknown> };
  factory(module, module.exports);
  const h = module.exports.handler;
  if (typeof h === "function") handler = h as Handler;
};

/** Whether the handler script defined a `handler` function (checked by the host after loading). */
g.__weir_loaded = () => typeof handler === "function";
