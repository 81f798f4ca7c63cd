/**
 * Refuse single allocations too large for the isolate's heap before V8 attempts them.
 *
 * isolated-vm enforces `memoryLimit` well for gradual growth, but one allocation bigger than the
 * heap's remaining headroom (e.g. `new Array(2 ** 26).fill(0)` under a 32 MB limit) makes V8 give
 * up with a fatal OOM that aborts the whole process (laverdet/isolated-vm#527, #107). The builtins
 * that allocate one large block from a single call are wrapped here to throw a RangeError instead.
 * Gradual growth is still left to the memory limit (HANDLER_MEMORY).
 */
const defineProperty = Object.defineProperty;
const apply = Reflect.apply;

function wrap<T extends object>(
  target: T,
  name: string,
  check: (self: unknown, args: unknown[]) => void,
): void {
  const original = (target as Record<string, unknown>)[name] as (...args: unknown[]) => unknown;
  const wrapped = {
    [name](this: unknown, ...args: unknown[]) {
      check(this, args);
      return apply(original, this, args);
    },
  }[name]!;
  defineProperty(wrapped, "length", { value: original.length });
  defineProperty(target, name, { value: wrapped, writable: true, enumerable: false, configurable: true });
}

function tooLarge(what: string, size: number, max: number): RangeError {
  return new RangeError(`${what} of ${size} exceeds what the sandbox's memory limit allows (${max})`);
}

/** Install the guards; `memoryMb` is the isolate's limit. */
export function installAllocationGuards(memoryMb: number): void {
  const bytes = memoryMb * 1024 * 1024;
  // An element takes 4-8 bytes and a one-byte char 1: a quarter of the heap in one block at most.
  const maxElements = Math.floor(bytes / 32);
  const maxChars = Math.floor(bytes / 4);
  const lengthOf = (v: unknown) => {
    const n = Number((v as { length?: unknown } | null | undefined)?.length);
    return Number.isFinite(n) ? n : 0;
  };
  wrap(Array.prototype, "fill", (self) => {
    const n = lengthOf(self);
    if (n > maxElements) throw tooLarge("Array.prototype.fill on an array", n, maxElements);
  });
  wrap(Array, "from", (_self, args) => {
    const n = lengthOf(args[0]);
    if (n > maxElements) throw tooLarge("Array.from of a length", n, maxElements);
  });
  wrap(String.prototype, "repeat", (self, args) => {
    const n = String(self).length * Number(args[0]);
    if (n > maxChars) throw tooLarge("String.prototype.repeat of a length", n, maxChars);
  });
  for (const name of ["padStart", "padEnd"]) {
    wrap(String.prototype, name, (_self, args) => {
      const n = Number(args[0]);
      if (n > maxChars) throw tooLarge(`String.prototype.${name} to a length`, n, maxChars);
    });
  }
}
