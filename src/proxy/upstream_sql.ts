/**
 * The statements the proxy itself sends upstream inside a client's session: electrification
 * lookups, DDL capture, shadow-table upkeep and migration versions (postgres-side.md §4.1–4.4).
 * Arguments are dollar-quoted with a fresh random tag each, so no client text can end them.
 */
import { type QualifiedName, quotedTable } from "./ddlx.ts";

/** Electrified tables and their indexes (one row per index; NULL when a table has none). */
export const LOOKUP_ELECTRIFIED_SQL =
  "SELECT e.schema_name, e.table_name, ci.relname AS index_name FROM electric.electrified e " +
  "LEFT JOIN pg_catalog.pg_index i ON i.indrelid = e.oid " +
  "LEFT JOIN pg_catalog.pg_class ci ON ci.oid = i.indexrelid";

/**
 * The event-trigger guard (installed when the service's role is a superuser) captures DDL on
 * electrified tables by itself; the proxy captures the client's own text instead, so it turns
 * the guard off around a statement it has already checked, and back on afterwards.
 */
export const GUARD_OFF_SQL = "SELECT pg_catalog.set_config('electric.ddl_guard', 'off', true)";
export const GUARD_ON_SQL = "SELECT pg_catalog.set_config('electric.ddl_guard', '', true)";

export type RandomHex = () => string;

function dollarQuote(text: string, randomHex: RandomHex): string {
  let tag = `$__${randomHex()}__$`;
  while (text.includes(tag)) tag = `$__${randomHex()}__$`;
  return `${tag}${text}${tag}`;
}

export function captureDdlSql(statement: string, randomHex: RandomHex): string {
  return `CALL electric.capture_ddl(${dollarQuote(statement, randomHex)})`;
}

export function alterShadowTableSql(
  table: QualifiedName,
  column: { name: string; type: string },
  randomHex: RandomHex,
): string {
  const q = (s: string) => dollarQuote(s, randomHex);
  return `CALL electric.alter_shadow_table(${q(table.schema)}, ${q(table.name)}, ${q("add")}, ${
    q(column.name)
  }, ${q(column.type)})`;
}

export function assignVersionSql(version: string, priority: number, randomHex: RandomHex): string {
  return `CALL electric.assign_migration_version(${dollarQuote(version, randomHex)}, ${priority})`;
}

/** The proxy's own version, used when nothing better is known: UTC `YYYYMMDDHHMMSS_ffffff`. */
export function generatedVersion(now: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}${
    p(now.getUTCHours())
  }${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}_${p(now.getUTCMilliseconds() * 1000, 6)}`;
}

/** Said after a COMMIT whose migration the service had not learnt when the wait ran out. */
export function migrationLateNotice(): Record<string, string> {
  return {
    S: "NOTICE",
    V: "NOTICE",
    C: "00000",
    M: "The migration is committed, but Electric has not loaded it yet",
    D: "Clients that bundle this migration may be told their schema version is unknown until " +
      "the service has read it from the replication stream (normally within a second).",
  };
}

/** The notice sent to the client when a statement is captured (§3.8). */
export function captureNotice(table: QualifiedName, statement: string): Record<string, string> {
  return {
    S: "NOTICE",
    V: "NOTICE",
    C: "00000",
    M: `Migration affecting electrified table ${quotedTable(table)}`,
    D: `Capturing migration: ${statement}`,
    s: table.schema,
    t: table.name,
  };
}
