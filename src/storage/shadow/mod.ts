/**
 * Per-table conflict resolution inside Postgres (postgres-side.md §3.4, §8.1–8.4, §9.4): the
 * shadow and tombstone tables of an electrified table, and PL/pgSQL generators that build its
 * trigger functions from the catalog, so electrification (pure SQL) can install them with
 * `CALL electric.install_shadow_objects(schema, table)` and `electric.shadow_add_column`
 * can regenerate them after ADD COLUMN.
 *
 * Owns only SQL text; it does not connect to Postgres, decide when to electrify, or read the
 * replication stream. Client changes reach these triggers as the two inserts of §8.3, written
 * by a session with `electric.session_replication_role = replica` (§8.6) or by the
 * subscription's apply worker.
 */
export { SHADOW_ROUTINES_SQL } from "./routines_sql.ts";
