/**
 * What a proxy session is given (its options) and what each step of it asks of the transport
 * (`Output`): the types the session, its engine and its plans share, kept apart so that none
 * of them imports another for its types.
 */
import type { SchemaModel } from "../schema/mod.ts";

export interface SessionOptions {
  /** PG_PROXY_PASSWORD. */
  password: string;
  /** Credentials and database of the upstream connection (from DATABASE_URL). */
  upstream: { user: string; password: string; database: string };
  featureEnabled(name: string): boolean;
  randomBytes(n: number): Uint8Array;
  now(): Date;
  /** The service's electrified schema now (Prisma introspection mode answers from it). */
  schema?: () => SchemaModel | undefined;
}

export interface LogEntry {
  level: "debug" | "info" | "warning" | "error";
  message: string;
}

export interface Output {
  toClient: Uint8Array[];
  toUpstream: Uint8Array[];
  /** Open the upstream connection, then report `upstream_connected` or `upstream_failed`. */
  connectUpstream?: boolean;
  /** Forward a cancel request to the upstream server on a connection of its own. */
  cancel?: { processId: number; secretKey: number };
  /** Close both connections once `toClient` is written. */
  close?: boolean;
  logs: LogEntry[];
  /** Migrations committed (for `electric_proxy_migrations_captured_total`). */
  captured?: number;
  /**
   * Wait until the service knows the migration of committed transaction `txid` (bounded),
   * then report `migration_known`.
   */
  awaitMigration?: { txid: string };
}
