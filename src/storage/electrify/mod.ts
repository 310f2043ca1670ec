/**
 * Electrification in Postgres: the SQL routines users call (`electric.electrify`,
 * `electric.migration_version`, …), DDL capture with migration versions, and the event
 * triggers that guard electrified tables. Everything here is SQL text installed by the
 * bootstrap; the service never builds electrification statements itself.
 */
export { CLIENT_DDL_ROUTINES_SQL } from "./client_ddl_sql.ts";
export { ELECTRIFY_ROUTINES_SQL, MAX_COLUMN_NAME_BYTES } from "./electrify_sql.ts";
export { VERSION_ROUTINES_SQL } from "./versions_sql.ts";
export { DDL_GUARD_ROUTINES_SQL, INSTALL_DDL_GUARD_SQL } from "./ddl_guard_sql.ts";
