/**
 * Client-to-server rows (satellite-protocol.md §4.3, §5, §6): a `SatOpRow` laid out in the
 * client's announced column order becomes a `PgRecord` keyed by column name, every value
 * validated against the server's schema. Columns are matched by name only: a client that has
 * not yet applied an ADD COLUMN sends fewer columns, and its order need not be the server's.
 */
import type { SatOpRow } from "../../gen/mod.ts";
import type { SchemaModel, TableModel } from "../../schema/mod.ts";
import { isNullAt } from "./bitmask.ts";
import type { PgRecord } from "./encode.ts";
import type { ClientRelation } from "./relation.ts";
import { validateValue } from "./validate.ts";

export type RowDecodeError = {
  code: "UNKNOWN_COLUMN" | "WRONG_VALUE_COUNT" | "NULL_IN_NOT_NULL" | "INVALID_VALUE";
  table: string;
  column?: string;
  message: string;
};

export type RowDecodeResult =
  | { ok: true; record: PgRecord; present: Set<string> }
  | { ok: false; error: RowDecodeError };

export interface RowDecodeOptions {
  /** Compensations carry only the primary key: NULL is then allowed in NOT NULL columns. */
  allowNullsInNotNull?: boolean;
}

export function decodeClientRow(
  table: TableModel,
  relation: ClientRelation,
  row: SatOpRow,
  model: SchemaModel,
  options: RowDecodeOptions = {},
): RowDecodeResult {
  const fail = (code: RowDecodeError["code"], message: string, column?: string) => ({
    ok: false as const,
    error: { code, table: table.name, message, ...(column === undefined ? {} : { column }) },
  });
  const announced = relation.columns.length;
  if (row.values.length !== announced) {
    return fail(
      "WRONG_VALUE_COUNT",
      `Wrong number of values for table "${table.name}": ${row.values.length} values for ${announced} columns`,
    );
  }
  const record: PgRecord = {};
  const present = new Set<string>();
  for (const [i, { name }] of relation.columns.entries()) {
    const column = table.columns.find((c) => c.name === name);
    if (column === undefined) {
      return fail("UNKNOWN_COLUMN", `Unknown column "${name}" in table "${table.name}"`, name);
    }
    if (present.has(name)) {
      return fail("WRONG_VALUE_COUNT", `Column "${name}" announced twice`, name);
    }
    present.add(name);
    if (isNullAt(row.nullsBitmask, i)) {
      if (column.notNull && !options.allowNullsInNotNull) {
        return fail("NULL_IN_NOT_NULL", `NULL in NOT NULL column "${name}"`, name);
      }
      record[name] = null;
      continue;
    }
    const enumType = model.enums.find((e) => `${e.schema}.${e.name}` === column.type.name);
    const checked = validateValue(
      column.type,
      enumType !== undefined,
      enumType?.values,
      row.values[i],
    );
    if (!checked.ok) return fail("INVALID_VALUE", `${checked.message} (column "${name}")`, name);
    record[name] = checked.text;
  }
  return { ok: true, record, present };
}
