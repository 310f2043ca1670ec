/**
 * The permission rules as the DDLX procedures store them (`electric.grants`,
 * `electric.assignments`), typed. Pure: rows in, rules out; a row that cannot be understood is
 * reported, never guessed at.
 *
 * A grant opens `privilege` on a table to a role: the built-in `ANYONE` and `AUTHENTICATED`,
 * or a named role, global (`__global__`) or scoped to a scope table (the user holds the role
 * for particular rows of that table). An assignment gives users roles from the rows of a table:
 * its user column names the user, the role is a fixed name or read from a column, and a scoped
 * assignment's scope is the scope table row that the assignment row references.
 */

export type Privilege = "select" | "insert" | "update" | "delete";

export interface TableName {
  schema: string;
  name: string;
}

export interface Grant {
  privilege: Privilege;
  table: TableName;
  /** `ANYONE`, `AUTHENTICATED`, or a role name. */
  role: string;
  /** Columns the grant covers; undefined: all of them. */
  columns?: string[];
  /** The scope table of a scoped role; undefined: a global one. */
  scope?: TableName;
  /** `USING` path from the table to its scope, as written. */
  usingPath?: string;
  /** `CHECK` expression for writes, as written. */
  check?: string;
}

export interface Assignment {
  table: TableName;
  userColumn: string;
  role: { kind: "name"; name: string } | { kind: "column"; column: string };
  scope?: TableName;
  /** `IF` condition, as written. */
  condition?: string;
}

export interface PermissionRules {
  grants: Grant[];
  assignments: Assignment[];
}

export const NO_RULES: PermissionRules = Object.freeze({
  grants: [],
  assignments: [],
}) as PermissionRules;

export const ANYONE = "ANYONE";
export const AUTHENTICATED = "AUTHENTICATED";
const NONE = "__none__";
const GLOBAL = "__global__";

export interface GrantRow {
  privilege: string;
  on_table: string;
  role: string;
  column_name: string;
  scope: string;
  using_path: string | null;
  check_fn: string | null;
}

export interface AssignmentRow {
  table_name: string;
  scope_table: string;
  user_column: string;
  role_name: string;
  role_column: string;
  if_fn: string | null;
}

export type RulesResult =
  | { ok: true; rules: PermissionRules }
  | { ok: false; error: { code: "INVALID_RULE"; message: string } };

/** `"schema"."table"` or `schema.table` or `table` as a name (public by default). */
export function parseTableName(text: string): TableName | undefined {
  const parts: string[] = [];
  let at = 0;
  while (at < text.length) {
    if (text[at] === '"') {
      let name = "";
      at++;
      for (;;) {
        if (at >= text.length) return undefined;
        if (text[at] === '"') {
          if (text[at + 1] === '"') {
            name += '"';
            at += 2;
            continue;
          }
          at++;
          break;
        }
        name += text[at++];
      }
      parts.push(name);
    } else {
      const end = text.indexOf(".", at);
      const name = text.slice(at, end < 0 ? text.length : end);
      if (name === "") return undefined;
      parts.push(name.toLowerCase());
      at = end < 0 ? text.length : end;
    }
    if (at < text.length) {
      if (text[at] !== ".") return undefined;
      at++;
      if (at === text.length) return undefined;
    }
  }
  if (parts.length === 1) return { schema: "public", name: parts[0] };
  if (parts.length === 2) return { schema: parts[0], name: parts[1] };
  return undefined;
}

const PRIVILEGES: ReadonlySet<string> = new Set(["select", "insert", "update", "delete"]);

/** The rules in `grants` and `assignments` rows; one grant per (privilege, table, role, scope). */
export function rulesFrom(grantRows: GrantRow[], assignmentRows: AssignmentRow[]): RulesResult {
  const invalid = (message: string): RulesResult => ({
    ok: false,
    error: { code: "INVALID_RULE", message },
  });
  const grants = new Map<string, Grant>();
  for (const row of grantRows) {
    const privilege = row.privilege.toLowerCase();
    if (!PRIVILEGES.has(privilege)) return invalid(`Unknown privilege "${row.privilege}"`);
    const table = parseTableName(row.on_table);
    if (!table) return invalid(`Invalid table name "${row.on_table}" in a grant`);
    const scope = row.scope === GLOBAL ? undefined : parseTableName(row.scope);
    if (row.scope !== GLOBAL && !scope) return invalid(`Invalid scope "${row.scope}" in a grant`);
    const key = JSON.stringify([privilege, table, row.role, scope ?? null]);
    let grant = grants.get(key);
    if (!grant) {
      grant = {
        privilege: privilege as Privilege,
        table,
        role: row.role,
        ...(scope ? { scope } : {}),
        ...(row.using_path ? { usingPath: row.using_path } : {}),
        ...(row.check_fn ? { check: row.check_fn } : {}),
        columns: [],
      };
      grants.set(key, grant);
    }
    if (row.column_name === "*") grant.columns = undefined;
    else if (grant.columns) grant.columns.push(row.column_name);
  }
  const assignments: Assignment[] = [];
  for (const row of assignmentRows) {
    const table = parseTableName(row.table_name);
    if (!table) return invalid(`Invalid table name "${row.table_name}" in an assignment`);
    const scope = row.scope_table === NONE ? undefined : parseTableName(row.scope_table);
    if (row.scope_table !== NONE && !scope) {
      return invalid(`Invalid scope "${row.scope_table}" in an assignment`);
    }
    const role = row.role_column !== NONE
      ? { kind: "column" as const, column: row.role_column }
      : { kind: "name" as const, name: row.role_name };
    assignments.push({
      table,
      userColumn: row.user_column,
      role,
      ...(scope ? { scope } : {}),
      ...(row.if_fn ? { condition: row.if_fn } : {}),
    });
  }
  return { ok: true, rules: { grants: [...grants.values()], assignments } };
}

/** Whether any grant names `table`: only then do grants decide who reads and writes it. */
export function governed(rules: PermissionRules, table: TableName): boolean {
  return rules.grants.some((g) => sameTable(g.table, table));
}

export function sameTable(a: TableName, b: TableName): boolean {
  return a.schema === b.schema && a.name === b.name;
}
