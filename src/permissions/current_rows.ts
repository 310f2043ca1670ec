/**
 * The scope a client write starts from is the one Postgres holds, not the one the client says:
 * before a client transaction is accepted, the rows it updates, deletes or inserts over are
 * read from Postgres (their scope columns only; one query per table per transaction) and every
 * write is checked against them (`writeRefusal`). A client sending a forged old row gains
 * nothing.
 *
 * The read happens before the transaction is handed to the writer, so it is the same for both
 * write modes. What it cannot see is a row another writer changes between the read and the
 * write; the client's own earlier transactions were checked when they were sent.
 */
import type { Row } from "../replication/mod.ts";
import { quoteIdent, type TableModel } from "../schema/mod.ts";
import type { Sql } from "../storage/mod.ts";
import {
  type AccessContext,
  type RowWrite,
  type UserRole,
  writeRefusal,
  writeScopeColumns,
} from "./access.ts";
import { castType } from "./paths.ts";
import { governed, type PermissionRules, type Privilege } from "./rules.ts";

/** Reads the rows of `table` keyed like `records` (columns `columns`, as text), in order. */
export type CurrentRowsReader = (
  table: TableModel,
  columns: string[],
  records: readonly Record<string, string | null>[],
) => Promise<(Row | null)[]>;

/** Why the user may not make the transaction `writes`, or undefined when every write is allowed. */
export async function transactionRefusal(
  user: { rules: PermissionRules; roles: readonly UserRole[]; context: AccessContext },
  writes: readonly RowWrite[],
  read: CurrentRowsReader,
): Promise<string | undefined> {
  const { rules, roles, context } = user;
  // Anything refused on what the client sent is refused without asking Postgres.
  for (const write of writes) {
    const refused = writeRefusal(rules, roles, write, context);
    if (refused) return refused;
  }
  const byTable = new Map<TableModel, RowWrite[]>();
  for (const write of writes) {
    if (!governed(rules, write.table)) continue;
    const list = byTable.get(write.table);
    if (list) list.push(write);
    else byTable.set(write.table, [write]);
  }
  for (const [table, list] of byTable) {
    const privileges = new Set<Privilege>(list.map((w) => w.privilege));
    const columns = writeScopeColumns(rules, table, privileges, context);
    if (columns.length === 0) continue;
    const current = await read(table, columns, list.map((w) => w.record));
    for (const [i, write] of list.entries()) {
      const refused = writeRefusal(rules, roles, { ...write, current: current[i] }, context);
      if (refused) return refused;
    }
  }
  return undefined;
}

/**
 * The query reading `columns` of the rows of `table` with the given primary keys: one text
 * array parameter per key column, the keys cast to the columns' types (the client's spelling
 * of a key does not matter), and `i`, the 1-based position of the key asked for.
 */
export function currentRowsQuery(table: TableModel, columns: readonly string[]): string {
  const keys = table.primaryKey;
  const types = keys.map((k) => table.columns.find((c) => c.name === k)?.type);
  if (types.some((t) => t === undefined)) {
    throw new Error(`Primary key of ${table.schema}.${table.name} not in the schema`);
  }
  const on = keys.map((k, j) => `t.${quoteIdent(k)} = CAST(k.k${j} AS ${castType(types[j]!)})`);
  const selected = columns.map((c) => `t.${quoteIdent(c)}::text AS ${quoteIdent(c)}`);
  return `SELECT k.i, ${selected.join(", ")} FROM unnest(${
    keys.map((_, j) => `$${j + 1}::text[]`).join(", ")
  }) WITH ORDINALITY AS k(${keys.map((_, j) => `k${j}`).join(", ")}, i) JOIN ${
    quoteIdent(table.schema)
  }.${quoteIdent(table.name)} t ON ${on.join(" AND ")}`;
}

/** A `CurrentRowsReader` on a connection pool. */
export function currentRowsReader(sql: Sql): CurrentRowsReader {
  return async (table, columns, records) => {
    const params = table.primaryKey.map((k) => records.map((r) => r[k] ?? null));
    const rows = await sql.unsafe<Row[]>(currentRowsQuery(table, columns), params);
    const out: (Row | null)[] = records.map(() => null);
    for (const row of rows) out[Number(row.i) - 1] = row;
    return out;
  };
}
