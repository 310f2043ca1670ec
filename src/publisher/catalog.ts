/**
 * What the publisher tells a subscriber about its tables: every electrified table, its
 * shadow table, `electric.acknowledged_client_lsns` and `electric.client_merge_statements`, with real table OIDs, column type
 * OIDs and type modifiers. Sessions read a snapshot synchronously (they never query while
 * answering), so the Postgres implementation is loaded ahead of time and refreshed after a
 * table is electrified; the in-memory one serves unit tests.
 */
import { ELECTRIC_SCHEMA, shadowTableName, type Sql } from "../storage/mod.ts";

export interface PublishedColumn {
  name: string;
  typeOid: number;
  /** pg_attribute.atttypmod: -1 when the type has no modifier. */
  typeModifier: number;
}

export interface PublishedTable {
  schema: string;
  name: string;
  /** The table's real OID: the Relation id sent to the subscriber. */
  oid: number;
  /** In column order (attnum). */
  columns: readonly PublishedColumn[];
}

export interface PublisherCatalog {
  /** The current snapshot, in a stable order. */
  tables(): readonly PublishedTable[];
  /** Reloads the snapshot; absent for catalogs that cannot change. */
  refresh?(): Promise<void>;
}

export const ACKNOWLEDGED_CLIENT_LSNS = "acknowledged_client_lsns";
/** Carries set-based merges (see the bootstrap step that creates it). */
export const CLIENT_MERGE_STATEMENTS = "client_merge_statements";

export function findPublishedTable(
  tables: readonly PublishedTable[],
  schema: string,
  name: string,
): PublishedTable | undefined {
  return tables.find((t) => t.schema === schema && t.name === name);
}

export class InMemoryPublisherCatalog implements PublisherCatalog {
  #tables: readonly PublishedTable[];

  constructor(tables: readonly PublishedTable[] = []) {
    this.#tables = tables;
  }

  tables(): readonly PublishedTable[] {
    return this.#tables;
  }

  set(tables: readonly PublishedTable[]): void {
    this.#tables = tables;
  }
}

/**
 * Loads the published tables from Postgres. `sql` is a getter because the connector's pool
 * changes across reconnects; `refresh()` without a pool keeps the previous snapshot.
 */
export class PostgresPublisherCatalog implements PublisherCatalog {
  #sql: () => Sql | undefined;
  #tables: readonly PublishedTable[] = [];
  #refreshing: Promise<void> | undefined;

  constructor(sql: () => Sql | undefined) {
    this.#sql = sql;
  }

  tables(): readonly PublishedTable[] {
    return this.#tables;
  }

  /** Concurrent calls share one load that starts after the call (so it sees recent DDL). */
  refresh(): Promise<void> {
    const previous = this.#refreshing ?? Promise.resolve();
    const next = previous.catch(() => {}).then(async () => {
      const sql = this.#sql();
      if (sql === undefined) return;
      this.#tables = await loadPublishedTables(sql);
    });
    this.#refreshing = next;
    return next.finally(() => {
      if (this.#refreshing === next) this.#refreshing = undefined;
    });
  }
}

interface AttributeRow {
  schema: string;
  name: string;
  oid: number;
  attname: string;
  atttypid: number;
  atttypmod: number;
}

/**
 * Electrified tables (by `electric.electrified`), their shadow tables, then the LSN table and
 * the merge-statements table.
 */
export async function loadPublishedTables(sql: Sql): Promise<PublishedTable[]> {
  const electrified = await sql<{ schema_name: string; table_name: string }[]>`
    SELECT schema_name, table_name FROM electric.electrified ORDER BY id`;
  const wanted: Array<[string, string]> = [];
  for (const { schema_name: schema, table_name: table } of electrified) {
    wanted.push([schema, table], [ELECTRIC_SCHEMA, shadowTableName(schema, table)]);
  }
  wanted.push([ELECTRIC_SCHEMA, ACKNOWLEDGED_CLIENT_LSNS], [
    ELECTRIC_SCHEMA,
    CLIENT_MERGE_STATEMENTS,
  ]);
  const rows = await sql<AttributeRow[]>`
    SELECT n.nspname AS schema, c.relname AS name, c.oid::int8 AS oid,
           a.attname, a.atttypid::int8 AS atttypid, a.atttypmod
      FROM unnest(${wanted.map((w) => w[0])}::text[], ${wanted.map((w) => w[1])}::text[])
             AS w (schema_name, table_name)
      JOIN pg_catalog.pg_namespace n ON n.nspname = w.schema_name
      JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = w.table_name
      JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid
     WHERE a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
     ORDER BY c.oid, a.attnum`;
  const byKey = new Map<string, PublishedTable & { columns: PublishedColumn[] }>();
  for (const row of rows) {
    const key = `${row.schema}.${row.name}`;
    let table = byKey.get(key);
    if (table === undefined) {
      table = { schema: row.schema, name: row.name, oid: Number(row.oid), columns: [] };
      byKey.set(key, table);
    }
    table.columns.push({
      name: row.attname,
      typeOid: Number(row.atttypid),
      typeModifier: Number(row.atttypmod),
    });
  }
  return wanted.flatMap(([schema, name]) => byKey.get(`${schema}.${name}`) ?? []);
}
