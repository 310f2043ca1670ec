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
 * Every name one service instance owns in Postgres: its replication slots, the key of its
 * persisted position (the main slot's name) and, in `logical_replication` mode, its
 * subscription. Without `ELECTRIC_INSTANCE_ID` these are the names a single instance has
 * always used (so an upgrade keeps its slots and position); with it, each derives from the id,
 * so instances with distinct ids share a database without sharing a slot.
 */
export interface InstanceNames {
  /** ELECTRIC_INSTANCE_ID when set (non-empty): the names derive from it. */
  readonly instanceId: string | undefined;
  readonly mainSlot: string;
  readonly liveSlot: string;
  readonly markSlot: string;
  /** The reference's temporary slot name (`…_rc`): while it exists the slot set is in use. */
  readonly temporarySlot: string;
  readonly subscription: string;
}

/** Main slot names with an instance id stay within this, so every derived name keeps it whole. */
const INSTANCE_MAIN_MAX = 55;
const INSTANCE_PREFIX = "electric_out_";

function cleanName(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9_]/g, "_").replace(/^_+|_+$/g, "");
}

/** FNV-1a, 32 bits, as 8 hex digits: a short, stable suffix (not a security measure). */
function shortHash(text: string): string {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, "0");
}

/**
 * `<db>_<id>`, both cleaned as database names are; when cleaning changed the id or the result
 * would not fit, cut and followed by `_` and a hash of the untouched database name and id, so
 * distinct ids (`a-b`, `a_b`, long ones) never share a name.
 */
function instanceToken(database: string, instanceId: string): string {
  const db = cleanName(database);
  const id = cleanName(instanceId);
  const plain = `${db}_${id}`;
  if (id === instanceId && INSTANCE_PREFIX.length + plain.length <= INSTANCE_MAIN_MAX) return plain;
  const room = INSTANCE_MAIN_MAX - INSTANCE_PREFIX.length - 9;
  return `${plain.slice(0, room).replace(/_+$/, "")}_${
    shortHash(`${database}\u0000${instanceId}`)
  }`;
}

/** The names of the instance (see InstanceNames); an empty id counts as unset. */
export function instanceNames(database: string, instanceId?: string): InstanceNames {
  if (!instanceId) {
    return Object.freeze({
      instanceId: undefined,
      mainSlot: mainSlotName(database),
      liveSlot: liveSlotName(database),
      markSlot: restartMarkSlotName(database),
      temporarySlot: temporarySlotName(database),
      subscription: ORIGIN,
    });
  }
  const token = instanceToken(database, instanceId);
  const main = `${INSTANCE_PREFIX}${token}`;
  return Object.freeze({
    instanceId,
    mainSlot: main,
    liveSlot: `${main}_live`,
    markSlot: `${main}_mark`,
    temporarySlot: `${main}_rc`,
    subscription: `electric_sub_${token}`,
  });
}

/**
 * The persistent slot the live stream reads from, acknowledged up to the persisted processed
 * position: the main name cut to 58 plus `_live` (an instance without ELECTRIC_INSTANCE_ID).
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
