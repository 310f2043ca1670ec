/**
 * How Postgres's catalog describes a column of the electrified schema, as the introspection
 * queries read it (proxy-http-auth-config.md §3.10): `format_type(…)`, and the
 * `information_schema.columns` fields `data_type`, `udt_name`, precisions and lengths. Where
 * the spec says "otherwise the type name" this follows what Postgres itself answers
 * (`boolean`, `double precision`, `USER-DEFINED` for an enum), since Prisma reads these
 * fields as Postgres fills them. Pure.
 */
import type { PgType } from "../../schema/mod.ts";

/** SQL-standard spellings, as `format_type` and `information_schema` give them. */
const STANDARD_NAMES: Record<string, string> = {
  int2: "smallint",
  int4: "integer",
  int8: "bigint",
  float4: "real",
  float8: "double precision",
  bool: "boolean",
  varchar: "character varying",
  bpchar: "character",
  timestamp: "timestamp without time zone",
  timestamptz: "timestamp with time zone",
  time: "time without time zone",
  timetz: "time with time zone",
};

const TIME_TYPES = new Set(["timestamp", "timestamptz", "time", "timetz"]);
const TEXT_LIKE = new Set(["text", "varchar", "bpchar"]);
const INTEGER_BITS: Record<string, number> = { int2: 16, int4: 32, int8: 64 };

/** An enum's type name is schema-qualified in the model (`public.colour`). */
export function enumName(type: PgType): string | undefined {
  const dot = type.name.indexOf(".");
  return dot < 0 ? undefined : type.name.slice(dot + 1);
}

function enumSchema(type: PgType): string | undefined {
  const dot = type.name.indexOf(".");
  return dot < 0 ? undefined : type.name.slice(0, dot);
}

/** `format_type(atttypid, atttypmod)`: `character varying(10)`, `timestamp(3) with time zone`. */
export function formattedType(type: PgType): string {
  const dims = "[]".repeat(type.array.length);
  const enumType = enumName(type);
  if (enumType !== undefined) return enumType + dims;
  const sizes = type.size.length > 0 ? `(${type.size.join(",")})` : "";
  const standard = STANDARD_NAMES[type.name];
  if (standard === undefined) return type.name + sizes + dims;
  if (INTEGER_BITS[type.name] !== undefined) return standard + dims;
  // `timestamp(3) with time zone`: the precision goes after the first word.
  const space = standard.indexOf(" ");
  if (sizes === "" || space < 0 || !TIME_TYPES.has(type.name)) return standard + sizes + dims;
  return standard.slice(0, space) + sizes + standard.slice(space) + dims;
}

/** `information_schema.columns.data_type`. */
export function dataType(type: PgType): string {
  if (type.array.length > 0) return "ARRAY";
  if (enumName(type) !== undefined) return "USER-DEFINED";
  return STANDARD_NAMES[type.name] ?? type.name;
}

/** `udt_name`: the type's own name, `_`-prefixed for arrays. */
export function fullDataType(type: PgType): string {
  const name = enumName(type) ?? type.name;
  return type.array.length > 0 ? `_${name}` : name;
}

/** `udt_schema` (5.2 form): the enum's schema, else `pg_catalog`. */
export function typeSchema(type: PgType): string {
  return enumSchema(type) ?? "pg_catalog";
}

/** (`numeric_precision`, `numeric_scale`, `numeric_precision_radix`). */
export function numericPrecision(type: PgType): [number | null, number | null, number | null] {
  if (type.array.length > 0) return [null, null, null];
  if (type.name === "numeric") {
    return type.size.length > 0 ? [type.size[0], type.size[1] ?? 0, 10] : [null, null, 10];
  }
  const bits = INTEGER_BITS[type.name];
  return bits === undefined ? [null, null, null] : [bits, 0, 2];
}

/** `datetime_precision`: declared, or 6 for time and timestamp types (0 for `date`). */
export function datetimePrecision(type: PgType): number | null {
  if (type.array.length > 0) return null;
  if (type.name === "date") return 0;
  return TIME_TYPES.has(type.name) ? type.size[0] ?? 6 : null;
}

/** `character_maximum_length`: the declared length of a text-like type. */
export function characterMaximumLength(type: PgType): number | null {
  if (type.array.length > 0 || !TEXT_LIKE.has(type.name)) return null;
  return type.size[0] ?? null;
}

/** The default btree operator class of a column's type (`text_ops` for text-like types). */
export function opclass(type: PgType): string {
  if (type.array.length > 0) return "array_ops";
  if (enumName(type) !== undefined) return "enum_ops";
  if (TEXT_LIKE.has(type.name)) return "text_ops";
  return `${type.name}_ops`;
}
