/**
 * SQL literals for the `direct_writes` path (postgres-side.md §8.6), which sends client
 * changes as simple-protocol statements. Values are normally validated first, but the quoting
 * here is safe on its own: text that is not a plain number is always quoted.
 *
 * Every literal but NULL and booleans carries a cast so that enums, uuid and jsonb reach their
 * columns typed. The cast drops type modifiers on purpose: an explicit `::varchar(3)` would
 * silently truncate, whereas the column's own assignment check raises an error.
 */
import type { PgType } from "../schema/mod.ts";

const INTEGER = /^[+-]?\d+$/;
const FINITE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const BUILTIN_NAME = /^[a-z][a-z0-9_]*$/;

export function pgLiteral(type: PgType, value: string | null): string {
  if (value === null) return "NULL";
  const cast = `::${castType(type)}`;
  if (type.array.length === 0) {
    switch (type.name) {
      case "bool":
        if (value === "t" || value === "true") return "true";
        if (value === "f" || value === "false") return "false";
        break;
      // A signed number is always parenthesised so that no neighbouring `-` can turn its sign
      // into a `--` comment.
      case "int2":
      case "int4":
      case "int8":
        // The sign goes inside the cast: `-32768::int2` would cast 32768 first and overflow.
        if (INTEGER.test(value)) return signed(value) ? `(${value})${cast}` : value + cast;
        break;
      case "float4":
      case "float8":
        // The sign stays outside the cast: `-0::float8` negates a float and keeps the sign of
        // zero, whereas `(-0)::float8` would cast the integer 0.
        if (FINITE.test(value)) return signed(value) ? `(${value}${cast})` : value + cast;
        break;
    }
  }
  return quote(value) + cast;
}

/**
 * Like pgLiteral, but NULL carries the cast too: in a VALUES list read by a SELECT (rather than
 * inserted directly) a column of NULLs would otherwise be typed text.
 */
export function typedLiteral(type: PgType, value: string | null): string {
  return value === null ? `NULL::${castType(type)}` : pgLiteral(type, value);
}

function signed(value: string): boolean {
  return value.startsWith("-") || value.startsWith("+");
}

/**
 * A string constant. Backslashes switch to the `E''` form, whose meaning does not depend on
 * `standard_conforming_strings`; U+0000 cannot appear in a Postgres string and is refused by
 * validation before values get here.
 */
export function quote(text: string): string {
  const body = text.replaceAll("'", "''");
  return text.includes("\\") ? `E'${body.replaceAll("\\", "\\\\")}'` : `'${body}'`;
}

/** `int4`, `"public"."colour"`, `text[]`: the type name as SQL, without modifiers. */
export function castType(type: PgType): string {
  const dot = type.name.indexOf(".");
  const name = dot < 0
    ? BUILTIN_NAME.test(type.name) ? type.name : quoteIdent(type.name)
    : `${quoteIdent(type.name.slice(0, dot))}.${quoteIdent(type.name.slice(dot + 1))}`;
  return name + "[]".repeat(type.array.length);
}

/** A quoted identifier: `"name"`, inner quotes doubled. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
