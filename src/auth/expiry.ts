/**
 * When an authenticated connection's token runs out. Pure; the Satellite session owns the
 * timer, and in 0.12 does not arm one at all (doc 4.1), so this exists for the optional
 * `JWT-expired` close.
 */

/** Milliseconds from `now` until `expiresAt` (0 if already past), or `undefined` for none. */
export function expiryDelayMs(result: { expiresAt?: Date }, now: Date): number | undefined {
  if (result.expiresAt === undefined) return undefined;
  const delay = result.expiresAt.getTime() - now.getTime();
  return Number.isNaN(delay) ? undefined : Math.max(0, delay);
}
