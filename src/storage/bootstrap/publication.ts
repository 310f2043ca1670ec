/**
 * The publication Postgres streams changes through: every electrified table, its shadow
 * table, and the published internal tables. Created when missing (so a dropped publication
 * comes back on the next start); an existing one is left as it is, because electrification
 * maintains its membership.
 */
import type { Sql } from "../pg_client.ts";
import { PUBLICATION_NAME, PUBLISHED_INTERNAL_TABLES, shadowTableName } from "../naming.ts";

export async function ensurePublication(sql: Sql): Promise<{ created: boolean }> {
  const [existing] = await sql`SELECT 1 FROM pg_publication WHERE pubname = ${PUBLICATION_NAME}`;
  if (existing) return { created: false };
  const electrified = await sql`
    SELECT e.schema_name, e.table_name,
           to_regclass(format('electric.%I', 'shadow__' || e.schema_name || '__' || e.table_name))
             IS NOT NULL AS has_shadow
      FROM electric.electrified e
     WHERE to_regclass(format('%I.%I', e.schema_name, e.table_name)) IS NOT NULL
     ORDER BY e.id`;
  const tables = PUBLISHED_INTERNAL_TABLES.map((table) => sql`electric.${sql(table)}`);
  for (const row of electrified) {
    tables.push(sql`${sql(row.schema_name)}.${sql(row.table_name)}`);
    if (row.has_shadow) {
      tables.push(sql`electric.${sql(shadowTableName(row.schema_name, row.table_name))}`);
    }
  }
  const list = tables.reduce((acc, table, i) => (i === 0 ? table : sql`${acc}, ${table}`));
  try {
    await sql`CREATE PUBLICATION ${sql(PUBLICATION_NAME)} FOR TABLE ${list}`;
    return { created: true };
  } catch (error) {
    // Another instance created it between our check and the CREATE.
    if ((error as { code?: string }).code === "42710") return { created: false };
    throw error;
  }
}
