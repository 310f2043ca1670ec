/**
 * Log sequence numbers. Postgres prints an LSN as two hex numbers `X/Y` (the high and low 32
 * bits); the service works with the 64-bit integer X·2^32 + Y as a bigint.
 * https://www.postgresql.org/docs/current/datatype-pg-lsn.html
 */

const LSN_TEXT = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;
const MAX_LSN = (1n << 64n) - 1n;

/** `X/Y` → bigint, or undefined when the text is not an LSN. */
export function parseLsn(text: string): bigint | undefined {
  const match = LSN_TEXT.exec(text.trim());
  if (!match) return undefined;
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

/** bigint → `X/Y` in Postgres's own spelling (upper-case hex, no padding). */
export function formatLsn(lsn: bigint): string {
  if (lsn < 0n || lsn > MAX_LSN) throw new RangeError(`LSN out of range: "${lsn}"`);
  const high = (lsn >> 32n).toString(16).toUpperCase();
  const low = (lsn & 0xffffffffn).toString(16).toUpperCase();
  return `${high}/${low}`;
}

/** The larger of two LSNs (undefined counts as lowest). */
export function maxLsn(a: bigint | undefined, b: bigint | undefined): bigint | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a > b ? a : b;
}
