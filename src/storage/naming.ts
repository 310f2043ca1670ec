/**
 * Names of the Postgres objects the service owns. They follow the reference service, so a
 * database it installed can be taken over (and the other way round).
 */

export const ELECTRIC_SCHEMA = "electric";
export const PUBLICATION_NAME = "electric_publication";
/** The connector's origin; also the name of the subscription in logical_replication mode. */
export const ORIGIN = "postgres_1";

/** Internal tables that belong to the publication next to every electrified and shadow table. */
export const PUBLISHED_INTERNAL_TABLES = [
  "ddl_commands",
  "electrified",
  "transaction_marker",
  "grants",
  "roles",
  "assignments",
  "acknowledged_client_lsns",
] as const;

/**
 * The published internal tables holding permission rules (written by the DDLX procedures).
 * Their row changes stay in replicated transactions, whole (REPLICA IDENTITY FULL), so the
 * service can follow rule changes; the service's other tables are dropped from the stream.
 */
export const PERMISSION_RULE_TABLES: readonly string[] = ["grants", "assignments"];

/**
 * The permanent slot that pins WAL: `electric_replication_out_<db>`, where `<db>` is the
 * database name lower-cased, every character outside [a-z0-9_] replaced by `_`, leading and
 * trailing `_` trimmed and cut to 38 characters, so the whole name stays within 63.
 */
export function mainSlotName(database: string): string {
  const cleaned = database.toLowerCase().replace(/[^a-z0-9_]/g, "_").replace(/^_+|_+$/g, "");
  return `electric_replication_out_${cleaned.slice(0, 38)}`;
}

/**
 * The persistent slot the live stream reads from, acknowledged up to the persisted processed
 * position: the main name cut to 58 plus `_live`. Every slot name of a service instance is
 * derived here, so a per-instance naming scheme changes this function only.
 */
export function liveSlotName(database: string): string {
  return `${mainSlotName(database).slice(0, 58)}_live`;
}

/**
 * The temporary slot made and dropped at once to have Postgres log a running-transactions
 * record (replication/restart_point.ts).
 */
export function restartMarkSlotName(database: string): string {
  return `${mainSlotName(database).slice(0, 58)}_mark`;
}

/**
 * The reference service's temporary streaming slot: the main name cut to 60 plus `_rc`. We no
 * longer create it, but while it exists a reference instance is streaming from this database.
 */
export function temporarySlotName(database: string): string {
  return `${mainSlotName(database).slice(0, 60)}_rc`;
}

/** `electric.shadow__<schema>__<table>`: per-row merge metadata of an electrified table. */
export function shadowTableName(schema: string, table: string): string {
  return `shadow__${schema}__${table}`;
}

/** `electric.tombstone__<schema>__<table>`: last known values of deleted rows. */
export function tombstoneTableName(schema: string, table: string): string {
  return `tombstone__${schema}__${table}`;
}
