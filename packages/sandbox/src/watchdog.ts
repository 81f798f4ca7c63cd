/**
 * Wall-clock watchdog. isolated-vm's own `timeout` covers synchronous code only; a handler that
 * awaits forever, or loops after an await, escapes it. The runtime stamps the start of every
 * message into shared memory; this timer fires when the current message would reach its budget
 * and disposes the isolate if that message is still the one running.
 */
import type { Instance } from "./instance.ts";

/** Watch `instance` while one call runs; returns a function that stops watching. */
export function watch(instance: Instance, timeoutMs: number, onKill: (index: number) => void): () => void {
  let timer: NodeJS.Timeout | undefined;
  const check = () => {
    const { index, startedAt } = instance.progress();
    const elapsed = Date.now() - startedAt;
    if (elapsed >= timeoutMs) {
      onKill(index);
      instance.dispose(true);
      return;
    }
    timer = setTimeout(check, timeoutMs - elapsed);
  };
  timer = setTimeout(check, timeoutMs);
  return () => clearTimeout(timer);
}
