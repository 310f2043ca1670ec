/**
 * What the merge machinery leaves in Postgres, for tests that apply the same changes two ways
 * and compare: every user, shadow and tombstone row of the given tables, without what differs
 * between runs by nature (transaction ids, the timestamps of Postgres's own tags).
 */
import type postgres from "postgres";
import type { PgType } from "../../src/schema/mod.ts";

export const pgType = (name: string): PgType => ({ name, array: [], size: [] });

export async function mergeState(sql: postgres.Sql, tables: readonly string[]) {
  const out: Record<string, unknown> = {};
  for (const table of tables) {
    out[table] = await sql.unsafe(`SELECT to_jsonb(t) AS r FROM ${table} t ORDER BY 1`);
    out[`shadow ${table}`] = await sql.unsafe(
      `SELECT to_jsonb(s) - '_last_modified' AS r FROM electric.shadow__public__${table} s ORDER BY 1`,
    );
    out[`tombstone ${table}`] = await sql.unsafe(
      `SELECT to_jsonb(t) AS r FROM electric.tombstone__public__${table} t ORDER BY 1`,
    );
  }
  return JSON.parse(
    JSON.stringify(out),
    (_, value) => value?.source_id === null && "timestamp" in value ? "postgres tag" : value,
  );
}
