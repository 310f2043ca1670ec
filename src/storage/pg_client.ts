/**
 * Builds postgres.js clients for the service's own connections from the database settings.
 *
 * Every such connection sets the session parameters the service relies on when it parses
 * Postgres's text output (bytea as hex, ISO dates, UTC, round-trippable floats). The proxy's
 * upstream connections do not come from here: they stay transparent to the user's session.
 */
import { isIP } from "node:net";
import postgres from "postgres";
import type { DatabaseConfig } from "../config/mod.ts";

export type Sql = postgres.Sql;

export interface SqlClientOptions {
  /** The address to dial (resolved per DATABASE_USE_IPV6); the configured host names TLS. */
  address: string;
  /** Pool size. */
  max?: number;
  applicationName?: string;
  /** Receives server notices instead of postgres.js printing them to the console. */
  onNotice?: (notice: postgres.Notice) => void;
}

export const SESSION_PARAMETERS = {
  bytea_output: "hex",
  DateStyle: "ISO, DMY",
  TimeZone: "UTC",
  extra_float_digits: "1",
} as const;

export function createSqlClient(database: DatabaseConfig, options: SqlClientOptions): Sql {
  return postgres({
    host: options.address,
    port: database.port,
    user: database.user,
    password: database.password,
    database: database.database,
    ssl: sslOption(database),
    max: options.max ?? 10,
    connect_timeout: Math.ceil(database.connectTimeoutMs / 1000),
    idle_timeout: 60,
    // The service reconnects itself with backoff; keep postgres.js from retrying silently.
    max_lifetime: null,
    onnotice: options.onNotice ?? (() => {}),
    connection: {
      application_name: options.applicationName ?? "electric",
      ...SESSION_PARAMETERS,
    },
  });
}

/**
 * A client of one connection with `pool`'s settings, for a part that keeps a session of its own
 * (prepared statements, pipelined transaction blocks). Why not a connection reserved from the
 * pool: postgres.js leaves a reserved connection that closed unusable (a query on it never
 * settles) and releasing it hands the dead connection back to the pool. This one connects again
 * when used after a close, and `onClose` says that it closed (so what was prepared on it is gone).
 */
export function dedicatedConnection(pool: Sql, options: { onClose?: () => void } = {}): Sql {
  const settings = pool.options as unknown as postgres.Options<Record<string, never>>;
  return postgres({
    ...settings,
    max: 1,
    // The pool's own close hook, if it has one, hears of this connection too.
    onclose: (id) => {
      settings.onclose?.(id);
      options.onClose?.();
    },
  }) as unknown as Sql;
}

/**
 * Required SSL verifies the server certificate (the name checked is the configured host, not
 * the resolved address). Otherwise SSL is tried first and plain TCP is used when the server
 * declines, which is what postgres.js calls "prefer".
 */
function sslOption(database: DatabaseConfig): postgres.Options<never>["ssl"] {
  if (!database.requireSsl) return "prefer";
  // TLS forbids an IP address as the server name; the certificate is then checked by IP.
  if (isIP(database.host) !== 0) return { rejectUnauthorized: true };
  return { rejectUnauthorized: true, servername: database.host };
}
