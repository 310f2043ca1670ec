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
import { clientText } from "./client_text.ts";

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

/** One non-NULL value as the client reads it (conversions: client_text.ts). */
export function clientValue(column: ColumnModel, text: string): Uint8Array {
  const value = clientText(column, text);
  return typeof value === "string" ? utf8.encode(value) : value;
}
