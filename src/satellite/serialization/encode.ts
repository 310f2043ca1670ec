/**
 * Server-to-client rows (satellite-protocol.md §5, postgres-side.md §6.3): Postgres text
 * output becomes one `SatOpRow` value per column in table order. Postgres already prints what
 * the client expects for almost every type under the session settings of `PgRecord`; the
 * exceptions are the zero offset of `timestamptz` (`Z`), `bytea` (raw bytes) and spellings that
 * a non-replication query could produce (`true`, upper-case uuids).
 */
import { create } from "@bufbuild/protobuf";
import { type SatOpRow, SatOpRowSchema } from "../../gen/mod.ts";
import type { ColumnModel, TableModel } from "../../schema/mod.ts";
import { nullsBitmask } from "./bitmask.ts";
import { byteaFromText } from "./bytea.ts";

/** Column name -> Postgres text output (bytea as `\x` hex), NULL as null. */
export type PgRecord = Record<string, string | null>;

const utf8 = new TextEncoder();
const EMPTY = new Uint8Array(0);

/** A full row; a column missing from `record` is sent as NULL. */
export function encodeRow(table: TableModel, record: PgRecord): SatOpRow {
  return rowOf(table.columns, (c) => record[c.name] ?? null);
}

/** The `pk_data` of a `SatOpGone`: full width, primary-key values only, everything else NULL. */
export function encodePkRow(table: TableModel, record: PgRecord): SatOpRow {
  const pk = new Set(table.primaryKey);
  return rowOf(table.columns, (c) => pk.has(c.name) ? record[c.name] ?? null : null);
}

function rowOf(columns: ColumnModel[], valueOf: (c: ColumnModel) => string | null): SatOpRow {
  const texts = columns.map(valueOf);
  return create(SatOpRowSchema, {
    nullsBitmask: nullsBitmask(texts.map((t) => t === null)),
    values: texts.map((t, i) => t === null ? EMPTY : clientValue(columns[i], t)),
  });
}

/** One non-NULL value as the client reads it. */
export function clientValue(column: ColumnModel, text: string): Uint8Array {
  switch (column.type.array.length > 0 ? "" : column.type.name) {
    case "bytea":
      // Text that is not bytea output cannot come from Postgres; sending it unchanged keeps
      // the row deliverable instead of failing the whole transaction.
      return byteaFromText(text) ?? utf8.encode(text);
    case "timestamptz":
      return utf8.encode(zuluOffset(text));
    case "bool":
      return utf8.encode(text === "true" ? "t" : text === "false" ? "f" : text);
    case "uuid":
      return utf8.encode(text.toLowerCase());
    default:
      return utf8.encode(text);
  }
}

/** `2023-08-14 10:01:28.848242+00` -> `2023-08-14 10:01:28.848242Z` (also `+00:00`). */
function zuluOffset(text: string): string {
  const m = /^(.*\d)[+-]00(?::?00)?$/.exec(text);
  return m ? `${m[1]}Z` : text;
}
