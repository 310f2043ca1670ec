/**
 * The DDLX permission back-ends in Postgres: the procedures that store `ELECTRIC GRANT`,
 * `REVOKE`, `ASSIGN` and `UNASSIGN` rules in `electric.grants` and `electric.assignments`.
 * SQL text installed by the bootstrap; it stores and validates rules, it does not enforce them.
 */
export { PERMISSIONS_ROUTINES_SQL } from "./permissions_sql.ts";
export { PERMISSIONS_STEP_SQL } from "./step_sql.ts";
