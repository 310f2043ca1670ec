/**
 * Permissions (issue 17): the DDLX rules (`ELECTRIC GRANT`/`ASSIGN`, stored by the
 * `electric.grant`/`assign` procedures) turned into what each user may read and write. Rules
 * and roles are read from Postgres (`store.ts`); what they open is computed purely
 * (`access.ts`) and handed to the shapes as where expressions, so filtering stays in the
 * existing read path and users with the same scopes share shape state. Chains of foreign keys
 * to a scope (`paths.ts`) are resolved from Postgres per scope row and cached until a row on
 * the chain changes (`path_cache.ts`); client writes are checked against the rows Postgres
 * holds (`current_rows.ts`).
 */
export {
  type AssignmentRow,
  governed,
  type GrantRow,
  NO_RULES,
  parseTableName,
  type PermissionRules,
  type Privilege,
  rulesFrom,
} from "./rules.ts";
export {
  type AccessContext,
  checkClause,
  type CompiledChecks,
  narrowedWhere,
  type ResolvedPaths,
  type RowAccess,
  rowAccess,
  type RowWrite,
  scopeColumns,
  type UserRole,
  writeRefusal,
} from "./access.ts";
export { type Hop, type ScopePath, scopePath } from "./paths.ts";
export { type CurrentRowsReader, currentRowsReader, transactionRefusal } from "./current_rows.ts";
export { type AccessChange, Permissions, rolesQuery } from "./store.ts";
export { compileChecks } from "./checks.ts";
