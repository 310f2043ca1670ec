/**
 * Runtime values of where-clause types: reading Postgres text (column values and literals),
 * printing the canonical text handed back to Postgres as a parameter, and ordering.
 *
 * Representation: integers, times and timestamps are bigint (exact, like Postgres's int64),
 * floats are numbers (float4 rounded with Math.fround), numeric is an exact decimal, dates are
 * day numbers, text/uuid/enum are strings (uuid in canonical lower-case form).
 *
 * Literal reading is deliberately no wider than Postgres's input functions: a literal this
 * module refuses makes the clause invalid, while one it accepts and Postgres refuses would make
 * the initial query fail.
 */
import {
  formatDate,
  formatTime,
  formatTimestamp,
  parseDate,
  parseTime,
  parseTimestamp,
} from "./datetime.ts";
import { isEnumType, type ScalarType } from "./where_types.ts";

/** An exact decimal: `m * 10^-s`. */
export interface Decimal {
  m: bigint;
  s: number;
}

export type Value = boolean | bigint | number | string | Decimal;

export const INT_RANGES: Record<string, [bigint, bigint]> = {
  int2: [-32768n, 32767n],
  int4: [-2147483648n, 2147483647n],
  int8: [-(2n ** 63n), 2n ** 63n - 1n],
};

const INTEGER = /^\s*([+-]?\d+)\s*$/;
const FLOAT = /^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)\s*$/i;
const FLOAT_SPECIAL = /^\s*([+-]?inf(?:inity)?|nan)\s*$/i;
const DECIMAL = /^\s*([+-]?)(\d*)(?:\.(\d*))?(?:e([+-]?\d+))?\s*$/i;
const UUID_HEX = /^[0-9a-f]{32}$/i;

export function parseInteger(text: string, type: string): bigint | undefined {
  const m = INTEGER.exec(text);
  if (!m) return undefined;
  const n = BigInt(m[1]);
  const [min, max] = INT_RANGES[type];
  return n < min || n > max ? undefined : n;
}

export function parseFloatText(text: string, single: boolean): number | undefined {
  const special = FLOAT_SPECIAL.exec(text);
  let n: number;
  if (special) {
    const t = special[1].toLowerCase();
    n = t.includes("nan") ? NaN : t.startsWith("-") ? -Infinity : Infinity;
    return n;
  }
  const m = FLOAT.exec(text);
  if (!m) return undefined;
  n = Number(m[1]);
  const zero = !/[1-9]/.test(m[1].replace(/e.*$/i, ""));
  if (!Number.isFinite(n) || (n === 0 && !zero)) return undefined; // out of range in Postgres
  if (!single) return n;
  const f = Math.fround(n);
  return !Number.isFinite(f) || (f === 0 && !zero) ? undefined : f;
}

export function parseDecimal(text: string): Decimal | undefined {
  const m = DECIMAL.exec(text);
  if (!m || (m[2] === "" && (m[3] ?? "") === "")) return undefined;
  const digits = `${m[2]}${m[3] ?? ""}`;
  let scale = (m[3] ?? "").length - Number(m[4] ?? "0");
  let mantissa = BigInt(digits === "" ? "0" : digits);
  if (scale < 0) {
    mantissa *= 10n ** BigInt(-scale);
    scale = 0;
  }
  return { m: m[1] === "-" ? -mantissa : mantissa, s: scale };
}

/** Postgres's boolin: t/f, true/false, yes/no, on/off, 1/0 and unique prefixes. */
export function parseBool(text: string): boolean | undefined {
  const t = text.trim().toLowerCase();
  if (t === "") return undefined;
  if ("true".startsWith(t) || "yes".startsWith(t) || t === "on" || t === "1") return true;
  if ("false".startsWith(t) || "no".startsWith(t) || t === "off" || t === "of" || t === "0") {
    return false;
  }
  return undefined;
}

export function parseUuid(text: string): string | undefined {
  let t = text.trim();
  if (t.startsWith("{") && t.endsWith("}")) t = t.slice(1, -1);
  const groups = t.split("-");
  // Postgres accepts a hyphen after any group of four digits.
  if (groups.some((g) => g.length === 0 || g.length % 4 !== 0)) return undefined;
  const hex = groups.join("");
  if (!UUID_HEX.test(hex)) return undefined;
  const h = hex.toLowerCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * A text value of type `type` as a runtime value; undefined when it is not valid input.
 * `enumLabels` is needed for enums only.
 */
export function parseValue(
  type: ScalarType,
  text: string,
  enumLabels?: readonly string[],
): Value | undefined {
  switch (type) {
    case "bool":
      return parseBool(text);
    case "int2":
    case "int4":
    case "int8":
      return parseInteger(text, type);
    case "float4":
    case "float8":
      return parseFloatText(text, type === "float4");
    case "numeric":
      return parseDecimal(text);
    case "text":
      return text;
    case "uuid":
      return parseUuid(text);
    case "date":
      return parseDate(text);
    case "time":
      return parseTime(text);
    case "timestamp":
      return parseTimestamp(text, false);
    case "timestamptz":
      return parseTimestamp(text, true);
    case "other":
      return undefined;
  }
  if (isEnumType(type)) {
    return enumLabels === undefined || enumLabels.includes(text) ? text : undefined;
  }
  return undefined;
}

export function formatDecimal(d: Decimal): string {
  const negative = d.m < 0n;
  const digits = (negative ? -d.m : d.m).toString().padStart(d.s + 1, "0");
  const whole = digits.slice(0, digits.length - d.s);
  const frac = d.s > 0 ? `.${digits.slice(digits.length - d.s)}` : "";
  return `${negative ? "-" : ""}${whole}${frac}`;
}

export function formatFloat(n: number): string {
  return Object.is(n, -0) ? "-0" : String(n);
}

/** Canonical text of a value: what Postgres reads back as the same value. */
export function formatValue(type: ScalarType, value: Value): string {
  switch (type) {
    case "bool":
      return value ? "true" : "false";
    case "float4":
    case "float8":
      return formatFloat(value as number);
    case "numeric":
      return formatDecimal(value as Decimal);
    case "date":
      return formatDate(value as number);
    case "time":
      return formatTime(value as bigint);
    case "timestamp":
      return formatTimestamp(value as bigint, false);
    case "timestamptz":
      return formatTimestamp(value as bigint, true);
    default:
      return String(value);
  }
}

function sign(n: number | bigint): number {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

/** Code point order, which is byte order of UTF-8: Postgres's order under COLLATE "C". */
export function compareText(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x < y ? -1 : 1;
    if (x > 0xffff) i++;
  }
  return sign(a.length - b.length);
}

export function compareDecimal(a: Decimal, b: Decimal): number {
  const s = Math.max(a.s, b.s);
  return sign(a.m * 10n ** BigInt(s - a.s) - b.m * 10n ** BigInt(s - b.s));
}

/** Postgres float order: NaN equals NaN and sorts above everything; -0 equals 0. */
export function compareFloat(a: number, b: number): number {
  if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : 1;
  if (Number.isNaN(b)) return -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Order of two values of the same type. */
export function compareValues(type: ScalarType, a: Value, b: Value): number {
  switch (type) {
    case "float4":
    case "float8":
      return compareFloat(a as number, b as number);
    case "numeric":
      return compareDecimal(a as Decimal, b as Decimal);
    case "text":
      return compareText(a as string, b as string);
    case "bool":
      return sign(Number(a) - Number(b));
    default:
      if (typeof a === "string") return a < (b as string) ? -1 : a > (b as string) ? 1 : 0;
      return a < b ? -1 : a > b ? 1 : 0;
  }
}
