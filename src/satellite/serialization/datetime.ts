/**
 * Date and time texts a client may write (satellite-protocol.md §5.2, postgres-side.md §6.2).
 * Checked here rather than left to Postgres so that a bad value is refused before any write,
 * and so that forms Postgres would quietly reinterpret (a non-zero offset on `timestamptz`,
 * an offset on `timestamp`) are refused instead of changing the instant.
 */

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIME = /^(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,6})?$/;
// ISO 8601 extended form; the client writes a space, Postgres-dialect clients a `T`.
const DATE_TIME = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?)(.*)$/;
const ZERO_OFFSET = /^(?:Z|[+-]00(?::?00)?)$/;

/** `YYYY-MM-DD`, year 1..9999, a real calendar day. */
export function isValidDate(text: string): boolean {
  const m = DATE.exec(text);
  if (!m) return false;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return year >= 1 && month >= 1 && month <= 12 && day >= 1 && day <= daysIn(year, month);
}

/** `HH:MM:SS` with 1..6 optional fraction digits; no 24:00 and no leap second. */
export function isValidTime(text: string): boolean {
  const m = TIME.exec(text);
  return m !== null && Number(m[1]) <= 23 && Number(m[2]) <= 59 && Number(m[3]) <= 59;
}

/** A date-time without any offset. */
export function isValidTimestamp(text: string): boolean {
  const m = DATE_TIME.exec(text);
  return m !== null && m[3] === "" && isValidDate(m[1]) && isValidTime(m[2]);
}

export type TimestamptzCheck = "ok" | "malformed" | "missing_offset" | "non_zero_offset";

/** A date-time whose offset is present and zero (`Z`, `+00`, `+0000`, `+00:00`). */
export function checkTimestamptz(text: string): TimestamptzCheck {
  const m = DATE_TIME.exec(text);
  if (m === null || !isValidDate(m[1]) || !isValidTime(m[2])) return "malformed";
  if (m[3] === "") return "missing_offset";
  if (ZERO_OFFSET.test(m[3])) return "ok";
  return /^[+-]\d{2}(?::?\d{2})?$/.test(m[3]) ? "non_zero_offset" : "malformed";
}

function daysIn(year: number, month: number): number {
  if (month !== 2) return [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return leap ? 29 : 28;
}
