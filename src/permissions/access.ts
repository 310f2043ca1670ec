/**
 * What one user may read and write, from the rules and the roles the user holds. Pure.
 *
 * Reading: a table no grant names keeps 0.12's behaviour (every authenticated user reads all of
 * it). A governed table is read through its `select` grants: a grant to `ANYONE`,
 * `AUTHENTICATED` or a global role the user holds opens every row; a grant to a scoped role
 * opens the rows that belong to a scope row the user holds the role in — the scope table's own
 * rows by primary key, or the rows of a table with a foreign key to the scope table by that
 * key. The result is a where expression added to every layer on the table, so the initial
 * read, the live filter and the shared group state all see the same rule, and users holding
 * the same scopes share groups.
 *
 * Writing: a client change on a governed table needs a grant of its privilege that covers the
 * columns it writes, for a scoped role the row's scope, and for a grant with `CHECK (expr)`
 * a new row that passes `expr` (`writeRefusal`). The expression is a where clause over the
 * row (`this.<column>`, as in shape where clauses) in which `auth.user_id` is the user's id.
 *
 * Not yet: `USING` paths longer than one foreign key, and select grants limited to columns
 * (such a grant opens nothing rather than leak the other columns).
 */
import type { TableModel } from "../schema/mod.ts";
import { columnScalarType, evaluateWhere, type WhereExpr } from "../shapes/mod.ts";
import {
  ANYONE,
  AUTHENTICATED,
  governed,
  type Grant,
  type PermissionRules,
  type Privilege,
  sameTable,
  type TableName,
} from "./rules.ts";

/** A role the user holds: globally, or for one row of a scope table (its key values). */
export interface UserRole {
  role: string;
  scope?: { table: TableName; key: string[] };
}

/** Every row, none, or the rows passing `where`. */
export type RowAccess =
  | { kind: "all" }
  | { kind: "none"; reason: string }
  | { kind: "rows"; where: WhereExpr };

const ALL: RowAccess = { kind: "all" };

/** Whether `role` is held by every authenticated user, or globally by this one. */
function holdsGlobally(roles: readonly UserRole[], role: string): boolean {
  if (role === ANYONE || role === AUTHENTICATED) return true;
  return roles.some((r) => r.role === role && r.scope === undefined);
}

/** The scope rows in which the user holds `role`. */
function scopeKeys(roles: readonly UserRole[], role: string, scope: TableName): string[][] {
  return roles.flatMap((r) =>
    r.role === role && r.scope && sameTable(r.scope.table, scope) ? [r.scope.key] : []
  );
}

/**
 * The columns of `table` that name its scope row: the primary key of the scope table itself,
 * or the columns of a foreign key to it (the one `USING` names when it names one).
 */
export function scopeColumns(
  table: TableModel,
  scope: TableName,
  usingPath?: string,
): string[] | undefined {
  if (sameTable(table, scope)) return table.primaryKey;
  const fks = table.foreignKeys.filter((fk) =>
    fk.parentSchema === scope.schema && fk.parentTable === scope.name
  );
  if (usingPath !== undefined) {
    const path = usingPath.trim().replace(/^"|"$/g, "");
    return fks.find((fk) => fk.columns.length === 1 && fk.columns[0] === path)?.columns;
  }
  return fks.length === 1 ? fks[0].columns : undefined;
}

/** `columns = key` for one of `keys` (an OR of ANDs), typed like the columns. */
function keyMatch(table: TableModel, columns: string[], keys: string[][]): WhereExpr | undefined {
  const typed = columns.map((name) => {
    const column = table.columns.find((c) => c.name === name);
    return column ? { name, type: columnScalarType(column.type) } : undefined;
  });
  if (typed.some((c) => c === undefined || c.type === "other")) return undefined;
  const matches: WhereExpr[] = keys.map((key) => {
    const parts: WhereExpr[] = typed.map((column, i) => ({
      op: "compare",
      type: "bool",
      cmp: "=",
      left: { op: "column", type: column!.type, name: column!.name },
      right: { op: "const", type: column!.type, value: key[i] },
      domain: column!.type,
    }));
    return parts.length === 1 ? parts[0] : { op: "and", type: "bool", args: parts };
  });
  if (matches.length === 0) return { op: "const", type: "bool", value: "false" };
  return matches.length === 1 ? matches[0] : { op: "or", type: "bool", args: matches };
}

/** The rows of `table` a grant opens to a user holding `roles`. */
function grantAccess(grant: Grant, table: TableModel, roles: readonly UserRole[]): RowAccess {
  if (grant.scope === undefined) {
    return holdsGlobally(roles, grant.role)
      ? ALL
      : { kind: "none", reason: `not holding role ${grant.role}` };
  }
  const keys = scopeKeys(roles, grant.role, grant.scope);
  if (keys.length === 0) return { kind: "none", reason: `no ${grant.role} scope` };
  const columns = scopeColumns(table, grant.scope, grant.usingPath);
  if (!columns) {
    return { kind: "none", reason: `no single path from ${table.name} to ${grant.scope.name}` };
  }
  const where = keyMatch(table, columns, keys);
  return where ? { kind: "rows", where } : { kind: "none", reason: "scope key not comparable" };
}

/** Which rows of `table` a user holding `roles` may use with `privilege`. */
export function rowAccess(
  rules: PermissionRules,
  roles: readonly UserRole[],
  table: TableModel,
  privilege: Privilege,
): RowAccess {
  if (!governed(rules, table)) return ALL;
  const opened: WhereExpr[] = [];
  let reason = `no ${privilege} grant on ${table.schema}.${table.name}`;
  for (const grant of rules.grants) {
    if (grant.privilege !== privilege || !sameTable(grant.table, table)) continue;
    // A read grant limited to some columns would hand over the others with the row.
    if (privilege === "select" && grant.columns !== undefined) continue;
    const access = grantAccess(grant, table, roles);
    if (access.kind === "all") return ALL;
    if (access.kind === "rows") opened.push(access.where);
    else reason = access.reason;
  }
  if (opened.length === 0) return { kind: "none", reason };
  return {
    kind: "rows",
    where: opened.length === 1 ? opened[0] : { op: "or", type: "bool", args: opened },
  };
}

/** `where` narrowed by `access` (undefined where: every row). */
export function narrowedWhere(
  where: WhereExpr | undefined,
  access: RowAccess,
): WhereExpr | undefined {
  if (access.kind === "all") return where;
  const rule: WhereExpr = access.kind === "none"
    ? { op: "const", type: "bool", value: "false" }
    : access.where;
  return where === undefined ? rule : { op: "and", type: "bool", args: [where, rule] };
}

/** One row written by a client, as far as permissions look at it. */
export interface RowWrite {
  privilege: "insert" | "update" | "delete";
  table: TableModel;
  /** Insert, update: the new row; delete: the row as the client had it. */
  record: Record<string, string | null>;
  /** The columns written (insert: those sent; update: those modified; delete: none). */
  columns: ReadonlySet<string>;
}

/**
 * The `CHECK` expressions of the grants that have one, compiled for one user: null when the
 * expression could not be compiled (that grant then allows nothing).
 */
export type CompiledChecks = ReadonlyMap<Grant, WhereExpr | null>;

/**
 * Why a user holding `roles` may not make `write`, or undefined when a grant allows it: one
 * grant must cover the privilege, every column written, (scoped) the row's scope, and (with a
 * `CHECK`) the new row must pass its expression.
 *
 * The scope of an update or delete is read from the row the client sent: a client can only
 * move rows between scopes it holds, but an update's old scope is not checked against
 * Postgres yet.
 */
export function writeRefusal(
  rules: PermissionRules,
  roles: readonly UserRole[],
  write: RowWrite,
  checks: CompiledChecks = new Map(),
): string | undefined {
  const { table, privilege } = write;
  if (!governed(rules, table)) return undefined;
  for (const grant of rules.grants) {
    if (grant.privilege !== privilege || !sameTable(grant.table, table)) continue;
    if (grant.columns && [...write.columns].some((c) => !grant.columns!.includes(c))) continue;
    if (grant.check !== undefined && privilege !== "delete") {
      const check = checks.get(grant);
      if (!check || !evaluateWhere(check, write.record)) continue;
    }
    const access = grantAccess(grant, table, roles);
    if (access.kind === "all") return undefined;
    if (access.kind === "rows" && evaluateWhere(access.where, write.record)) return undefined;
  }
  return `permission denied: ${privilege} on ${table.schema}.${table.name}`;
}

/**
 * The text of a grant's `CHECK` for one user: `auth.user_id` becomes the user's id as a
 * string literal, so the rest is an ordinary where clause over the row.
 */
export function checkClause(check: string, userId: string): string {
  return check.replace(/\bauth\s*\.\s*user_id\b/gi, `'${userId.replaceAll("'", "''")}'`);
}
