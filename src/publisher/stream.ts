/**
 * Client transactions as a logical replication stream (postgres-side.md §8.7): per
 * transaction Begin, a Relation for every relation this session has not described yet (or
 * whose definition changed), one Insert per row, Commit — each inside XLogData, with
 * synthetic LSNs spaced by 10. Pure: LSN assignment and encoding only.
 */
import {
  dateToPgTimestamp,
  encodePgoutput,
  encodeReplicationMessage,
  type PgoutputMessage,
  type Relation,
} from "../pgwire/mod.ts";
import { findPublishedTable, type PublishedTable } from "./catalog.ts";

/**
 * A full row insert with text values (Postgres text input form; bytea as `\x` hex), every
 * column of the table named (NULL where absent; a column left out is sent as NULL too).
 */
export interface PublishedChange {
  table: { schema: string; name: string };
  values: Record<string, string | null>;
}

/**
 * One client transaction, already expanded: the `acknowledged_client_lsns` row first, then
 * per client change the user-table row and then the shadow row.
 */
export interface PublishedTransaction {
  commitTimestamp: Date;
  changes: PublishedChange[];
}

/** A transaction with its place in the stream. Row i sits at `firstLsn + 10·i`. */
export interface SentTransaction {
  transaction: PublishedTransaction;
  /** Begin's XLogData start and end; also the first row's LSN. */
  firstLsn: bigint;
  /** Begin's final LSN and Commit's commit LSN: the LSN after the last row. */
  finalLsn: bigint;
  /** Commit's end LSN: the stream position once the transaction is sent. */
  endLsn: bigint;
}

export const LSN_STEP = 10n;

/** Places `transaction` after `position` (the end LSN of the last transaction sent). */
export function assignLsns(transaction: PublishedTransaction, position: bigint): SentTransaction {
  const firstLsn = position + LSN_STEP;
  const finalLsn = firstLsn + LSN_STEP * BigInt(transaction.changes.length);
  return { transaction, firstLsn, finalLsn, endLsn: finalLsn + LSN_STEP };
}

/** Every column flagged as key (1), replica identity full, as the reference describes them. */
export function relationFor(table: PublishedTable): Relation {
  return {
    tag: "relation",
    relationId: table.oid,
    namespace: table.schema,
    name: table.name,
    replicaIdentity: "f",
    columns: table.columns.map((c) => ({
      flags: 1,
      name: c.name,
      typeOid: c.typeOid,
      typeModifier: c.typeModifier,
    })),
  };
}

/** Changes when anything in the Relation message would change. */
export function relationSignature(table: PublishedTable): string {
  return JSON.stringify(relationFor(table));
}

export type EncodeTransactionResult =
  | {
    ok: true;
    /** CopyData payloads (XLogData), in order. */
    payloads: Uint8Array[];
    /** Relations described on the session, including the ones this transaction added. */
    described: ReadonlyMap<number, string>;
  }
  | { ok: false; error: { code: "UNKNOWN_TABLE" | "UNKNOWN_COLUMN"; message: string } };

/** The CopyData payloads of one transaction; `now` is the send time (µs since 2000-01-01). */
export function encodeTransaction(
  sent: SentTransaction,
  context: {
    tables: readonly PublishedTable[];
    described: ReadonlyMap<number, string>;
    now: bigint;
  },
): EncodeTransactionResult {
  const { transaction, firstLsn, finalLsn, endLsn } = sent;
  const commitTime = dateToPgTimestamp(transaction.commitTimestamp);
  const described = new Map(context.described);
  const xlog = (lsn: bigint, message: PgoutputMessage, walEnd = lsn) =>
    encodeReplicationMessage({
      tag: "xlog_data",
      walStart: lsn,
      walEnd,
      serverTime: context.now,
      data: encodePgoutput(message),
    });
  const payloads = [xlog(firstLsn, { tag: "begin", finalLsn, commitTime, xid: 0 })];
  for (const [i, change] of transaction.changes.entries()) {
    const { schema, name } = change.table;
    const table = findPublishedTable(context.tables, schema, name);
    if (table === undefined) {
      return {
        ok: false,
        error: { code: "UNKNOWN_TABLE", message: `Table "${schema}.${name}" is not published` },
      };
    }
    const unknown = Object.keys(change.values).find((key) =>
      !table.columns.some((c) => c.name === key)
    );
    if (unknown !== undefined) {
      return {
        ok: false,
        error: {
          code: "UNKNOWN_COLUMN",
          message: `Column "${unknown}" is not published for table "${schema}.${name}"`,
        },
      };
    }
    const signature = relationSignature(table);
    if (described.get(table.oid) !== signature) {
      payloads.push(xlog(0n, relationFor(table)));
      described.set(table.oid, signature);
    }
    payloads.push(xlog(firstLsn + LSN_STEP * BigInt(i), {
      tag: "insert",
      relationId: table.oid,
      newTuple: table.columns.map((c) => change.values[c.name] ?? null),
    }));
  }
  // The Commit's XLogData ends at the end LSN, so the subscriber's received position matches
  // the position later keepalives report.
  payloads.push(
    xlog(finalLsn, { tag: "commit", flags: 0, commitLsn: finalLsn, endLsn, commitTime }, endLsn),
  );
  return { ok: true, payloads, described };
}

/** Whether every table and column `transaction` names is in `tables` (else refresh first). */
export function describable(
  transaction: PublishedTransaction,
  tables: readonly PublishedTable[],
): boolean {
  return transaction.changes.every((change) => {
    const table = findPublishedTable(tables, change.table.schema, change.table.name);
    return table !== undefined &&
      Object.keys(change.values).every((key) => table.columns.some((c) => c.name === key));
  });
}
