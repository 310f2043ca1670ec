/**
 * The permission rules of the database and the roles each connected user holds, kept current
 * from the replication stream: a change to `electric.grants` or `electric.assignments` reloads
 * the rules (everyone's access may change), a change to an assignment table re-reads the roles
 * of the users it names, and a change to a table in the middle of a grant's chain of foreign
 * keys (`USING issue_id/project_id`: issues) drops the chains it may change and names the users
 * who used them (path_cache.ts). Listeners hear which users' access may have changed.
 *
 * Every read of Postgres made here sees the transactions streamed before it (`visibility`, the
 * shared tracker of src/sync/visibility.ts, fed by the log): Postgres streams a commit as soon
 * as its record is flushed and shows it to other sessions a moment later, and a read that
 * misses the change it follows caches a stale answer that nothing will drop again.
 */
import type { Row, Transaction } from "../replication/mod.ts";
import { findTable, quoteIdent, type SchemaModel } from "../schema/mod.ts";
import type { Sql } from "../storage/mod.ts";
import type { Visibility } from "../sync/mod.ts";
import type { Logger } from "../telemetry/mod.ts";
import {
  type ResolvedPaths,
  scopeColumns as scopeColumnsOf,
  scopeKeys,
  type UserRole,
} from "./access.ts";
import { PathCache } from "./path_cache.ts";
import { scopePath } from "./paths.ts";
import {
  type Assignment,
  type AssignmentRow,
  type Grant,
  type GrantRow,
  NO_RULES,
  type PermissionRules,
  rulesFrom,
  sameTable,
} from "./rules.ts";

/** Whose access may have changed: some users, or everyone. */
export type AccessChange = { users: ReadonlySet<string> } | { everyone: true };

export interface PermissionsOptions {
  pool: () => Sql | undefined;
  model: () => SchemaModel | undefined;
  logger: Logger;
  /** Streamed transactions not visible yet (fed by the log, shared with the snapshot reads). */
  visibility: Visibility;
}

const RULE_TABLES = new Set(["grants", "assignments"]);
const MAX_CACHED_USERS = 10_000;
/** Scope rows with resolved chains; past this everything is resolved again. */
const MAX_CACHED_PATHS = 50_000;

export class Permissions {
  readonly #o: PermissionsOptions;
  #rules: PermissionRules = NO_RULES;
  #loading: Promise<void> | undefined;
  readonly #roles = new Map<string, Promise<UserRole[]>>();
  readonly #listeners = new Set<(change: AccessChange) => void>();
  readonly #paths = new PathCache((sql) => this.#visible(sql));
  /** Grants already said to open nothing (said once per load of the rules). */
  readonly #warned = new Set<Grant>();

  constructor(options: PermissionsOptions) {
    this.#o = options;
  }

  get rules(): PermissionRules {
    return this.#rules;
  }

  /**
   * Resolves once the rules have been read; the first caller starts the read. A failed read
   * rejects (nobody is served on rules that could not be read) and the next caller tries again.
   */
  loaded(): Promise<void> {
    if (!this.#loading) {
      const sql = this.#o.pool();
      if (!sql) return Promise.reject(new Error("Postgres is not connected"));
      this.#loading = this.reload(sql);
      this.#loading.catch(() => this.#loading = undefined);
    }
    return this.#loading;
  }

  /** Reads the rules from Postgres (at start, and when they change). */
  async reload(sql: Sql): Promise<void> {
    await this.#visible(sql);
    const grants = await sql.unsafe<GrantRow[]>(
      `SELECT privilege, on_table, role, column_name, scope, using_path, check_fn
         FROM electric.grants`,
    );
    const assignments = await sql.unsafe<AssignmentRow[]>(
      `SELECT table_name, scope_table, user_column, role_name, role_column, if_fn
         FROM electric.assignments`,
    );
    const loaded = rulesFrom([...grants], [...assignments]);
    if (!loaded.ok) {
      // Keep what was enforced before rather than open or close everything on a bad row.
      throw new Error(`Invalid permission rules: ${loaded.error.message}`);
    }
    this.#rules = loaded.rules;
    this.#roles.clear();
    this.#paths.clear();
    this.#warned.clear();
  }

  /** The roles `userId` holds now (read once, then kept until the data behind them changes). */
  rolesOf(userId: string): Promise<UserRole[]> {
    let roles = this.#roles.get(userId);
    if (!roles) {
      // Users come and go: the cache is a cache, not a record of everyone ever seen.
      if (this.#roles.size >= MAX_CACHED_USERS) this.#roles.clear();
      roles = this.#readRoles(userId);
      this.#roles.set(userId, roles);
      roles.catch(() => this.#roles.delete(userId));
    }
    return roles;
  }

  /**
   * For each scoped grant whose path to its scope has more than one foreign key, the keys of
   * the first parent table leading to a scope row in which the user holds the grant's role
   * (cached per scope row; see path_cache.ts). A chain that cannot be resolved is left out
   * (that grant then opens nothing) and said in the log.
   */
  async resolvedPaths(
    userId: string,
    roles: readonly UserRole[],
    model: SchemaModel | undefined,
  ): Promise<ResolvedPaths> {
    const resolved = new Map<Grant, string[][]>();
    this.#paths.forget(userId);
    const sql = this.#o.pool();
    if (!model || !sql) return resolved;
    for (const grant of this.#rules.grants) {
      if (!grant.scope) continue;
      const keys = scopeKeys(roles, grant.role, grant.scope);
      if (keys.length === 0) continue;
      const table = findTable(model, grant.table.schema, grant.table.name);
      if (!table) continue;
      const path = scopePath(table, grant.scope, { usingPath: grant.usingPath, model });
      if (!path.ok) {
        if (this.#warned.has(grant)) continue;
        this.#warned.add(grant);
        this.#o.logger.warning(
          `A ${grant.privilege} grant on ${grant.table.schema}.${grant.table.name} opens ` +
            `nothing: ${path.reason}`,
        );
        continue;
      }
      if (path.hops.length < 2) continue;
      resolved.set(grant, await this.#paths.resolve(sql, model, { hops: path.hops, keys, userId }));
    }
    if (this.#paths.size > MAX_CACHED_PATHS) {
      const users = this.#paths.clear();
      users.delete(userId);
      if (users.size > 0) this.#emit({ users });
    }
    return resolved;
  }

  onChange(listener: (change: AccessChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Looks at one replicated transaction for changes to the rules or to anyone's roles. */
  observe(tx: Transaction): void {
    let rulesChanged = false;
    const users = new Set<string>();
    /** Users whose roles must be read again (the others only resolve their paths again). */
    const assignees = new Set<string>();
    for (const change of tx.changes) {
      if (change.kind === "truncate") {
        if (change.relations.some((r) => this.#assignmentOf(r.schema, r.table))) {
          rulesChanged = true;
        }
        for (const r of change.relations) {
          for (const user of this.#paths.truncated({ schema: r.schema, name: r.table })) {
            users.add(user);
          }
        }
        continue;
      }
      const { schema, table } = change.relation;
      if (schema === "electric" && RULE_TABLES.has(table)) {
        rulesChanged = true;
        continue;
      }
      const moved = this.#paths.changed({ schema, name: table }, [
        change.oldRecord,
        change.record,
      ]);
      for (const user of moved) users.add(user);
      for (const assignment of this.#rules.assignments) {
        if (!sameTable(assignment.table, { schema, name: table })) continue;
        for (const row of [change.record, change.oldRecord]) {
          const user = row?.[assignment.userColumn];
          if (user !== undefined && user !== null) {
            users.add(user);
            assignees.add(user);
          }
        }
      }
    }
    if (rulesChanged) {
      const sql = this.#o.pool();
      if (!sql) return;
      this.reload(sql).then(
        () => this.#emit({ everyone: true }),
        (error) => this.#o.logger.error(`Permission rules not reloaded: ${error.message}`),
      );
      return;
    }
    if (users.size === 0) return;
    for (const user of assignees) this.#roles.delete(user);
    this.#emit({ users });
  }

  /**
   * Waits until the transactions streamed so far are visible to new snapshots (at most
   * VISIBLE_MS, visibility.ts). Under load the service can act on a streamed transaction (drop
   * a chain, forget roles, reload the rules) and read Postgres before other sessions see it;
   * such a read misses the change it follows and its answer is cached as current with nothing
   * left to drop it: an issue moved into a user's project would never bring its comments.
   */
  #visible(sql: Sql): Promise<void> {
    return this.#o.visibility.visible(sql, "Permissions read");
  }

  #emit(change: AccessChange): void {
    for (const listener of this.#listeners) listener(change);
  }

  #assignmentOf(schema: string, table: string): Assignment | undefined {
    return this.#rules.assignments.find((a) => sameTable(a.table, { schema, name: table }));
  }

  async #readRoles(userId: string): Promise<UserRole[]> {
    const sql = this.#o.pool();
    const model = this.#o.model();
    if (!sql || !model || this.#rules.assignments.length === 0) return [];
    await this.#visible(sql);
    const roles: UserRole[] = [];
    for (const assignment of this.#rules.assignments) {
      const query = rolesQuery(assignment, model);
      if (!query) {
        this.#o.logger.warning(
          `Assignment on ${assignment.table.schema}.${assignment.table.name} skipped: ` +
            `no single foreign key to its scope table`,
        );
        continue;
      }
      const rows = await sql.unsafe<Row[]>(query.text, [userId]);
      for (const row of rows) {
        const role = row.role;
        if (role === null || role === undefined) continue;
        if (!query.scopeColumns) {
          roles.push({ role });
          continue;
        }
        const key = query.scopeColumns.map((_, i) => row[`scope_${i}`]);
        if (key.some((v) => v === null || v === undefined)) continue;
        roles.push({ role, scope: { table: assignment.scope!, key: key as string[] } });
      }
    }
    return roles;
  }
}

/**
 * The query for one user's roles from one assignment: the role (a name, or the role column)
 * and the scope row's key (the assignment table's key when it is the scope table, else the
 * columns of its one foreign key to the scope table), for the rows whose user column is the
 * user. Undefined when the scope row cannot be told from an assignment row.
 */
export function rolesQuery(
  assignment: Assignment,
  model: SchemaModel,
): { text: string; scopeColumns?: string[] } | undefined {
  const table = findTable(model, assignment.table.schema, assignment.table.name);
  if (!table) return undefined;
  const role = assignment.role.kind === "name"
    ? `${literal(assignment.role.name)}::text`
    : `${quoteIdent(assignment.role.column)}::text`;
  let scopeColumns: string[] | undefined;
  if (assignment.scope) {
    // The scope row is the assignment row itself, or the one its foreign key references.
    scopeColumns = scopeColumnsOf(table, assignment.scope);
    if (!scopeColumns) return undefined;
  }
  const selected = [
    `${role} AS role`,
    ...(scopeColumns ?? []).map((c, i) => `${quoteIdent(c)}::text AS scope_${i}`),
  ];
  const condition = assignment.condition ? ` AND (${assignment.condition})` : "";
  return {
    text: `SELECT ${selected.join(", ")} FROM ${quoteIdent(table.schema)}.${
      quoteIdent(table.name)
    } WHERE ${quoteIdent(assignment.userColumn)}::text = $1${condition}`,
    scopeColumns,
  };
}

function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}
