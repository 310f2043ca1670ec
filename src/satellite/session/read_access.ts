/**
 * What a connection's user may read and write, from the permission rules and the roles the
 * user holds now (src/permissions): reading as the function `ClientShapes` narrows layers
 * with, writing as a check of each change the client sends. And the live side: when the
 * user's access changes, the connection's groups change and the rows that moved are sent (in)
 * or withdrawn (gone) in one refresh transaction; later writes are checked against the new
 * access.
 */
import {
  type AccessContext,
  compileChecks,
  currentRowsReader,
  type Permissions,
  rowAccess,
  type RowWrite,
  transactionRefusal,
} from "../../permissions/mod.ts";
import type { Sql } from "../../storage/mod.ts";
import type { SchemaModel } from "../../schema/mod.ts";
import { startTransition } from "../../sync/mod.ts";
import type { ReadAccess } from "./client_shapes.ts";
import type { ClientShapes } from "./client_shapes.ts";
import type { ClientStream } from "./client_stream.ts";
import type { ConnectionDeps } from "./deps.ts";

export interface UserAccess {
  read: ReadAccess;
  /**
   * Why the user may not make the transaction `writes` (checked against the rows Postgres
   * holds); undefined when allowed.
   */
  refusal: (writes: readonly RowWrite[]) => Promise<string | undefined>;
}

/** Everything allowed: no permissions configured. */
export const FULL_ACCESS: UserAccess = {
  read: () => ({ kind: "all" }),
  refusal: () => Promise.resolve(undefined),
};

export async function loadAccess(
  permissions: Permissions | undefined,
  userId: string,
  model: SchemaModel | undefined,
  options: { warn: (message: string) => void; pool: () => Sql | undefined },
): Promise<UserAccess> {
  if (!permissions) return FULL_ACCESS;
  await permissions.loaded();
  const rules = permissions.rules;
  const roles = await permissions.rolesOf(userId);
  const context: AccessContext = {
    model,
    resolved: await permissions.resolvedPaths(userId, roles, model),
    checks: await compileChecks(rules, model, userId, options.warn),
  };
  return {
    read: (table) => rowAccess(rules, roles, table, "select", context),
    // Postgres is asked only when a governed table has scoped grants for what is written.
    refusal: (writes) =>
      transactionRefusal({ rules, roles, context }, writes, (table, columns, records) => {
        const sql = options.pool();
        if (!sql) return Promise.reject(new Error("Postgres is not connected"));
        return currentRowsReader(sql)(table, columns, records);
      }),
  };
}

/**
 * Follows `userId`'s access for one connection until the returned function is called. Changes
 * are applied one after another, each from the access read when it is applied.
 */
export function watchAccess(
  deps: ConnectionDeps,
  userId: string,
  connection: {
    shapes: () => ClientShapes | undefined;
    stream: () => ClientStream | undefined;
    /** The access now in force (writes are checked against it). */
    changed: (access: UserAccess) => void;
  },
  logger: { warning(message: string): void },
): () => void {
  const permissions = deps.permissions;
  if (!permissions) return () => {};
  let chain = Promise.resolve();
  let stopped = false;
  const apply = async () => {
    const model = deps.catalogs.get()?.current();
    const access = await loadAccess(permissions, userId, model, {
      warn: (m) => logger.warning(m),
      pool: deps.pool,
    });
    if (stopped) return;
    connection.changed(access);
    const shapes = connection.shapes();
    const stream = connection.stream();
    const sql = deps.pool();
    if (!shapes || !stream || !sql) return;
    const change = shapes.setAccess(access.read);
    const before = change.from.map((g) => g.definition.key).join("\n");
    if (before === change.to.map((g) => g.definition.key).join("\n")) return;
    const transition = startTransition(deps.hub, {
      kind: "refresh",
      from: change.from,
      to: change.to,
      base: deps.log.endLsn() ?? stream.position,
      sql,
      causedBy: "permissions",
    });
    stream.enqueue({ kind: "refresh", transition });
  };
  const stop = permissions.onChange((change) => {
    if (!("everyone" in change) && !change.users.has(userId)) return;
    chain = chain.then(apply).catch((error) =>
      logger.warning(`Could not apply a change of permissions: ${(error as Error).message}`)
    );
  });
  return () => {
    stopped = true;
    stop();
  };
}
