/**
 * The transaction model everything downstream of replication reads: one committed Postgres
 * transaction with its row changes already enriched with tags (§7.3 of postgres-side.md).
 * Values are Postgres's text output; NULL is `null`.
 */

export interface ColumnRef {
  name: string;
  typeOid: number;
  typeModifier: number;
}

/** A relation as pgoutput described it; `oid` is the real table OID. */
export interface RelationRef {
  schema: string;
  table: string;
  oid: number;
  columns: ColumnRef[];
}

/** Column name → text value or NULL. */
export type Row = Record<string, string | null>;

export type RowChange = {
  kind: "insert" | "update" | "delete";
  relation: RelationRef;
  /** The new row (insert, update). */
  record?: Row;
  /** The old row (update, delete): complete with REPLICA IDENTITY FULL, else the key only. */
  oldRecord?: Row;
  /** Tags in client form (`source@unixms`); always empty for deletes. */
  tags: string[];
};

export type TruncateChange = { kind: "truncate"; relations: RelationRef[] };

export type Change = RowChange | TruncateChange;

/** A row the transaction did not write but references (an `electric.fk_chain_touch` message). */
export interface ReferencedRecord {
  schema: string;
  table: string;
  record: Row;
  /** Primary key values as text, in key order. */
  pk: string[];
  /** Client form. */
  tags: string[];
}

export interface Transaction {
  xid: number;
  /** The commit's END lsn: the transaction's position in the stream. */
  lsn: bigint;
  commitTimestamp: Date;
  /** `postgres_1` for Postgres writes, else the client id taken from the shadow `_tag`. */
  origin: string;
  changes: Change[];
  referencedRecords: ReferencedRecord[];
  /** Approximate encoded size in bytes; what the transaction cache is bounded by. */
  byteSize: number;
}

/** A deterministic size estimate of a transaction (keys, values and tags; not JS heap size). */
export function estimateByteSize(
  tx: Pick<Transaction, "changes" | "referencedRecords">,
): number {
  let size = 64;
  const row = (r: Row | undefined) => {
    if (!r) return;
    for (const key in r) size += key.length + (r[key]?.length ?? 0) + 8;
  };
  for (const change of tx.changes) {
    size += 32;
    if (change.kind === "truncate") {
      for (const relation of change.relations) {
        size += relation.schema.length + relation.table.length;
      }
      continue;
    }
    size += change.relation.schema.length + change.relation.table.length;
    row(change.record);
    row(change.oldRecord);
    for (const tag of change.tags) size += tag.length + 4;
  }
  for (const ref of tx.referencedRecords) {
    size += 32 + ref.schema.length + ref.table.length;
    row(ref.record);
    for (const value of ref.pk) size += value.length + 4;
    for (const tag of ref.tags) size += tag.length + 4;
  }
  return size;
}
