/**
 * Progress for long operations (upload, wait, replay, test batches), on stderr only. On a terminal a
 * single line is rewritten in place; with `--progress` on a pipe or file, one line per update
 * (throttled), so logs stay readable. Disabled, every call is a no-op and stderr stays quiet.
 */
export interface Progress {
  update(text: string): void;
  /** Final line of the operation (kept on screen). */
  done(text?: string): void;
}

export const NO_PROGRESS: Progress = { update() {}, done() {} };

export function makeProgress(
  write: (text: string) => void,
  opts: { tty: boolean; enabled: boolean; minIntervalMs?: number; now?: () => number },
): Progress {
  if (!opts.enabled) return NO_PROGRESS;
  const now = opts.now ?? Date.now;
  const minInterval = opts.minIntervalMs ?? 1000;
  let last = 0;
  let lastText = "";
  let dirty = false;
  return {
    update(text) {
      if (opts.tty) {
        write(`\r\x1b[K${text}`);
        dirty = true;
        return;
      }
      const t = now();
      if (text === lastText || t - last < minInterval) return;
      last = t;
      lastText = text;
      write(`${text}\n`);
    },
    done(text) {
      if (opts.tty && dirty) write("\r\x1b[K");
      dirty = false;
      if (text) write(`${text}\n`);
    },
  };
}
