/**
 * A validated client transaction as the write path applies it (postgres-side.md §8.3): every
 * change is later turned into two inserts, the row into the user table and the operation into
 * its shadow table. Values are Postgres text input forms (bytea as `\x` hex).
 */
import type { TableModel } from "../schema/mod.ts";

export type ClientChangeKind = "insert" | "update" | "delete" | "compensation";

export interface ClientChange {
  kind: ClientChangeKind;
  table: TableModel;
  /** Insert/update: the new row; delete: the old row; compensation: the primary key. */
  record: Record<string, string | null>;
  /** Non-key columns this change modified (all for inserts, none for deletes and compensations). */
  modified: ReadonlySet<string>;
  /** Columns the client sent; an omitted column is neither written nor modified. */
  present: ReadonlySet<string>;
  /** Tags the client had observed for the row, client form (`source@ms`). */
  observedTags: string[];
}

export interface ClientTransaction {
  clientId: string;
  /** The client's own LSN for this transaction (opaque bytes, stored for resend). */
  lsn: Uint8Array;
  /** The client's commit timestamp, ms since the Unix epoch: the tag of every change. */
  commitTimestampMs: bigint;
  changes: ClientChange[];
}
