/**
 * Dates and times as Postgres stores them: a date is a day count from 1970-01-01 on the
 * proleptic Gregorian calendar (year 0 is 1 BC), a time or timestamp a count of microseconds.
 * Infinite dates are ±Infinity; infinite timestamps use Postgres's own sentinels (the int64
 * extremes), so they order correctly against every finite value.
 *
 * Text forms accepted are the ISO ones Postgres prints under `DateStyle = ISO` plus the usual
 * ISO input variants (`T` separator, `Z`/`±hh[:mm[:ss]]` offsets). Anything else (`now`,
 * `today`, month names) is refused, which is stricter than Postgres but never different.
 */

export const MICROS_PER_DAY = 86_400_000_000n;
export const TIMESTAMP_MINUS_INFINITY = -(2n ** 63n);
export const TIMESTAMP_INFINITY = 2n ** 63n - 1n;

// Postgres's limits: dates from 4714-11-24 BC, timestamps up to 294276-12-31.
const MIN_DAY = daysFromCivil(-4713, 11, 24);
const MAX_DATE_DAY = daysFromCivil(5874897, 12, 31);
const MAX_TIMESTAMP_DAY = daysFromCivil(294276, 12, 31);

/** Day number of a proleptic Gregorian date (astronomical year numbering). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

export function civilFromDays(days: number): [number, number, number] {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (month <= 2 ? 1 : 0), month, day];
}

const DATE = /^(\d{4,})-(\d{1,2})-(\d{1,2})/;
const TIME = /^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?/;
const OFFSET = /^(?:Z|([+-])(\d{2})(?::?(\d{2}))?(?::?(\d{2}))?)/i;

interface Cursor {
  rest: string;
}

function take(cursor: Cursor, pattern: RegExp): RegExpExecArray | undefined {
  const m = pattern.exec(cursor.rest);
  if (!m) return undefined;
  cursor.rest = cursor.rest.slice(m[0].length);
  return m;
}

interface Ymd {
  year: number;
  month: number;
  day: number;
}

function readDate(cursor: Cursor): Ymd | undefined {
  const m = take(cursor, DATE);
  if (!m) return undefined;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (year === 0 || month < 1 || month > 12 || day < 1 || day > 31) return undefined;
  return { year, month, day };
}

/** The day number, after an optional trailing ` BC`; undefined for an invalid date. */
function finishDate(cursor: Cursor, ymd: Ymd): number | undefined {
  let year = ymd.year;
  if (/^ BC/i.test(cursor.rest)) {
    cursor.rest = cursor.rest.slice(3);
    year = 1 - year;
  }
  const days = daysFromCivil(year, ymd.month, ymd.day);
  const [y, m, d] = civilFromDays(days);
  return y === year && m === ymd.month && d === ymd.day ? days : undefined;
}

function readTime(cursor: Cursor): bigint | undefined {
  const m = take(cursor, TIME);
  if (!m) return undefined;
  const [h, mi, s] = [Number(m[1]), Number(m[2]), Number(m[3] ?? "0")];
  const micros = BigInt((m[4] ?? "").padEnd(6, "0"));
  if (mi > 59 || s > 59 || h > 24 || (h === 24 && (mi > 0 || s > 0 || micros > 0n))) {
    return undefined;
  }
  return BigInt((h * 60 + mi) * 60 + s) * 1_000_000n + micros;
}

function readOffsetSeconds(cursor: Cursor): number | undefined {
  const m = take(cursor, OFFSET);
  if (!m) return undefined;
  if (m[1] === undefined) return 0;
  const [h, mi, s] = [Number(m[2]), Number(m[3] ?? "0"), Number(m[4] ?? "0")];
  if (h > 15 || mi > 59 || s > 59) return undefined;
  const seconds = (h * 60 + mi) * 60 + s;
  return m[1] === "-" ? -seconds : seconds;
}

function infinity(text: string): 1 | -1 | undefined {
  const t = text.toLowerCase();
  if (t === "infinity" || t === "+infinity") return 1;
  if (t === "-infinity") return -1;
  return undefined;
}

export function parseDate(text: string): number | undefined {
  const s = text.trim();
  const inf = infinity(s);
  if (inf !== undefined) return inf * Infinity;
  const cursor = { rest: s };
  const ymd = readDate(cursor);
  const days = ymd && finishDate(cursor, ymd);
  if (days === undefined || cursor.rest !== "") return undefined;
  return days < MIN_DAY || days > MAX_DATE_DAY ? undefined : days;
}

export function parseTime(text: string): bigint | undefined {
  const cursor = { rest: text.trim() };
  const time = readTime(cursor);
  return time !== undefined && cursor.rest === "" ? time : undefined;
}

/**
 * A timestamp (`withZone` false: any offset is ignored, as Postgres does) or a timestamptz
 * (an absent offset means UTC: the service's sessions run with `TimeZone = UTC`).
 */
export function parseTimestamp(text: string, withZone: boolean): bigint | undefined {
  const s = text.trim();
  const inf = infinity(s);
  if (inf !== undefined) return inf > 0 ? TIMESTAMP_INFINITY : TIMESTAMP_MINUS_INFINITY;
  const cursor = { rest: s };
  const ymd = readDate(cursor);
  if (!ymd) return undefined;
  let time = 0n;
  let offset = 0;
  if (/^[ T]\d/i.test(cursor.rest)) {
    cursor.rest = cursor.rest.slice(1);
    const t = readTime(cursor);
    if (t === undefined) return undefined;
    time = t;
    const o = readOffsetSeconds(cursor);
    if (o === undefined && /^[+-zZ]/.test(cursor.rest)) return undefined;
    offset = o ?? 0;
  }
  const days = finishDate(cursor, ymd);
  if (days === undefined || cursor.rest !== "") return undefined;
  if (days < MIN_DAY || days > MAX_TIMESTAMP_DAY) return undefined;
  const local = BigInt(days) * MICROS_PER_DAY + time;
  return withZone ? local - BigInt(offset) * 1_000_000n : local;
}

function pad(n: number | bigint, width: number): string {
  return String(n).padStart(width, "0");
}

export function formatDate(days: number): string {
  if (days === Infinity) return "infinity";
  if (days === -Infinity) return "-infinity";
  const [y, m, d] = civilFromDays(days);
  const bc = y <= 0;
  return `${pad(bc ? 1 - y : y, 4)}-${pad(m, 2)}-${pad(d, 2)}${bc ? " BC" : ""}`;
}

export function formatTime(micros: bigint): string {
  const seconds = micros / 1_000_000n;
  const fraction = micros % 1_000_000n;
  const h = seconds / 3600n;
  const mi = (seconds / 60n) % 60n;
  const s = seconds % 60n;
  const frac = fraction === 0n ? "" : `.${pad(fraction, 6).replace(/0+$/, "")}`;
  return `${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}${frac}`;
}

/** ISO text of a timestamp; a timestamptz is printed in UTC with `+00`. */
export function formatTimestamp(micros: bigint, withZone: boolean): string {
  if (micros === TIMESTAMP_INFINITY) return "infinity";
  if (micros === TIMESTAMP_MINUS_INFINITY) return "-infinity";
  let days = micros / MICROS_PER_DAY;
  let time = micros % MICROS_PER_DAY;
  if (time < 0n) {
    time += MICROS_PER_DAY;
    days -= 1n;
  }
  const date = formatDate(Number(days));
  const bc = date.endsWith(" BC");
  const ymd = bc ? date.slice(0, -3) : date;
  return `${ymd} ${formatTime(time)}${withZone ? "+00" : ""}${bc ? " BC" : ""}`;
}

/** The day a timestamp falls on (floor division; infinities stay infinite). */
export function timestampToDate(micros: bigint): number {
  if (micros === TIMESTAMP_INFINITY) return Infinity;
  if (micros === TIMESTAMP_MINUS_INFINITY) return -Infinity;
  let days = micros / MICROS_PER_DAY;
  if (micros % MICROS_PER_DAY < 0n) days -= 1n;
  return Number(days);
}

export function dateToTimestamp(days: number): bigint {
  if (days === Infinity) return TIMESTAMP_INFINITY;
  if (days === -Infinity) return TIMESTAMP_MINUS_INFINITY;
  return BigInt(days) * MICROS_PER_DAY;
}
