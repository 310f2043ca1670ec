/**
 * Column types: canonical names, which types Electric accepts (postgres-side.md §6.1) and
 * their SQLite affinity (§5.2). Types arrive in two shapes: parser `TypeName` nodes (DDL) and
 * `format_type` text (catalog queries during electrification); both end up as a `PgType`.
 */
import type { Node, TypeName } from "@pgsql/types";
import type { PgType } from "./model.ts";

/** Spellings of built-in types (lower case, words joined by one space) to canonical names. */
const CANONICAL: Record<string, string> = {
  smallint: "int2",
  int2: "int2",
  integer: "int4",
  int: "int4",
  int4: "int4",
  bigint: "int8",
  int8: "int8",
  real: "float4",
  float4: "float4",
  "double precision": "float8",
  float: "float8",
  float8: "float8",
  boolean: "bool",
  bool: "bool",
  text: "text",
  "character varying": "varchar",
  varchar: "varchar",
  character: "bpchar",
  char: "bpchar",
  bpchar: "bpchar",
  uuid: "uuid",
  date: "date",
  time: "time",
  "time without time zone": "time",
  "time with time zone": "timetz",
  timetz: "timetz",
  timestamp: "timestamp",
  "timestamp without time zone": "timestamp",
  "timestamp with time zone": "timestamptz",
  timestamptz: "timestamptz",
  json: "json",
  jsonb: "jsonb",
  bytea: "bytea",
  numeric: "numeric",
  decimal: "numeric",
  money: "money",
  interval: "interval",
  smallserial: "int2",
  serial2: "int2",
  serial: "int4",
  serial4: "int4",
  bigserial: "int8",
  serial8: "int8",
};

/** The names of built-in types this module knows; anything else may be an enum. */
export const BUILTIN_TYPES: ReadonlySet<string> = new Set(Object.values(CANONICAL));

/** Electric 0.12 accepts exactly these, unsized and not as arrays (§6.1), plus enums. */
const SUPPORTED: ReadonlySet<string> = new Set([
  "int2",
  "int4",
  "int8",
  "float4",
  "float8",
  "text",
  "varchar",
  "bool",
  "uuid",
  "date",
  "time",
  "timestamp",
  "timestamptz",
  "jsonb",
  "bytea",
]);

// `serial` is canonically an integer (its sequence default is what electrification rejects),
// but the proxy must reject the spelling itself, so these names stay visible to checks.
const SERIAL_NAMES: ReadonlySet<string> = new Set([
  "smallserial",
  "serial2",
  "serial",
  "serial4",
  "bigserial",
  "serial8",
]);

const ENUM_LABEL = /^[a-z][a-z_0-9]*$/i;

export type ColumnTypeCheck =
  | { ok: true; type: PgType }
  | { ok: false; code: "UNSUPPORTED_TYPE"; formatted: string };

/** `varchar(255)`, `int4[]`, `public.colour`: the short form used in error messages. */
export function formatPgType(type: PgType): string {
  const size = type.size.length > 0 ? `(${type.size.join(",")})` : "";
  return `${type.name}${size}${"[]".repeat(type.array.length)}`;
}

/**
 * Whether a column of this type can be electrified. `typeName` is `format_type` text
 * (`character varying(10)`, `timestamp(3) without time zone`, `integer[]`) or a canonical
 * short form (`varchar(10)`, `int4[]`). `enumLabels` is given when the name is an enum type;
 * then the type is accepted when every label is a plain identifier, and `formatted` of a
 * refusal carries the offending labels as the electrify error lists them.
 */
export function checkColumnType(typeName: string, enumLabels?: string[]): ColumnTypeCheck {
  const parsed = parseTypeText(typeName);
  if (!parsed) return { ok: false, code: "UNSUPPORTED_TYPE", formatted: typeName.trim() };
  if (enumLabels !== undefined) return checkEnum(typeName.trim(), parsed, enumLabels);
  const { type, spelling } = parsed;
  if (
    SUPPORTED.has(type.name) && !SERIAL_NAMES.has(spelling) && type.array.length === 0 &&
    type.size.length === 0
  ) {
    return { ok: true, type };
  }
  const shown = SERIAL_NAMES.has(spelling) ? { ...type, name: spelling } : type;
  return { ok: false, code: "UNSUPPORTED_TYPE", formatted: formatPgType(shown) };
}

function checkEnum(
  text: string,
  parsed: { type: PgType; qualified: boolean },
  labels: string[],
): ColumnTypeCheck {
  const type = {
    ...parsed.type,
    name: parsed.qualified ? parsed.type.name : `public.${parsed.type.name}`,
  };
  if (type.array.length > 0 || type.size.length > 0) {
    return { ok: false, code: "UNSUPPORTED_TYPE", formatted: formatPgType(parsed.type) };
  }
  const bad = labels.filter((l) => !ENUM_LABEL.test(l));
  if (bad.length === 0) return { ok: true, type };
  const values = bad.map((l) => `'${l.replaceAll("'", "''")}'`).join(", ");
  return {
    ok: false,
    code: "UNSUPPORTED_TYPE",
    formatted: `${text} (enum type ${text} contains unsupported values ${values})`,
  };
}

/** The SQLite column type of §5.2. */
export function sqliteTypeFor(type: PgType, isEnum: boolean): string {
  if (type.array.length > 0) return "TEXT_JSON";
  if (isEnum) return "TEXT";
  switch (type.name) {
    case "int2":
    case "int4":
    case "int8":
    case "bool":
      return "INTEGER";
    case "float4":
    case "float8":
    case "numeric":
    case "money":
      return "REAL";
    case "varchar":
    case "bpchar":
    case "char":
      return type.size.length > 0 ? `TEXT(${type.size[0]})` : "TEXT";
    case "bytea":
      return "BLOB";
    case "json":
    case "jsonb":
      return "TEXT_JSON";
    default:
      return "TEXT";
  }
}

/**
 * A parser `TypeName` as a `PgType`, plus the spelling (the unaliased last name) so callers
 * can tell `serial` from `integer`. Qualified non-catalog names keep their schema.
 */
export function pgTypeFromAst(node: TypeName): { type: PgType; spelling: string } {
  const names = (node.names ?? []).map(stringValue);
  const [schema, last] = names.length > 1 ? [names[0], names[names.length - 1]] : [
    undefined,
    names[0] ?? "",
  ];
  const catalog = schema === undefined || schema === "pg_catalog";
  const name = catalog ? CANONICAL[last] ?? last : `${schema}.${last}`;
  const size = (node.typmods ?? []).flatMap(intConst);
  const array = (node.arrayBounds ?? []).map((b) => "Integer" in b ? (b.Integer.ival ?? 0) : -1);
  return { type: { name, array, size }, spelling: last };
}

function stringValue(n: Node): string {
  return "String" in n ? n.String.sval ?? "" : "";
}

function intConst(n: Node): number[] {
  if (!("A_Const" in n)) return [];
  const c = n.A_Const;
  return "ival" in c ? [c.ival?.ival ?? 0] : [];
}

interface ParsedText {
  type: PgType;
  spelling: string;
  qualified: boolean;
}

const TOKEN = /\s*("(?:[^"]|"")*"|[A-Za-z_][A-Za-z0-9_$]*|-?\d+|[().,[\]])/y;

function tokenize(text: string): string[] | undefined {
  const tokens: string[] = [];
  let at = 0;
  TOKEN.lastIndex = 0;
  for (let m = TOKEN.exec(text); m; m = TOKEN.exec(text)) {
    tokens.push(m[1]);
    at = TOKEN.lastIndex;
  }
  return text.slice(at).trim() === "" ? tokens : undefined;
}

/** `format_type`-style text as a type; undefined when it is not a type name at all. */
export function parseTypeText(text: string): ParsedText | undefined {
  const tokens = tokenize(text);
  if (!tokens || tokens.length === 0) return undefined;
  const parts: { words: string[]; quoted: boolean }[] = [{ words: [], quoted: false }];
  const size: number[] = [];
  const array: number[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    const part = parts[parts.length - 1];
    if (t === ".") parts.push({ words: [], quoted: false });
    else if (t === "(") {
      for (i++; i < tokens.length && tokens[i] !== ")"; i++) {
        if (/^-?\d+$/.test(tokens[i])) size.push(Number(tokens[i]));
      }
    } else if (t === "[") {
      const n = tokens[i + 1];
      const sized = n !== undefined && /^\d+$/.test(n);
      array.push(sized ? Number(n) : -1);
      i += sized ? 2 : 1;
    } else if (t.startsWith('"')) {
      part.words.push(t.slice(1, -1).replaceAll('""', '"'));
      part.quoted = true;
    } else if (/^[A-Za-z_]/.test(t)) part.words.push(t.toLowerCase());
    else return undefined;
  }
  if (parts.some((p) => p.words.length === 0)) return undefined;
  const last = parts[parts.length - 1];
  const lastName = last.words.join(" ");
  const schema = parts.length > 1 ? parts[parts.length - 2].words.join(" ") : undefined;
  const catalog = schema === undefined || schema === "pg_catalog";
  const name = !catalog
    ? `${schema}.${lastName}`
    : last.quoted
    ? lastName
    : CANONICAL[lastName] ?? lastName;
  return { type: { name, array, size }, spelling: lastName, qualified: !catalog };
}
