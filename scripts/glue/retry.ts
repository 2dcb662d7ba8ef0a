/**
 * Backoff for what the SDK's own retry strategy does not cover: Glue's OperationTimeoutException,
 * a poll that still fails after the SDK gave up (a watch should outlive a short network blip),
 * and waiting for a concurrency slot.
 */

export interface BackoffOptions {
  /** Total tries including the first. */
  readonly attempts: number;
  readonly baseMs: number;
  readonly maxMs: number;
  readonly retryable: (error: unknown) => boolean;
  /** Called before each wait, e.g. to tell the user. */
  readonly onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Exponential backoff with full jitter: a wait drawn from [0, min(max, base * 2^n)]. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random = Math.random) {
  return Math.round(random() * Math.min(maxMs, baseMs * 2 ** attempt));
}

export async function withBackoff<T>(fn: () => Promise<T>, o: BackoffOptions): Promise<T> {
  const wait = o.sleep ?? sleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (attempt >= o.attempts || !o.retryable(e)) throw e;
      const delay = backoffDelay(attempt, o.baseMs, o.maxMs, o.random);
      o.onRetry?.(e, attempt, delay);
      await wait(delay);
    }
  }
}
