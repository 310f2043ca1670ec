/**
 * Reconnection delays: 1 s doubling up to 10 s, as the reference does, so a Postgres restart
 * is picked up quickly while an outage does not turn into a busy loop.
 */
export const BACKOFF_INITIAL_MS = 1_000;
export const BACKOFF_MAX_MS = 10_000;

/** Delay before retry number `attempt` (0-based). */
export function backoffDelayMs(attempt: number): number {
  const delay = BACKOFF_INITIAL_MS * 2 ** Math.max(0, attempt);
  return Math.min(delay, BACKOFF_MAX_MS);
}
