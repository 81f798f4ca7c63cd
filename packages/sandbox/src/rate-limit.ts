/**
 * Per-pipeline log rate limit: a token bucket shared by every sandbox of one pipeline (during a
 * deploy the old and new versions run side by side and must not get twice the budget).
 */

/** A token bucket refilled continuously at `perSecond`, holding at most one second's worth. */
export class TokenBucket {
  private tokens: number;
  private last = Date.now();
  private perSecond: number;
  constructor(perSecond: number) {
    this.perSecond = perSecond;
    this.tokens = perSecond;
  }
  /** Whole tokens available now. */
  available(): number {
    const t = Date.now();
    this.tokens = Math.min(this.perSecond, this.tokens + ((t - this.last) * this.perSecond) / 1000);
    this.last = t;
    return Math.floor(this.tokens);
  }
  take(n: number): void {
    this.tokens = Math.max(0, this.tokens - n);
  }
  setRate(perSecond: number): void {
    this.perSecond = perSecond;
    this.tokens = Math.min(this.tokens, perSecond);
  }
}

const shared = new Map<string, { bucket: TokenBucket; refs: number }>();

/** The bucket of `pipelineId` (or a private one when absent); call `release` on dispose. */
export function acquireBucket(
  pipelineId: string | undefined,
  perSecond: number,
): { bucket: TokenBucket; release: () => void } {
  if (pipelineId === undefined) return { bucket: new TokenBucket(perSecond), release: () => {} };
  let entry = shared.get(pipelineId);
  if (entry) entry.bucket.setRate(perSecond);
  else {
    entry = { bucket: new TokenBucket(perSecond), refs: 0 };
    shared.set(pipelineId, entry);
  }
  entry.refs++;
  const e = entry;
  let released = false;
  return {
    bucket: e.bucket,
    release: () => {
      if (released) return;
      released = true;
      if (--e.refs === 0) shared.delete(pipelineId);
    },
  };
}
