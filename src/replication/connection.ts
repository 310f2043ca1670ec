/**
 * The replication connection: a single postgres.js connection with `replication=database`,
 * derived from the service's pool so it shares host, credentials, TLS and the session
 * parameters (ISO dates in UTC, which the tag parser relies on).
 */
import postgres from "postgres";
import type { Sql } from "../storage/mod.ts";

export type ConnectReplication = () => Sql;

/** A factory of replication connections with the settings of `pool`. */
export function replicationConnectionFrom(pool: Sql): ConnectReplication {
  return () =>
    postgres({
      ...(pool.options as unknown as postgres.Options<Record<string, never>>),
      // No value transforms: everything on this connection is read as text.
      transform: { column: {}, value: {}, row: {} } as postgres.Options<never>["transform"],
      max: 1,
      // Type fetching would use the extended protocol, which walsenders do not speak.
      fetch_types: false,
      idle_timeout: undefined,
      max_lifetime: null,
      connection: { ...pool.options.connection, replication: "database" },
    }) as unknown as Sql;
}
