/**
 * The columns of a client change as every form of it needs them (the set-based statements,
 * the two-insert protocol, the rows the publisher streams): the key columns in key order, the
 * other columns in table order (the order of `_modified_columns_bit_mask`), and which of
 * those the change modified.
 */
import type { ColumnModel, TableModel } from "../schema/mod.ts";
import type { ClientChange } from "./client_transaction.ts";

export function keyColumns(table: TableModel): ColumnModel[] {
  return table.primaryKey.map((name) => table.columns.find((c) => c.name === name)!);
}

export function valueColumns(table: TableModel): ColumnModel[] {
  return table.columns.filter((column) => !table.primaryKey.includes(column.name));
}

/** One flag per non-key column: modified by an insert or update (deletes and compensations modify none). */
export function modifiedMask(change: ClientChange): boolean[] {
  const modifies = change.kind !== "delete" && change.kind !== "compensation";
  return valueColumns(change.table).map((column) => modifies && change.modified.has(column.name));
}

/** The mask as a Postgres boolean[] literal's text, e.g. `{t,f}`. */
export function maskText(mask: readonly boolean[]): string {
  return `{${mask.map((m) => (m ? "t" : "f")).join(",")}}`;
}
