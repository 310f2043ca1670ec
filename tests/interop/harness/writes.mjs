/**
 * Helpers for the write-path interop tests (writes*.interop.mjs): the write mode under test,
 * and small views of the real client's local state (its id, its operation log) that tell when
 * a local write has become a client transaction and when the service has echoed it back.
 *
 * The write mode comes from INTEROP_WRITE_MODE (`direct_writes`, the default, or
 * `logical_replication`); `startWriteScenario` starts the service in it (or pass
 * `writeModeEnv()` as the `env` of `startService`).
 */
import postgres from "postgres";
import { defer } from "./mod.mjs";
import { freshDatabase, stopPostgres } from "./postgres.mjs";
import { startService } from "./service.mjs";
import { waitFor } from "./wait.mjs";

/** @typedef {"direct_writes" | "logical_replication"} WriteMode */

/** @returns {WriteMode} */
export function currentWriteMode() {
  const mode = process.env.INTEROP_WRITE_MODE ?? "direct_writes";
  if (mode !== "direct_writes" && mode !== "logical_replication") {
    throw new Error(
      `Unknown INTEROP_WRITE_MODE "${mode}": expected direct_writes or logical_replication`,
    );
  }
  return mode;
}

/**
 * Service environment for a write mode. In `logical_replication` mode Postgres connects to the
 * service's publisher on 127.0.0.1; `startService` already hands it a free
 * LOGICAL_PUBLISHER_PORT.
 * @param {WriteMode} [mode]
 * @returns {Record<string, string>}
 */
export function writeModeEnv(mode = currentWriteMode()) {
  return mode === "logical_replication"
    ? {
      ELECTRIC_WRITE_TO_PG_MODE: mode,
      LOGICAL_PUBLISHER_HOST: "127.0.0.1",
    }
    : { ELECTRIC_WRITE_TO_PG_MODE: mode };
}

/**
 * @typedef {Awaited<ReturnType<typeof import("./client.mjs").createClient>>} Client
 */

/**
 * The client's id (`SatAuthReq.id`, the origin of its transactions), once it has one.
 * @param {Client} client
 * @returns {Promise<string>}
 */
export async function clientIdOf(client) {
  const rows = await client.query(
    "SELECT value FROM _electric_meta WHERE key = 'clientId'",
  );
  const value = rows[0]?.value;
  if (typeof value !== "string" || value === "") {
    throw new Error("The client has no clientId yet (connect it first)");
  }
  return value;
}

/**
 * The client's local operation log: entries not yet echoed back by the service. `timestamp` is
 * NULL until the client has snapshotted the write into a transaction.
 * @param {Client} client
 * @returns {Promise<Array<{ rowid: number, tablename: string, optype: string, timestamp: string | null }>>}
 */
export async function oplogOf(client) {
  return /** @type {any} */ (await client.query(
    'SELECT rowid, tablename, optype, timestamp FROM _electric_oplog ORDER BY rowid',
  ));
}

/** @type {WeakMap<object, Array<{ rowid: number, timestamp: string }>>} */
const snapshotted = new WeakMap();

/**
 * The oplog entries the client has snapshotted into transactions, in order, as it reports them
 * (its `_notifyChanges` for local changes gets the entries just timestamped). Read from the
 * client rather than from its oplog: with a fast service the echo of a transaction can empty
 * the oplog before a poll would have seen the timestamps.
 * @param {Client} client
 */
function snapshotsOf(client) {
  let entries = snapshotted.get(client);
  if (entries) return entries;
  const list = /** @type {Array<{ rowid: number, timestamp: string }>} */ ([]);
  entries = list;
  snapshotted.set(client, list);
  const satellite = /** @type {any} */ (client.electric).satellite;
  const original = satellite._notifyChanges.bind(satellite);
  satellite._notifyChanges = (/** @type {any[]} */ results, /** @type {string} */ origin) => {
    if (origin === "local") {
      for (const entry of results) {
        list.push({ rowid: Number(entry.rowid), timestamp: String(entry.timestamp) });
      }
    }
    return original(results, origin);
  };
  return list;
}

/**
 * A local write (one statement, or several in one SQLite transaction), then waits until the
 * client has turned it into a transaction (snapshotted every oplog entry). Waiting between
 * writes makes each write its own client transaction.
 * @param {Client} client
 * @param {string | Array<{ sql: string, args?: unknown[] }>} sql
 * @param {unknown[]} [args]
 * @returns {Promise<{ timestamp: string, rowid: number }>} commit time and last oplog rowid
 */
export async function writeTransaction(client, sql, args = []) {
  const snapshots = snapshotsOf(client);
  const seen = snapshots.length;
  if (typeof sql === "string") {
    await client.run(sql, args);
  } else {
    await client.electric.adapter.runInTransaction(
      ...sql.map((s) => ({ sql: s.sql, args: s.args ?? [] })),
    );
    client.electric.notifier.potentiallyChanged();
  }
  await waitFor(async () => {
    if (snapshots.length === seen) return false;
    // Nothing of the write is left waiting for a snapshot.
    const log = await oplogOf(client);
    return log.every((e) => e.timestamp !== null);
  }, {
    timeoutMs: 30_000,
    what: () =>
      `the client's snapshot of ${
        typeof sql === "string" ? sql : sql.map((s) => s.sql).join("; ")
      } (client connectivity: ${
        JSON.stringify(/** @type {any} */ (client.electric).satellite?.connectivityState)
      })`,
  });
  // The entry written last (an UPDATE … RETURNING need not list rows in rowid order).
  const last = snapshots.slice(seen).reduce((a, b) => (b.rowid > a.rowid ? b : a));
  return { timestamp: last.timestamp, rowid: last.rowid };
}

/**
 * Waits until the service has echoed every local write back (the client garbage-collects its
 * oplog when it sees a transaction with its own origin).
 * @param {Client} client
 * @param {number} [timeoutMs]
 * @param {() => string} [diagnostics]
 */
export async function waitForEcho(client, timeoutMs = 10_000, diagnostics) {
  /** @type {unknown[]} */
  let last = [];
  await waitFor(async () => {
    last = await oplogOf(client);
    return last.length === 0;
  }, {
    timeoutMs,
    what: () =>
      `the client's oplog to be emptied by the echo of its writes; still: ${
        JSON.stringify(last)
      }; client states: [${client.states.join(", ")}]${
        diagnostics ? `\n${diagnostics()}` : ""
      }`,
  });
}

/**
 * Disconnects the client (no automatic reconnect) and waits for the "disconnected" state.
 * @param {Client} client
 */
export async function disconnect(client) {
  client.electric.disconnect();
  await waitFor(
    () =>
      /** @type {any} */ (client.electric).satellite.connectivityState
        ?.status === "disconnected",
    { timeoutMs: 5000, what: "the client to be disconnected" },
  );
}

/** The client's LSN for a transaction whose last oplog entry has `rowid` (4 bytes, big endian). */
export function clientLsnHex(rowid) {
  return `\\x${rowid.toString(16).padStart(8, "0")}`;
}

/**
 * The setup every write scenario shares: a fresh database, the service under `runtime` in the
 * write mode under test, a postgres.js connection (UTC), the scenario's schema, and (when the
 * schema electrifies something) a wait until /api/migrations serves it. Everything is torn
 * down through `defer`, last first.
 * @param {{
 *   runtime: string,
 *   mode: WriteMode,
 *   schema: string,
 *   connections?: number,
 *   waitForMigrations?: boolean,
 *   diagnostics: () => string,
 * }} options
 */
export async function startWriteScenario(options) {
  defer("postgres", stopPostgres);
  const db = await freshDatabase();
  defer("database", () => db.drop());
  const service = await startService({
    databaseUrl: db.url,
    runtime: options.runtime,
    env: writeModeEnv(options.mode),
  });
  defer("service", () => service.stop());
  const sql = postgres(db.url, {
    max: options.connections ?? 2,
    onnotice: () => {},
    connection: { TimeZone: "UTC" },
  });
  defer("sql", () => sql.end({ timeout: 1 }));
  await sql.unsafe(options.schema);
  if (options.waitForMigrations !== false) {
    await waitFor(async () => {
      const res = await fetch(`${service.url}/api/migrations?dialect=sqlite`);
      await res.body?.cancel();
      return res.status === 200;
    }, {
      timeoutMs: 15_000,
      intervalMs: 100,
      what: () => `/api/migrations to serve the scenario's tables\n${options.diagnostics()}`,
    });
  }
  return { db, service, sql };
}
