/**
 * Row identity: a table and its primary-key values. Keys are strings so they can index maps
 * and survive a JSON round trip.
 */
import type { TableModel } from "../schema/mod.ts";

export type RowKey = string;

export function tableKey(table: { schema: string; name: string }): string {
  return `${table.schema}.${table.name}`;
}

export function rowKey(
  table: { schema: string; name: string },
  columns: readonly string[],
  record: Record<string, string | null | undefined>,
): RowKey {
  return `${tableKey(table)}${JSON.stringify(columns.map((c) => record[c] ?? null))}`;
}

export function primaryKeyKey(
  table: TableModel,
  record: Record<string, string | null | undefined>,
): RowKey {
  return rowKey(table, table.primaryKey, record);
}

/** The primary-key columns of a record (what `gone` carries). */
export function primaryKeyRecord(
  table: TableModel,
  record: Record<string, string | null>,
): Record<string, string | null> {
  return Object.fromEntries(table.primaryKey.map((c) => [c, record[c] ?? null]));
}

/** The primary key record a key was made from (`key` must be a key of `table`). */
export function keyRecord(table: TableModel, key: RowKey): Record<string, string | null> {
  const values = JSON.parse(key.slice(tableKey(table).length)) as (string | null)[];
  return Object.fromEntries(table.primaryKey.map((c, i) => [c, values[i] ?? null]));
}

/** Whether `key` is a key of `table`. */
export function isKeyOf(table: { schema: string; name: string }, key: RowKey): boolean {
  const prefix = tableKey(table);
  return key.length > prefix.length && key.startsWith(prefix) && key[prefix.length] === "[";
}
