/**
 * Persistence of the schema history in Postgres: `electric.schema` holds one row per version
 * (serialized model and the captured statements), `electric.migration_versions` the version
 * of each migrating transaction. Loading replays the statements through the same code that
 * applies new migrations, so what clients receive never depends on how a row was written.
 */
import type { Sql } from "../storage/mod.ts";
import { EMPTY_SCHEMA, serializeSchema } from "../schema/mod.ts";
import { buildEntry } from "./build_entry.ts";
import { type MigrationEntry, SchemaCatalog } from "./catalog.ts";

export type TableOids = (schema: string, name: string) => number | undefined;

/** OIDs of the electrified tables, as the relation ids clients and subscribers see. */
export async function loadTableOids(sql: Sql): Promise<TableOids> {
  const rows =
    await sql`SELECT schema_name, table_name, oid::int8::text AS oid FROM electric.electrified`;
  const oids = new Map(
    rows.map((row) => [`${row.schema_name}.${row.table_name}`, Number(row.oid)]),
  );
  return (schema, name) => oids.get(`${schema}.${name}`);
}

export type LoadCatalogResult =
  | { ok: true; catalog: SchemaCatalog }
  | { ok: false; error: { code: string; message: string } };

export async function loadCatalog(sql: Sql): Promise<LoadCatalogResult> {
  const rows = await sql`
    SELECT s.version, s.migration_ddl, v.txid::text AS txid
      FROM electric.schema s
      JOIN electric.migration_versions v ON v.version = s.version
     ORDER BY v.txid, s.id`;
  const tableOid = await loadTableOids(sql);
  const entries: MigrationEntry[] = [];
  for (const row of rows) {
    const previous = entries.at(-1)?.model;
    const built = await buildEntry(
      previous ?? EMPTY_SCHEMA,
      { version: row.version, txid: BigInt(row.txid), statements: row.migration_ddl },
      tableOid,
    );
    if (!built.ok) {
      return {
        ok: false,
        error: {
          code: "SCHEMA_HISTORY_UNREADABLE",
          message:
            `Migration ${row.version} stored in electric.schema cannot be applied: ${built.error.message}`,
        },
      };
    }
    entries.push(built.entry);
  }
  return { ok: true, catalog: new SchemaCatalog(entries) };
}

export async function saveEntry(sql: Sql, entry: MigrationEntry): Promise<void> {
  await sql`
    INSERT INTO electric.schema (version, schema, migration_ddl)
    VALUES (${entry.version}, ${
    sql.json(serializeSchema(entry.model) as never)
  }, ${entry.statements})
    ON CONFLICT (version) DO NOTHING`;
}

/** The version of the transaction identified by (txid, txts), if it assigned one. */
export async function lookupVersion(
  sql: Sql,
  txid: string,
  txts: string,
): Promise<string | undefined> {
  const [row] = await sql`
    SELECT version FROM electric.migration_versions WHERE txid = ${txid}::xid8 AND txts = ${txts}::int8`;
  return row?.version;
}
