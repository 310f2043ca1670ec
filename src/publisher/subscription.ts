/**
 * The subscription through which Postgres pulls client writes from the publisher
 * (postgres-side.md §2.1 steps 3 and 6, §2.8): created disabled and without a remote slot,
 * enabled and refreshed (without copying data) once the publisher listens, and refreshed
 * again whenever a table is electrified. In `direct_writes` mode it is disabled. It is
 * `postgres_1` for an instance without ELECTRIC_INSTANCE_ID, else one per instance
 * (storage `instanceNames`), each pointing at its own instance's publisher. Postgres errors
 * are matched by SQLSTATE.
 */
import { base64url } from "jose";
import { withTimeout } from "../lifecycle/mod.ts";
import { type ConnectorStep, ORIGIN, PUBLICATION_NAME, type Sql } from "../storage/mod.ts";
import type { Logger } from "../telemetry/mod.ts";
import type { PublisherCatalog } from "./catalog.ts";
import type { ListenResult } from "./server.ts";

const DUPLICATE_OBJECT = "42710";
const UNDEFINED_OBJECT = "42704";
/** "ALTER SUBSCRIPTION ... REFRESH is not allowed for disabled subscriptions". */
const OBJECT_NOT_IN_PREREQUISITE_STATE = "55000";

export interface SubscriptionTarget {
  /** LOGICAL_PUBLISHER_HOST: how Postgres reaches the service. */
  host: string;
  /** LOGICAL_PUBLISHER_PORT. */
  port: number;
  /** The subscription's name; default `postgres_1`. */
  name?: string;
}

/** `"name"`, quoted as an identifier. */
function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === "string" ? code : undefined;
}

/** 32 random bytes as base64url: no characters that need quoting in a connection string. */
function randomSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return base64url.encode(bytes);
}

function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** libpq keyword/value form; values with spaces or quotes are quoted the libpq way. */
function conninfoValue(value: string): string {
  return /^[^\s'\\]+$/.test(value)
    ? value
    : `'${value.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
}

/**
 * The subscription's connection string. `connect_timeout=5000` is the reference's database
 * timeout in milliseconds copied verbatim (libpq reads it as seconds).
 */
export function subscriptionConninfo(target: SubscriptionTarget, password?: string): string {
  return `host=${conninfoValue(target.host)} port=${target.port} dbname=electric ` +
    `connect_timeout=5000` + (password === undefined ? "" : ` password=${conninfoValue(password)}`);
}

/** The `password` of a libpq keyword/value connection string, if it has one. */
export function conninfoPassword(conninfo: string): string | undefined {
  // Values are bare, or quoted with \' and \\ escapes (as conninfoValue writes them).
  const pattern = /(?:^|\s)password\s*=\s*(?:'((?:[^'\\]|\\.)*)'|([^\s']+))/;
  const match = pattern.exec(conninfo);
  if (!match) return undefined;
  return match[1] !== undefined ? match[1].replace(/\\(.)/g, "$1") : match[2];
}

/**
 * The secret the publisher asks subscribers for: the password in the subscription's connection
 * string (readable only by superusers, which this mode requires). A subscription without one
 * (made by an earlier version) or with another target gets a new random secret.
 */
export async function subscriptionSecret(
  sql: Sql,
  target: SubscriptionTarget,
  newSecret: () => string,
): Promise<string> {
  const rows = await sql<{ conninfo: string }[]>`
    SELECT subconninfo AS conninfo FROM pg_catalog.pg_subscription
     WHERE subname = ${target.name ?? ORIGIN} AND subdbid = (
       SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())`;
  const current = rows[0]?.conninfo;
  const known = current === undefined ? undefined : conninfoPassword(current);
  if (known !== undefined && current === subscriptionConninfo(target, known)) return known;
  const secret = newSecret();
  await sql.unsafe(
    `ALTER SUBSCRIPTION ${quoteIdent(target.name ?? ORIGIN)} CONNECTION ${
      quoteLiteral(subscriptionConninfo(target, secret))
    }`,
  );
  return secret;
}

/**
 * How the apply worker commits client transactions: flushed locally at each commit. A
 * subscription commits asynchronously by default, and WAL senders send only flushed WAL, so
 * the echo of a client write (and every other client's copy of it) would wait for the WAL
 * writer: up to 200 ms, about 100 ms per write on average.
 */
const SYNCHRONOUS_COMMIT = "local";

/**
 * `CREATE SUBSCRIPTION postgres_1 ... WITH (connect = false, synchronous_commit = local)`;
 * "already exists" is fine.
 */
export async function createSubscription(sql: Sql, target: SubscriptionTarget): Promise<void> {
  try {
    await sql.unsafe(
      `CREATE SUBSCRIPTION ${quoteIdent(target.name ?? ORIGIN)} ` +
        `CONNECTION ${quoteLiteral(subscriptionConninfo(target))} ` +
        `PUBLICATION "${PUBLICATION_NAME}" WITH (connect = false, ` +
        `synchronous_commit = '${SYNCHRONOUS_COMMIT}')`,
    );
  } catch (error) {
    if (sqlState(error) !== DUPLICATE_OBJECT) throw error;
  }
}

/**
 * `ALTER SUBSCRIPTION ... REFRESH PUBLICATION WITH (copy_data = false)`: subscribes newly
 * published tables. Postgres connects to the publisher to list them, so it must be listening.
 * Refused for a disabled subscription, which is ignored.
 */
export async function refreshSubscription(sql: Sql, name: string = ORIGIN): Promise<void> {
  try {
    await sql.unsafe(
      `ALTER SUBSCRIPTION ${quoteIdent(name)} REFRESH PUBLICATION WITH (copy_data = false)`,
    );
  } catch (error) {
    if (sqlState(error) !== OBJECT_NOT_IN_PREREQUISITE_STATE) throw error;
  }
}

/**
 * `ALTER SUBSCRIPTION ... ENABLE`, then a refresh. The commit mode is set again first: a
 * subscription created by an earlier version has the default.
 */
export async function enableSubscription(sql: Sql, name: string = ORIGIN): Promise<void> {
  await sql.unsafe(
    `ALTER SUBSCRIPTION ${quoteIdent(name)} SET (synchronous_commit = '${SYNCHRONOUS_COMMIT}')`,
  );
  await sql.unsafe(`ALTER SUBSCRIPTION ${quoteIdent(name)} ENABLE`);
  await refreshSubscription(sql, name);
}

/** `direct_writes` mode: disables the subscription; failures (e.g. none exists) are logged. */
export async function disableSubscription(
  sql: Sql,
  logger: Logger,
  name: string = ORIGIN,
): Promise<void> {
  try {
    await sql.unsafe(`ALTER SUBSCRIPTION ${quoteIdent(name)} DISABLE`);
  } catch (error) {
    const message = `Could not disable subscription "${name}": ${(error as Error).message}`;
    if (sqlState(error) === UNDEFINED_OBJECT) logger.debug(message);
    else logger.warning(message);
  }
}

export interface SubscriptionStepOptions {
  writeMode: "logical_replication" | "direct_writes";
  /** Required in `logical_replication` mode (with the instance's subscription name). */
  target?: SubscriptionTarget;
  /** The subscription to disable in `direct_writes` mode; default `target.name` or `postgres_1`. */
  name?: string;
  /** The publisher's listener (e.g. `publisher.listen()`); awaited before enabling. */
  listening?: () => Promise<ListenResult>;
  /** Reloaded before enabling, so the subscriber's table list query sees every table. */
  catalog?: PublisherCatalog;
  logger: Logger;
  /** How long to wait for the listener; default 30 s. */
  listenTimeoutMs?: number;
  /** Receives the secret subscribers must authenticate with, before the subscription is enabled. */
  secret?: (password: string) => void;
}

/**
 * A connector step for the end of startup. In `logical_replication` mode it creates the
 * subscription, waits for the publisher's listener, reloads the catalog, then enables and
 * refreshes; a failure throws so the connector retries. Runs while the connector reports
 * `subscribing`.
 */
export function subscriptionStep(options: SubscriptionStepOptions): ConnectorStep {
  return {
    name: "subscription",
    state: "subscribing",
    async run({ sql }) {
      if (options.writeMode === "direct_writes") {
        await disableSubscription(
          sql,
          options.logger,
          options.name ?? options.target?.name ?? ORIGIN,
        );
        return;
      }
      if (options.target === undefined) throw new Error("LOGICAL_PUBLISHER_HOST not set");
      await createSubscription(sql, options.target);
      const secret = await subscriptionSecret(sql, options.target, randomSecret);
      options.secret?.(secret);
      if (options.listening) {
        const listened = await withTimeout(
          options.listening(),
          options.listenTimeoutMs ?? 30_000,
          undefined,
        );
        if (listened === undefined) throw new Error("The logical publisher is not listening yet");
        if (!listened.ok) throw new Error(listened.error.message);
      }
      await options.catalog?.refresh?.();
      await enableSubscription(sql, options.target.name ?? ORIGIN);
    },
  };
}

/**
 * Returns a function that refreshes the catalog and the subscription in the background
 * (after a table is electrified); calls never overlap, and failures are logged only.
 */
export function subscriptionRefresher(options: {
  sql: () => Sql | undefined;
  catalog?: PublisherCatalog;
  logger: Logger;
  /** Default `postgres_1`. */
  name?: string;
}): () => Promise<void> {
  const name = options.name ?? ORIGIN;
  let chain = Promise.resolve();
  return () => {
    chain = chain.then(async () => {
      const sql = options.sql();
      if (sql === undefined) return;
      try {
        await options.catalog?.refresh?.();
        await refreshSubscription(sql, name);
      } catch (error) {
        options.logger.warning(
          `Could not refresh subscription "${name}": ${(error as Error).message}`,
        );
      }
    });
    return chain;
  };
}
