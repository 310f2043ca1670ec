/**
 * The unmodified electric-sql@0.12.1 client over better-sqlite3, built without the generator.
 *
 * The schema object that `electric-sql generate` would emit is assembled by hand from
 * `DbSchema`/`Relation`: `fields` maps columns to upper-case Postgres type names (the
 * replication layer encodes outgoing values by them), every foreign key gets a `Relation` on
 * both tables (needed for `include` in `sync`), and the DAL's zod schemas are permissive but
 * shaped the way the DAL inspects them (`select`/`include` optional objects with `_count`,
 * `where` and `include` in the find schema). Bundled migrations default to none, so a fresh
 * client receives every migration from the service.
 *
 * Reads go through `electric.adapter.query` (`db.rawQuery` rejects SQL that merely contains
 * words like "update"); writes through `electric.adapter.run` plus
 * `notifier.potentiallyChanged()`, without which they wait for the client's 2 s poll.
 * Run client processes with TZ=UTC: the client converts temporal values via local time.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { z } from "zod";
import { insecureAuthToken } from "electric-sql/auth";
import { DbSchema, Relation } from "electric-sql/client/model";
import { electrify } from "electric-sql/node";
import { waitFor, withTimeout } from "./wait.mjs";

/**
 * @typedef {"UUID" | "TEXT" | "INT2" | "INT4" | "INT8" | "FLOAT4" | "FLOAT8" | "BOOL" | "DATE" |
 *   "TIME" | "TIMESTAMP" | "TIMESTAMPTZ" | "JSONB" | "BYTEA" | "VARCHAR"} PgTypeName
 *
 * @typedef {object} ForeignKey
 * @property {string} column column of this table
 * @property {string} table referenced table
 * @property {string} [references] referenced column, default "id"
 * @property {string} [field] relation field on this table, default: the referenced table's name
 * @property {string} [inverseField] relation field on the referenced table, default: this table's name
 *
 * @typedef {object} TableSpec
 * @property {Record<string, PgTypeName>} fields columns in table order
 * @property {ForeignKey[]} [foreignKeys]
 *
 * @typedef {object} ClientOptions
 * @property {string} serviceUrl e.g. http://127.0.0.1:5133 (the client derives ws://…/ws)
 * @property {Record<string, TableSpec>} tables
 * @property {string} [dbPath] SQLite file; default a fresh temp file removed on close()
 * @property {string} [userId] `sub` of the insecure token, default "interop-user"
 * @property {string} [token] overrides the generated token
 * @property {boolean} [debug] client TRACE logging (also env INTEROP_CLIENT_DEBUG=1)
 * @property {number} [timeout] client RPC timeout in ms (client default 3000)
 * @property {object[]} [migrations] bundled SQLite migrations, default []
 * @property {() => string} [diagnostics] appended to timeout errors (e.g. the service output)
 */

const anything = z.any().optional();
/** `select`/`include`: optional objects with a `_count` key (the DAL omits it). */
const selection = () => z.object({ _count: anything }).passthrough().optional();
/** An input schema with every key the DAL might look at, all optional. */
const input = () =>
  z.object({
    data: anything,
    where: anything,
    select: selection(),
    include: selection(),
    orderBy: anything,
    take: anything,
    skip: anything,
    distinct: anything,
    create: anything,
    update: anything,
  }).passthrough();

/**
 * @param {Record<string, TableSpec>} tables
 * @param {object[]} migrations
 */
export function buildSchema(tables, migrations = []) {
  /** @type {Record<string, Relation[]>} */
  const relations = Object.fromEntries(
    Object.keys(tables).map((name) => [name, []]),
  );
  for (const [name, spec] of Object.entries(tables)) {
    for (const fk of spec.foreignKeys ?? []) {
      if (!relations[fk.table]) {
        throw new Error(
          `Foreign key ${name}.${fk.column}: table "${fk.table}" is not in the schema`,
        );
      }
      const relationName = `${name}_${fk.column}To${fk.table}`;
      // Outgoing side (holds the key), then the incoming side (empty from/to fields).
      relations[name].push(
        new Relation(
          fk.field ?? fk.table,
          fk.column,
          fk.references ?? "id",
          fk.table,
          relationName,
          "one",
        ),
      );
      relations[fk.table].push(
        new Relation(
          fk.inverseField ?? name,
          "",
          "",
          name,
          relationName,
          "many",
        ),
      );
    }
  }
  const described = Object.fromEntries(
    Object.entries(tables).map(([name, spec]) => [name, {
      fields: new Map(Object.entries(spec.fields)),
      relations: relations[name],
      modelSchema: z.object({}).passthrough(),
      createSchema: input(),
      createManySchema: input(),
      findUniqueSchema: input(),
      findSchema: input(),
      updateSchema: input(),
      updateManySchema: input(),
      upsertSchema: input(),
      deleteSchema: input(),
      deleteManySchema: input(),
    }]),
  );
  return new DbSchema(described, migrations, []);
}

/**
 * Electrifies a SQLite database with the real client; call `connect()` next.
 * @param {ClientOptions} options
 */
export async function createClient(options) {
  const ownDir = options.dbPath
    ? undefined
    : mkdtempSync(join(tmpdir(), "electric-interop-client-"));
  const dbPath = options.dbPath ??
    join(/** @type {string} */ (ownDir), "client.db");
  const sqlite = new Database(dbPath);
  const schema = buildSchema(options.tables, options.migrations ?? []);
  const token = options.token ??
    insecureAuthToken({ sub: options.userId ?? "interop-user" });
  const diagnostics = options.diagnostics ?? (() => "");
  /** @type {string[]} connectivity transitions, for failure messages */
  const states = [];

  const electric = await electrify(sqlite, schema, {
    url: options.serviceUrl,
    debug: options.debug ?? process.env.INTEROP_CLIENT_DEBUG === "1",
    ...(options.timeout ? { timeout: options.timeout } : {}),
  });
  const unsubscribeStates = electric.notifier
    .subscribeToConnectivityStateChanges(
      (/** @type {any} */ { connectivityState }) => {
        const reason = connectivityState.reason
          ? `: ${connectivityState.reason.message ?? connectivityState.reason}`
          : "";
        states.push(`${connectivityState.status}${reason}`);
      },
    );
  /** @param {string} what */
  const failure = (what) => () => {
    const extra = diagnostics();
    return `${what}; client states: [${states.join(", ")}]${
      extra ? `\n${extra}` : ""
    }`;
  };
  let closed = false;

  const client = {
    electric,
    sqlite,
    dbPath,
    token,
    /** connectivity transitions seen so far */
    states,

    /** `connect()` bounded by `timeoutMs`; on timeout, stops the client's retry loop. */
    async connect(timeoutMs = 10_000) {
      const attempt = electric.connect(token);
      // After a timeout, disconnect() makes the pending attempt reject; that is expected.
      attempt.catch(() => {});
      try {
        await withTimeout(
          attempt,
          timeoutMs,
          failure(`Client connect() did not finish within ${timeoutMs} ms`),
        );
      } catch (error) {
        try {
          electric.disconnect();
        } catch { /* ignore */ }
        throw error;
      }
    },

    /**
     * Subscribes to a shape; resolves when its initial data is in SQLite.
     * @param {string} table
     * @param {{ where?: object | string, include?: object, key?: string }} [shape]
     * @param {number} [timeoutMs]
     */
    async sync(table, shape = {}, timeoutMs = 10_000) {
      const dal = /** @type {any} */ (electric.db)[table];
      if (!dal) throw new Error(`Table "${table}" is not in the client schema`);
      const run = async () => {
        const { key, synced } = await dal.sync(shape);
        await synced;
        return key;
      };
      return await withTimeout(
        run(),
        timeoutMs,
        failure(`sync(${table}) not synced within ${timeoutMs} ms`),
      );
    },

    /**
     * @param {string} sql
     * @param {unknown[]} [args]
     * @returns {Promise<Record<string, unknown>[]>}
     */
    query(sql, args = []) {
      return electric.adapter.query({ sql, args });
    },

    /**
     * A local write that the client then replicates.
     * @param {string} sql
     * @param {unknown[]} [args]
     */
    async run(sql, args = []) {
      const result = await electric.adapter.run({ sql, args });
      electric.notifier.potentiallyChanged();
      return result;
    },

    /**
     * Polls `sql` until `predicate(rows)` holds; resolves with those rows.
     * @param {string} sql
     * @param {(rows: Record<string, unknown>[]) => boolean} predicate
     * @param {number} [timeoutMs]
     */
    async waitForRows(sql, predicate, timeoutMs = 10_000) {
      /** @type {Record<string, unknown>[]} */
      let last = [];
      try {
        return await waitFor(async () => {
          last = await client.query(sql);
          return predicate(last) ? last : undefined;
        }, { timeoutMs, intervalMs: 25, what: `client rows of \`${sql}\`` });
      } catch (error) {
        throw new Error(
          failure(
            `${/** @type {Error} */ (error).message}; last rows: ${
              JSON.stringify(last)
            }`,
          )(),
        );
      }
    },

    /** Names of the user tables in the client's SQLite. */
    async tables() {
      const rows = await client.query(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_electric%' ESCAPE '\\' AND name NOT LIKE 'sqlite%'",
      );
      return rows.map((row) => String(row.name)).sort();
    },

    /** Stops replication and closes SQLite. The client's ack timer may outlive this. */
    async close() {
      if (closed) return;
      closed = true;
      unsubscribeStates();
      try {
        // Generous under load: a client still running when its service stops reconnects.
        await withTimeout(
          electric.close(),
          15_000,
          () => "electric.close() timed out",
        );
      } finally {
        sqlite.close();
        if (ownDir) rmSync(ownDir, { recursive: true, force: true });
      }
    },
  };
  return client;
}
