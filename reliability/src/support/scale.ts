/**
 * CI-sized or long: `WEIR_FAULTS_LONG=1` (set by `npm run faults`) widens counts and durations.
 */
export const LONG = process.env.WEIR_FAULTS_LONG === "1";

/** `ci` in the test command, `long` under `npm run faults`. */
export function scale<T>(ci: T, long: T): T {
  return LONG ? long : ci;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
