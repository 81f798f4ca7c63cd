import ivm from "isolated-vm";

for (const code of [
  "new Array(2**24).fill(7).length",
  "new Array(2**26).fill(7).length",
  "new Array(2**28).fill(7).length",
  "Array(1e9).fill(0).length",
]) {
  const iso = new ivm.Isolate({ memoryLimit: 32 });
  const ctx = await iso.createContext();
  const t0 = Date.now();
  const timer = setTimeout(() => {
    console.log("  disposing at", Date.now() - t0);
    iso.dispose();
  }, 2000);
  try {
    console.log(code, await ctx.eval(code));
  } catch (e) {
    console.log(code, "->", e.message, Date.now() - t0, "ms", iso.isDisposed);
  }
  clearTimeout(timer);
}
