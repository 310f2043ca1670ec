/**
 * Values of Prisma-mode answers on the wire (proxy-http-auth-config.md §3.10): the column types
 * the introspection queries return, their RowDescription entries, and each cell in the
 * format the Bind asked for — binary (what Prisma asks: bool one byte, integers big-endian,
 * text-like as UTF-8) or text. Also the one parameter shape Prisma binds: a one-dimensional
 * `name[]` array of schema names, in binary (or, for hand-written clients, text) format.
 * Pure: no I/O, no state.
 * https://www.postgresql.org/docs/current/protocol-message-formats.html (RowDescription)
 */
import { ByteReader, ByteWriter, type FieldDescription } from "../../pgwire/mod.ts";

/** Type OIDs of the introspection answers, with their `pg_type.typlen`. */
export const PG_TYPE = {
  bool: { oid: 16, size: 1 },
  char: { oid: 18, size: 1 }, // "char", one byte
  name: { oid: 19, size: 64 },
  int8: { oid: 20, size: 8 },
  int2: { oid: 21, size: 2 },
  int4: { oid: 23, size: 4 },
  text: { oid: 25, size: -1 },
  oid: { oid: 26, size: 4 },
  name_array: { oid: 1003, size: -1 },
  text_array: { oid: 1009, size: -1 },
  varchar: { oid: 1043, size: -1 },
} as const;

export type ColumnType = keyof typeof PG_TYPE;

/** One output column of a known query: its name and type. */
export interface Column {
  name: string;
  type: ColumnType;
}

/** A cell before encoding; `null` is SQL NULL. */
export type Cell = string | number | boolean | null;

/** RowDescription entries; `formats` as resolved for a portal (absent: text, as Describe S). */
export function fieldDescriptions(
  columns: readonly Column[],
  formats?: number[],
): FieldDescription[] {
  return columns.map((column, i) => ({
    name: column.name,
    tableOid: 0,
    columnNumber: 0,
    typeOid: PG_TYPE[column.type].oid,
    typeSize: PG_TYPE[column.type].size,
    typeModifier: -1,
    format: formats?.[i] ?? 0,
  }));
}

/**
 * The result format of each column from a Bind's format codes: none means all text, one
 * applies to every column, otherwise one per column.
 */
export function resultFormats(codes: number[], count: number): number[] {
  if (codes.length === 0) return new Array(count).fill(0);
  if (codes.length === 1) return new Array(count).fill(codes[0]);
  return Array.from({ length: count }, (_, i) => codes[i] ?? 0);
}

const encoder = new TextEncoder();

/** One cell as DataRow bytes (`null` for SQL NULL) in `format` (0 text, 1 binary). */
export function encodeCell(value: Cell, type: ColumnType, format: number): Uint8Array | null {
  if (value === null) return null;
  if (format === 0) return encoder.encode(textOf(value));
  switch (type) {
    case "bool":
      return new Uint8Array([value ? 1 : 0]);
    case "int2":
      return new ByteWriter().i16(Number(value)).finish();
    case "int4":
      return new ByteWriter().i32(Number(value)).finish();
    case "oid":
      return new ByteWriter().u32(Number(value)).finish();
    case "int8": {
      const bytes = new Uint8Array(8);
      new DataView(bytes.buffer).setBigInt64(0, BigInt(value));
      return bytes;
    }
    case "name_array":
    case "text_array":
      throw new Error(`Binary ${type} cells are not produced by any known query`);
    default:
      return encoder.encode(String(value));
  }
}

function textOf(value: string | number | boolean): string {
  if (typeof value === "boolean") return value ? "t" : "f";
  return String(value);
}

const decoder = new TextDecoder();

/**
 * The elements of a `name[]`/`text[]` parameter: binary (format 1: dimensions, null flag,
 * element type, then per dimension length and lower bound, then length-prefixed elements) or
 * text (`{public,"my schema"}`). Undefined when the bytes are not such an array.
 */
export function decodeNameArray(bytes: Uint8Array, format: number): string[] | undefined {
  return format === 1 ? decodeBinaryArray(bytes) : decodeTextArray(decoder.decode(bytes));
}

function decodeBinaryArray(bytes: Uint8Array): string[] | undefined {
  try {
    const r = new ByteReader(bytes);
    const dimensions = r.i32();
    r.i32(); // has nulls
    r.u32(); // element type
    if (dimensions === 0) return [];
    if (dimensions !== 1) return undefined;
    const length = r.i32();
    r.i32(); // lower bound
    const out: string[] = [];
    for (let i = 0; i < length; i++) {
      const n = r.i32();
      if (n >= 0) out.push(decoder.decode(r.bytesOf(n)));
    }
    return out;
  } catch {
    return undefined;
  }
}

function decodeTextArray(text: string): string[] | undefined {
  const trimmed = text.trim();
  if (!trimmed.startsWith("{") || !trimmed.endsWith("}")) return undefined;
  const body = trimmed.slice(1, -1);
  if (body.trim() === "") return [];
  const out: string[] = [];
  let i = 0;
  while (i <= body.length) {
    let item = "";
    if (body[i] === '"') {
      i++;
      while (i < body.length && body[i] !== '"') {
        if (body[i] === "\\") i++;
        item += body[i++] ?? "";
      }
      i++; // closing quote
      while (i < body.length && body[i] !== ",") i++;
    } else {
      const end = body.indexOf(",", i);
      item = body.slice(i, end < 0 ? body.length : end).trim();
      i = end < 0 ? body.length : end;
      if (item.toUpperCase() === "NULL") item = "";
    }
    if (item !== "") out.push(item);
    i++;
  }
  return out;
}

/** A single `name` parameter (the schema-exists query): the same bytes in either format. */
export function decodeName(bytes: Uint8Array | null): string | undefined {
  return bytes === null ? undefined : decoder.decode(bytes);
}

/** A binary one-dimensional `name[]` of `names`, as Prisma binds it (for tests and tools). */
export function encodeNameArray(names: string[]): Uint8Array {
  const w = new ByteWriter().i32(names.length === 0 ? 0 : 1).i32(0).u32(PG_TYPE.name.oid);
  if (names.length > 0) w.i32(names.length).i32(1);
  for (const name of names) {
    const bytes = encoder.encode(name);
    w.i32(bytes.length).raw(bytes);
  }
  return w.finish();
}
