/**
 * The `nulls_bitmask` of a `SatOpRow` (satellite-protocol.md §5.1): one bit per column, most
 * significant bit first, `ceil(columns / 8)` bytes, unused trailing bits zero.
 */

/** The bitmask for these NULL flags, one per column in relation order. */
export function nullsBitmask(nulls: readonly boolean[]): Uint8Array {
  const mask = new Uint8Array(Math.ceil(nulls.length / 8));
  nulls.forEach((isNull, i) => {
    if (isNull) mask[i >> 3] |= 0x80 >> (i & 7);
  });
  return mask;
}

/**
 * Whether column `i` is flagged NULL. Bytes past the end of a short mask read as "not NULL":
 * the client's own decoder does the same, and the reference crashing on them helps nobody.
 */
export function isNullAt(mask: Uint8Array, i: number): boolean {
  const byte = i >> 3;
  return byte < mask.length && (mask[byte] & (0x80 >> (i & 7))) !== 0;
}
