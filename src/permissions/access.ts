/**
 * What one user may read and write, from the rules and the roles the user holds. Pure.
 *
 * Reading: a table no grant names keeps 0.12's behaviour (every authenticated user reads all of
 * it). A governed table is read through its `select` grants: a grant to `ANYONE`,
 * `AUTHENTICATED` or a global role the user holds opens every row; a grant to a scoped role
 * opens the rows that belong to a scope row the user holds the role in — the scope table's own
 * rows by primary key, the rows of a table with a foreign key to the scope table by that key,
 * and the rows of a table further away by the chain of foreign keys `USING a/b` names (or the
 * one chain there is; paths.ts): those match their first foreign key against the keys of the
 * first parent table that lead to the user's scope rows, resolved from Postgres before the
 * access is computed (`AccessContext.resolved`; store.ts, path_cache.ts). The result is a where
 * expression added to every layer on the table, so the initial read, the live filter and the
 * shared group state all see the same rule, and users holding the same scopes share groups.
 * Long key lists become one set lookup (`in`), not a chain of comparisons.
 *
 * Writing: a client change on a governed table needs a grant of its privilege that covers the
 * columns it writes, for a scoped role the row's scope (by the same paths), and for a grant with
 * `CHECK (expr)` a new row that passes `expr` (`writeRefusal`). The expression is a where clause
 * over the row (`this.<column>`, as in shape where clauses) in which `auth.user_id` is the
 * user's id. The scope is checked on the new row and on the row Postgres holds (`current`, read
 * per transaction by current_rows.ts), never on the old row a client sends.
 *
 * Not yet: select grants limited to columns (such a grant opens nothing rather than leak the
 * other columns).
 */
import type { SchemaModel, TableModel } from "../schema/mod.ts";
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
import { scopePath } from "./paths.ts";

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
export function scopeKeys(
  roles: readonly UserRole[],
  role: string,
  scope: TableName,
): string[][] {
  return roles.flatMap((r) =>
    r.role === role && r.scope && sameTable(r.scope.table, scope) ? [r.scope.key] : []
  );
}

/**
 * The columns of `table` that name its scope row when it has them itself: the primary key of
 * the scope table, or the columns of a foreign key to it (the one `USING` names when it names
 * one). Undefined for a longer chain (paths.ts).
 */
export function scopeColumns(
  table: TableModel,
  scope: TableName,
  usingPath?: string,
): string[] | undefined {
  const path = scopePath(table, scope, { usingPath });
  if (!path.ok || path.hops.length > 1) return undefined;
  return path.hops.length === 0 ? table.primaryKey : path.hops[0].columns;
}

/**
 * For each scoped grant whose path has more than one foreign key, the keys of the first parent
 * table that lead to the user's scope rows (resolved from Postgres: store.ts, path_cache.ts).
 */
export type ResolvedPaths = ReadonlyMap<Grant, string[][]>;

/** What one user's access is computed with besides the rules and roles. */
export interface AccessContext {
  /** The electrified schema: needed to follow paths of more than one foreign key. */
  model?: SchemaModel;
  resolved?: ResolvedPaths;
  /** The grants' `CHECK` expressions compiled for the user (checks.ts). */
  checks?: CompiledChecks;
}

/** Key lists longer than this become one set lookup instead of a chain of comparisons. */
const IN_LIST_FROM = 8;

/** `columns = key` for one of `keys` (an OR of ANDs, or a set), typed like the columns. */
function keyMatch(table: TableModel, columns: string[], keys: string[][]): WhereExpr | undefined {
  const typed = columns.map((name) => {
    const column = table.columns.find((c) => c.name === name);
    return column ? { name, type: columnScalarType(column.type) } : undefined;
  });
  if (typed.some((c) => c === undefined || c.type === "other")) return undefined;
  if (typed.length === 1 && keys.length >= IN_LIST_FROM) {
    const { name, type } = typed[0]!;
    return {
      op: "in",
      type: "bool",
      arg: { op: "column", type, name },
      values: keys.map((k) => k[0]),
      domain: type,
    };
  }
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
function grantAccess(
  grant: Grant,
  table: TableModel,
  roles: readonly UserRole[],
  context: AccessContext,
): RowAccess {
  if (grant.scope === undefined) {
    return holdsGlobally(roles, grant.role)
      ? ALL
      : { kind: "none", reason: `not holding role ${grant.role}` };
  }
  const keys = scopeKeys(roles, grant.role, grant.scope);
  if (keys.length === 0) return { kind: "none", reason: `no ${grant.role} scope` };
  const path = scopePath(table, grant.scope, { usingPath: grant.usingPath, model: context.model });
  if (!path.ok) return { kind: "none", reason: path.reason };
  let columns = table.primaryKey;
  let matched = keys;
  if (path.hops.length > 0) columns = path.hops[0].columns;
  if (path.hops.length > 1) {
    const resolved = context.resolved?.get(grant);
    if (!resolved) return { kind: "none", reason: `path to ${grant.scope.name} not resolved` };
    matched = resolved;
  }
  const where = keyMatch(table, columns, matched);
  return where ? { kind: "rows", where } : { kind: "none", reason: "scope key not comparable" };
}

/**
 * One grant's access per context: a write checks many rows against the same grants, and a
 * long key list is worth building (and its set worth filling) once.
 */
const memo = new WeakMap<AccessContext, Map<Grant, { table: TableModel; access: RowAccess }>>();

function cachedGrantAccess(
  grant: Grant,
  table: TableModel,
  roles: readonly UserRole[],
  context: AccessContext,
): RowAccess {
  let grants = memo.get(context);
  if (!grants) memo.set(context, grants = new Map());
  const hit = grants.get(grant);
  if (hit && hit.table === table) return hit.access;
  const access = grantAccess(grant, table, roles, context);
  grants.set(grant, { table, access });
  return access;
}

/** Which rows of `table` a user holding `roles` may use with `privilege`. */
export function rowAccess(
  rules: PermissionRules,
  roles: readonly UserRole[],
  table: TableModel,
  privilege: Privilege,
  context: AccessContext = {},
): RowAccess {
  if (!governed(rules, table)) return ALL;
  const opened: WhereExpr[] = [];
  let reason = `no ${privilege} grant on ${table.schema}.${table.name}`;
  for (const grant of rules.grants) {
    if (grant.privilege !== privilege || !sameTable(grant.table, table)) continue;
    // A read grant limited to some columns would hand over the others with the row.
    if (privilege === "select" && grant.columns !== undefined) continue;
    const access = cachedGrantAccess(grant, table, roles, context);
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
  /**
   * The row as Postgres holds it now (at least the columns naming its scope): null when there
   * is none, undefined when it was not read. An update, a delete, and an insert over an
   * existing row (inserts merge) need it inside the grant's scope as well.
   */
  current?: Record<string, string | null> | null;
}

/**
 * The `CHECK` expressions of the grants that have one, compiled for one user: null when the
 * expression could not be compiled (that grant then allows nothing).
 */
export type CompiledChecks = ReadonlyMap<Grant, WhereExpr | null>;

/**
 * Why a user holding `roles` may not make `write`, or undefined when a grant allows it: one
 * grant must cover the privilege, every column written, (scoped) the row's scope, and (with a
 * `CHECK`) the new row must pass its expression. The scope is checked on the new row (insert,
 * update) and on the row Postgres holds (`current`: update, delete, an insert merging into an
 * existing row); a delete of a row Postgres does not hold is checked on the row sent.
 */
export function writeRefusal(
  rules: PermissionRules,
  roles: readonly UserRole[],
  write: RowWrite,
  context: AccessContext = {},
): string | undefined {
  const { table, privilege } = write;
  if (!governed(rules, table)) return undefined;
  const rows = privilege === "delete"
    ? [write.current ?? write.record]
    : write.current
    ? [write.record, write.current]
    : [write.record];
  for (const grant of rules.grants) {
    if (grant.privilege !== privilege || !sameTable(grant.table, table)) continue;
    if (grant.columns && [...write.columns].some((c) => !grant.columns!.includes(c))) continue;
    if (grant.check !== undefined && privilege !== "delete") {
      const check = context.checks?.get(grant);
      if (!check || !evaluateWhere(check, write.record)) continue;
    }
    const access = cachedGrantAccess(grant, table, roles, context);
    if (access.kind === "all") return undefined;
    if (access.kind === "rows" && rows.every((row) => evaluateWhere(access.where, row))) {
      return undefined;
    }
  }
  return `permission denied: ${privilege} on ${table.schema}.${table.name}`;
}

/**
 * The columns of `table` the scoped grants of `privileges` match rows on: what must be read
 * of the rows Postgres holds to check writes. Empty when no such grant is scoped.
 */
export function writeScopeColumns(
  rules: PermissionRules,
  table: TableModel,
  privileges: ReadonlySet<Privilege>,
  context: AccessContext = {},
): string[] {
  const columns = new Set<string>();
  for (const grant of rules.grants) {
    if (!privileges.has(grant.privilege) || !sameTable(grant.table, table)) continue;
    if (!grant.scope) continue;
    const path = scopePath(table, grant.scope, {
      usingPath: grant.usingPath,
      model: context.model,
    });
    if (!path.ok) continue;
    for (const c of path.hops.length === 0 ? table.primaryKey : path.hops[0].columns) {
      columns.add(c);
    }
  }
  return [...columns];
}

/**
 * The text of a grant's `CHECK` for one user: `auth.user_id` becomes the user's id as a
 * string literal, so the rest is an ordinary where clause over the row.
 */
export function checkClause(check: string, userId: string): string {
  return check.replace(/\bauth\s*\.\s*user_id\b/gi, `'${userId.replaceAll("'", "''")}'`);
}
