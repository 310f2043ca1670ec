/**
 * Permissions (issue 17): the DDLX rules (`ELECTRIC GRANT`/`ASSIGN`, stored by the
 * `electric.grant`/`assign` procedures) turned into what each user may read and write. Rules
 * and roles are read from Postgres (`store.ts`); what they open is computed purely
 * (`access.ts`) and handed to the shapes as where expressions, so filtering stays in the
 * existing read path and users with the same scopes share shape state.
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
  checkClause,
  type CompiledChecks,
  narrowedWhere,
  type RowAccess,
  rowAccess,
  type RowWrite,
  scopeColumns,
  type UserRole,
  writeRefusal,
} from "./access.ts";
export { type AccessChange, Permissions, rolesQuery } from "./store.ts";
export { compileChecks } from "./checks.ts";
