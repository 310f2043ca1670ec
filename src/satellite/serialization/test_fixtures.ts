/** Tables and helpers shared by this folder's tests (not part of the public face). */
import type { ColumnModel, PgType, SchemaModel, TableModel } from "../../schema/mod.ts";

export const t = (name: string): PgType => ({ name, array: [], size: [] });

export const col = (name: string, type: string, notNull = false): ColumnModel => ({
  name,
  type: t(type),
  notNull,
});

export function table(
  name: string,
  columns: ColumnModel[],
  primaryKey: string[],
  oid = 16385,
): TableModel {
  return {
    schema: "public",
    name,
    oid,
    columns,
    primaryKey,
    primaryKeyName: `${name}_pkey`,
    foreignKeys: [],
    indexes: [],
  };
}

/** The worked example's table (satellite-protocol.md §10). */
export const ITEMS = table("items", [col("id", "text", true), col("value", "text")], ["id"]);

/** One column of every supported type, plus an enum. */
export const EVERYTHING = table(
  "everything",
  [
    col("id", "uuid", true),
    col("b", "bool"),
    col("i2", "int2"),
    col("i4", "int4"),
    col("i8", "int8"),
    col("f4", "float4"),
    col("f8", "float8"),
    col("s", "text"),
    col("v", "varchar"),
    col("d", "date"),
    col("tm", "time"),
    col("ts", "timestamp"),
    col("tz", "timestamptz"),
    col("j", "jsonb"),
    col("bin", "bytea"),
    col("colour", "public.colour"),
  ],
  ["id"],
  16400,
);

export const MODEL: SchemaModel = {
  version: "1",
  tables: [ITEMS, EVERYTHING],
  enums: [{ schema: "public", name: "colour", values: ["red", "green", "blue"] }],
};

export const hex = (bytes: Uint8Array): string =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");

export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
