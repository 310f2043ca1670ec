/**
 * Validation of one non-NULL value written by a client (postgres-side.md §6.2,
 * satellite-protocol.md §5.2), returning the text to hand to Postgres. Two checks go beyond
 * the reference because Postgres would refuse the value anyway, and refusing it here keeps a
 * bad write from reaching the database: U+0000 in text (Postgres cannot store it) and a float8
 * that overflows or underflows 64 bits (`1e400`).
 */
import { decodeText } from "../../pgwire/mod.ts";
import type { PgType } from "../../schema/mod.ts";
import { byteaToHex } from "./bytea.ts";
import { checkTimestamptz, isValidDate, isValidTime, isValidTimestamp } from "./datetime.ts";

export type ValueCheck = { ok: true; text: string } | { ok: false; message: string };

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

const INT_RANGE: Record<string, [bigint, bigint]> = {
  int2: [-(2n ** 15n), 2n ** 15n - 1n],
  int4: [-(2n ** 31n), 2n ** 31n - 1n],
  int8: [-(2n ** 63n), 2n ** 63n - 1n],
};
const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SPECIAL_FLOATS: Record<string, string> = {
  inf: "Infinity",
  infinity: "Infinity",
  "-inf": "-Infinity",
  "-infinity": "-Infinity",
  nan: "NaN",
};

/**
 * `value` is the raw wire value: bytes for `bytea`, text (or its UTF-8 bytes) for the rest.
 * `enumLabels` must be given when `isEnum`.
 */
export function validateValue(
  type: PgType,
  isEnum: boolean,
  enumLabels: string[] | undefined,
  value: string | Uint8Array,
): ValueCheck {
  if (type.array.length > 0) return fail(`Unsupported type "${type.name}[]"`);
  if (type.name === "bytea") {
    return { ok: true, text: byteaToHex(typeof value === "string" ? utf8.encode(value) : value) };
  }
  const text = typeof value === "string" ? value : decodeUtf8(value);
  if (text === undefined) return fail(`Invalid ${type.name} value: not valid UTF-8`);
  if (isEnum) {
    return (enumLabels ?? []).includes(text)
      ? { ok: true, text }
      : fail(`Invalid ${type.name} value "${shown(text)}": not a label of the enum`);
  }
  return validateText(type.name, text);
}

function validateText(typeName: string, text: string): ValueCheck {
  const invalid = (detail = "malformed") =>
    fail(`Invalid ${typeName} value "${shown(text)}": ${detail}`);
  switch (typeName) {
    case "text":
    case "varchar":
    case "bpchar":
      return text.includes("\0") ? invalid("contains U+0000") : { ok: true, text };
    case "bool":
      return text === "t" || text === "f" ? { ok: true, text } : invalid();
    case "int2":
    case "int4":
    case "int8": {
      if (!INTEGER.test(text)) return invalid();
      const [min, max] = INT_RANGE[typeName];
      const n = BigInt(text);
      return n >= min && n <= max ? { ok: true, text } : invalid("out of range");
    }
    case "float4":
    case "float8":
      return validateFloat(typeName, text);
    case "uuid":
      return UUID.test(text) ? { ok: true, text: text.toLowerCase() } : invalid();
    case "date":
      return isValidDate(text) ? { ok: true, text } : invalid("not a calendar date");
    case "time":
      return isValidTime(text) ? { ok: true, text } : invalid("not a time of day");
    case "timestamp":
      return isValidTimestamp(text)
        ? { ok: true, text }
        : invalid("not a date-time without offset");
    case "timestamptz": {
      const check = checkTimestamptz(text);
      if (check === "ok") return { ok: true, text };
      if (check === "non_zero_offset") return invalid("offset is not zero");
      return invalid(check === "missing_offset" ? "no offset" : "malformed");
    }
    case "json":
    case "jsonb":
      try {
        JSON.parse(text);
        return { ok: true, text };
      } catch {
        return invalid("not JSON");
      }
    default:
      return fail(`Unsupported type "${typeName}"`);
  }
}

function validateFloat(typeName: "float4" | "float8", text: string): ValueCheck {
  const special = SPECIAL_FLOATS[text.toLowerCase()];
  if (special !== undefined) return { ok: true, text: special };
  const invalid = (detail: string) => fail(`Invalid ${typeName} value "${shown(text)}": ${detail}`);
  if (!DECIMAL.test(text)) return invalid("malformed");
  const n = Number(text);
  const stored = typeName === "float4" ? Math.fround(n) : n;
  if (!Number.isFinite(stored)) return invalid("out of range");
  const nonZero = /[1-9]/.test(text.replace(/[eE].*$/, ""));
  if (nonZero && stored === 0) return invalid("out of range");
  return { ok: true, text };
}

function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return decodeText(bytes, (b) => utf8Strict.decode(b));
  } catch {
    return undefined;
  }
}

// Values can be megabytes of JSON; a message needs only enough to recognise one.
function shown(text: string): string {
  return text.length <= 64 ? text : `${text.slice(0, 61)}...`;
}

function fail(message: string): ValueCheck {
  return { ok: false, message };
}
