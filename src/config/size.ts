/**
 * Byte sizes (doc 1.3.5) for `ELECTRIC_RESUMABLE_WAL_WINDOW` and `ELECTRIC_TXN_CACHE_SIZE`.
 * Lower-case suffixes are decimal, upper-case ones binary, matching the reference.
 */
import { fail, ok, type Parsed } from "./converters.ts";

const MULTIPLIERS: Readonly<Record<string, number>> = {
  "": 1,
  k: 1000,
  K: 1024,
  m: 1000 ** 2,
  M: 1024 ** 2,
  g: 1000 ** 3,
  G: 1024 ** 3,
};

// A number that starts with a digit (fraction and exponent allowed), optional whitespace,
// optional one-letter suffix. Anything else, including a leading space, is rejected.
const SIZE = /^(\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)\s*([kKmMgG]?)$/;

/** Bytes for a size such as "256M" or "2.23g"; `undefined` when invalid or not positive. */
export function parseByteSize(raw: string): number | undefined {
  const match = SIZE.exec(raw);
  if (!match) return undefined;
  const number = Number(match[1]);
  if (!Number.isFinite(number) || number <= 0) return undefined;
  return Math.trunc(number * MULTIPLIERS[match[2]]);
}

export const asByteSize = (env: string) => (raw: string): Parsed<number> => {
  const bytes = parseByteSize(raw);
  return bytes === undefined ? fail(`${env} has invalid value: "${raw}"`) : ok(bytes);
};
