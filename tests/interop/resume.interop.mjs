/**
 * Reconnection with the real client: a fresh client with bundled migrations only receives the
 * later ones; a client that disconnects and reconnects resumes its subscriptions (not a reset)
 * and converges to Postgres; after the service is killed (-9) and restarted on the same port,
 * the client reconnects by itself and converges.
 * Runtime of the service: INTEROP_RUNTIME (deno | bun | binary).
 *
 * How "resumed, not reset" is observed (both must hold):
 * - a row deleted in SQLite with the client's oplog triggers switched off (so the deletion is
 *   never uploaded and Postgres keeps the row) does not come back: a reset wipes the synced
 *   tables and re-downloads them, which would restore it;
 * - the server-side subscription ids stored by the client (`_electric_meta.subscriptions`) are
 *   unchanged: after a reset the client re-subscribes under new ids.
 *
 * Migration versions are explicit and increasing (`electric.migration_version`): the service
 * orders versions as strings, so mixing explicit and default (timestamp) versions could make a
 * later migration look older.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import postgres from "postgres";
import {
  createClient,
  currentRuntime,
  defer,
  fetchBundledMigrations,
  freshDatabase,
  startService,
  stopPostgres,
  waitFor,
} from "./harness/mod.mjs";
import { RESET_REASONS, storedSubscriptionIds } from "./harness/resume.mjs";

const runtime = currentRuntime();

/** @type {Awaited<ReturnType<typeof startService>>} */
let service;
/** @type {string} */
let databaseUrl;
/** @type {import("postgres").Sql} */
let sql;
/** Output of service instances that were replaced (restart test). */
let previousOutput = "";

const serviceOutput = () =>
  `--- service output (${runtime}) ---\n${previousOutput}${
    service?.output() ?? "(not started)"
  }`;

before(async () => {
  defer("postgres", stopPostgres);
  const db = await freshDatabase();
  databaseUrl = db.url;
  defer("database", () => db.drop());
  service = await startService({ databaseUrl, runtime });
  // `service` may be replaced by the restart test: stop whichever instance is current.
  defer("service", () => service.stop());
  sql = postgres(db.url, { max: 4, onnotice: () => {} });
  defer("sql", () => sql.end({ timeout: 1 }));
}, { timeout: 90_000 });

let versionCounter = 0;
/** A new migration version, greater than every earlier one of this file. */
const nextVersion = () => `20300101${String(++versionCounter).padStart(6, "0")}`;

/**
 * Runs DDL (and electrifies `tables`) in one transaction under an explicit version.
 * @param {string[]} ddl
 * @param {string[]} [tables]
 * @returns {Promise<string>} the version
 */
async function migrate(ddl, tables = []) {
  const version = nextVersion();
  await sql.begin(async (tx) => {
    await tx`CALL electric.migration_version(${version})`;
    for (const statement of ddl) await tx.unsafe(statement);
    for (const table of tables) await tx.unsafe(`CALL electric.electrify('${table}')`);
  });
  return version;
}

/** Waits until /api/migrations serves `version`. */
async function servedVersion(version) {
  await waitFor(async () => {
    const migrations = await fetchBundledMigrations(service.url);
    return migrations.some((m) => m.version === version);
  }, {
    timeoutMs: 15_000,
    intervalMs: 100,
    what: () => `/api/migrations to serve version ${version}\n${serviceOutput()}`,
  });
}

/**
 * @param {Parameters<typeof createClient>[0]["tables"]} tables
 * @param {Partial<Parameters<typeof createClient>[0]>} [options]
 */
async function newClient(tables, options = {}) {
  const client = await createClient({
    serviceUrl: service.url,
    tables,
    diagnostics: serviceOutput,
    ...options,
  });
  defer("client", () => client.close());
  return client;
}

/** @param {Awaited<ReturnType<typeof createClient>>} client @param {string[]} names */
async function waitForTables(client, names) {
  await client.waitForRows(
    `SELECT name FROM sqlite_master WHERE type = 'table' AND name IN (${
      names.map((n) => `'${n}'`).join(", ")
    })`,
    (rows) => rows.length === names.length,
    10_000,
  );
}

/**
 * Deletes rows in SQLite only: the client's oplog triggers are switched off for the statement,
 * so nothing is uploaded; asserts the oplog did not grow.
 * @param {Awaited<ReturnType<typeof createClient>>} client
 * @param {string} table
 * @param {string} where
 */
async function deleteLocallyOnly(client, table, where) {
  const [{ n: before }] = await client.query("SELECT count(*) AS n FROM _electric_oplog");
  await client.electric.adapter.runInTransaction(
    { sql: `UPDATE _electric_trigger_settings SET flag = 0 WHERE tablename = '${table}'` },
    { sql: `DELETE FROM ${table} WHERE ${where}` },
    { sql: `UPDATE _electric_trigger_settings SET flag = 1 WHERE tablename = '${table}'` },
  );
  const [{ n: after }] = await client.query("SELECT count(*) AS n FROM _electric_oplog");
  assert.equal(after, before, "the local-only delete must not reach the oplog");
}

/** @param {Record<string, unknown>[]} rows */
const plain = (rows) => rows.map((r) => ({ ...r }));

// ---------------------------------------------------------------------------------------------
// 3. Bundled migrations

test("a fresh client with bundled migrations up to V receives only the later ones", {
  timeout: 60_000,
}, async () => {
  const v1 = await migrate(
    ["CREATE TABLE versioned (id text PRIMARY KEY, value text)"],
    ["versioned"],
  );
  await servedVersion(v1);
  const bundled = await fetchBundledMigrations(service.url, { upToVersion: v1 });
  assert.deepEqual(bundled.map((m) => m.version), [v1]);

  const v2 = await migrate(["ALTER TABLE versioned ADD COLUMN extra text"]);
  await servedVersion(v2);
  await sql`INSERT INTO versioned (id, value, extra) VALUES ('v-1', 'one', 'added later')`;

  const client = await newClient(
    { versioned: { fields: { id: "TEXT", value: "TEXT", extra: "TEXT" } } },
    { migrations: bundled },
  );
  // The bundled migration was applied locally at electrify time.
  assert.deepEqual(await client.tables(), ["versioned"]);
  assert.deepEqual(
    (await client.query("SELECT name FROM pragma_table_info('versioned') ORDER BY cid")).map((r) => r.name),
    ["id", "value"],
  );
  await client.connect(10_000);
  // Only v2 arrives: the ALTER adds the column. (Were v1 sent again, its CREATE TABLE would
  // fail on the existing table and the client would record v1 twice.)
  await client.waitForRows(
    "SELECT name FROM pragma_table_info('versioned') WHERE name = 'extra'",
    (rows) => rows.length === 1,
    10_000,
  );
  // Version "0" is the client's own bootstrap migration (its `_electric_*` tables).
  const versions = (await client.query("SELECT version FROM _electric_migrations WHERE version <> '0' ORDER BY id"))
    .map((r) => r.version);
  assert.deepEqual(versions, [v1, v2], "each version recorded once, in order");
  assert.ok(
    client.states.every((s) => !/error|UNKNOWN_SCHEMA/i.test(s)),
    `no errors: ${client.states}`,
  );

  await client.sync("versioned");
  assert.deepEqual(
    await client.query("SELECT id, value, extra FROM versioned"),
    [{ id: "v-1", value: "one", extra: "added later" }],
  );
  await sql`UPDATE versioned SET extra = 'changed' WHERE id = 'v-1'`;
  await client.waitForRows("SELECT extra FROM versioned", (r) => r[0]?.extra === "changed");
});

// ---------------------------------------------------------------------------------------------
// 4. Resume after disconnect()

const RESUME_TABLES = { resumable: { fields: { id: "TEXT", value: "TEXT", n: "INT4" } } };
const RESUME_WHERE = { value: { startsWith: "in" } };
const RESUME_PG =
  "SELECT id, value, n FROM resumable WHERE value LIKE 'in%' ORDER BY id";
const RESUME_SQLITE = "SELECT id, value, n FROM resumable ORDER BY id";

test("disconnect, Postgres changes, connect: the client resumes and converges", {
  timeout: 90_000,
}, async () => {
  await migrate(
    ["CREATE TABLE resumable (id text PRIMARY KEY, value text, n int4)"],
    ["resumable"],
  );
  await sql`INSERT INTO resumable (id, value, n) VALUES
    ('keep', 'in: never touched', 0), ('local-gone', 'in: deleted in SQLite only', 0),
    ('upd', 'in: to update', 1), ('del', 'in: to delete', 2), ('out', 'in: to move out', 3),
    ('later-in', 'out: to move in', 4), ('other', 'out: never in', 5)`;

  const client = await newClient(RESUME_TABLES);
  await client.connect(10_000);
  await waitForTables(client, ["resumable"]);
  await client.sync("resumable", { where: RESUME_WHERE });
  // A live transaction before the disconnect, so the client's LSN is past its subscription.
  await sql`INSERT INTO resumable (id, value, n) VALUES ('live', 'in: live before disconnect', 6)`;
  await client.waitForRows("SELECT id FROM resumable WHERE id = 'live'", (r) => r.length === 1);
  assert.deepEqual(
    plain(await client.query(RESUME_SQLITE)),
    plain(await sql.unsafe(RESUME_PG)),
  );
  const subscriptionIds = await storedSubscriptionIds(client);
  assert.equal(subscriptionIds.length, 1, "one established subscription");
  await deleteLocallyOnly(client, "resumable", "id = 'local-gone'");

  client.electric.disconnect();
  await waitFor(() => !client.electric.isConnected, {
    timeoutMs: 5_000,
    what: "isConnected = false after disconnect()",
  });
  const statesBefore = client.states.length;

  await sql.begin(async (tx) => {
    await tx`INSERT INTO resumable (id, value, n) VALUES ('new', 'in: inserted meanwhile', 7)`;
    await tx`INSERT INTO resumable (id, value, n) VALUES ('new-out', 'out: inserted meanwhile', 8)`;
  });
  await sql`UPDATE resumable SET value = 'in: updated meanwhile', n = 10 WHERE id = 'upd'`;
  await sql`DELETE FROM resumable WHERE id = 'del'`;
  await sql`UPDATE resumable SET value = 'out: moved out meanwhile' WHERE id = 'out'`;
  await sql`UPDATE resumable SET value = 'in: moved in meanwhile' WHERE id = 'later-in'`;
  await sql`UPDATE resumable SET value = 'out: live row moved out', n = 60 WHERE id = 'live'`;

  await client.connect(10_000);
  // Converged on every change made meanwhile (true whether resumed or reset).
  await client.waitForRows(
    RESUME_SQLITE,
    (rows) => {
      const byId = Object.fromEntries(rows.map((r) => [r.id, r]));
      return byId.new && byId["later-in"] && !byId.del && !byId.out && !byId.live &&
        byId.upd?.n === 10;
    },
    15_000,
  );
  const expected = plain(await sql.unsafe(RESUME_PG)).filter((r) => r.id !== "local-gone");
  assert.deepEqual(
    plain(await client.query(RESUME_SQLITE)),
    expected,
    "SQLite equals the shape's rows in Postgres (minus the row deleted locally only)",
  );

  const reasons = client.states.slice(statesBefore).join(", ");
  assert.ok(!RESET_REASONS.test(reasons), `no refusal to resume; states: ${reasons}`);
  assert.deepEqual(
    await client.query("SELECT id FROM resumable WHERE id = 'local-gone'"),
    [],
    "the locally deleted row did not come back: the initial data was not sent again",
  );
  assert.deepEqual(
    await storedSubscriptionIds(client),
    subscriptionIds,
    "the client kept its subscription (no re-subscribe after a reset)",
  );

  // The stream continues after the resume.
  await sql`INSERT INTO resumable (id, value, n) VALUES ('after', 'in: after reconnect', 9)`;
  await client.waitForRows("SELECT id FROM resumable WHERE id = 'after'", (r) => r.length === 1);
});

test("resume with an include tree: children of an author that moved in while disconnected arrive", {
  timeout: 90_000,
}, async () => {
  await migrate([
    "CREATE TABLE r_authors (id text PRIMARY KEY, name text)",
    "CREATE TABLE r_posts (id text PRIMARY KEY, author_id text REFERENCES r_authors(id), title text)",
  ], ["r_authors", "r_posts"]);
  await sql`INSERT INTO r_authors (id, name) VALUES ('a1', 'keep Ada'), ('a2', 'skip Brian')`;
  await sql`INSERT INTO r_posts (id, author_id, title) VALUES
    ('p1', 'a1', 'Ada 1'), ('p2', 'a2', 'Brian 1'), ('p3', 'a2', 'Brian 2')`;
  const tables = {
    r_authors: { fields: { id: "TEXT", name: "TEXT" } },
    r_posts: {
      fields: { id: "TEXT", author_id: "TEXT", title: "TEXT" },
      foreignKeys: [{ column: "author_id", table: "r_authors", field: "author", inverseField: "posts" }],
    },
  };
  const client = await newClient(tables);
  await client.connect(10_000);
  await waitForTables(client, ["r_authors", "r_posts"]);
  await client.sync("r_authors", { where: { name: { startsWith: "keep" } }, include: { posts: true } });
  assert.deepEqual((await client.query("SELECT id FROM r_posts ORDER BY id")).map((r) => r.id), ["p1"]);
  const subscriptionIds = await storedSubscriptionIds(client);

  client.electric.disconnect();
  await waitFor(() => !client.electric.isConnected, { timeoutMs: 5_000, what: "disconnected" });
  await sql`UPDATE r_authors SET name = 'keep Brian' WHERE id = 'a2'`; // move-in with children
  await sql`UPDATE r_authors SET name = 'skip Ada' WHERE id = 'a1'`; // move-out with children
  await client.connect(10_000);

  await client.waitForRows(
    "SELECT id FROM r_posts ORDER BY id",
    (rows) => rows.map((r) => r.id).join() === "p2,p3",
    15_000,
  );
  await client.waitForRows(
    "SELECT id, name FROM r_authors ORDER BY id",
    (rows) => rows.length === 1 && rows[0].id === "a2",
    15_000,
  );
  assert.deepEqual(await storedSubscriptionIds(client), subscriptionIds, "resumed, not reset");
});

test("resume after the client acknowledged (25 live transactions), with 40 changes while disconnected", {
  timeout: 90_000,
}, async () => {
  await migrate(
    ["CREATE TABLE acked (id text PRIMARY KEY, value text, n int4)"],
    ["acked"],
  );
  await sql`INSERT INTO acked (id, value, n) VALUES ('keep', 'in', 0), ('local-gone', 'in', 0)`;
  const client = await newClient({ acked: { fields: { id: "TEXT", value: "TEXT", n: "INT4" } } });
  await client.connect(10_000);
  await waitForTables(client, ["acked"]);
  await client.sync("acked", { where: { value: { startsWith: "in" } } });
  // The client acknowledges from its 21st transaction on (0.7 × window 30): the service can
  // move its checkpoint past the subscription.
  for (let i = 1; i <= 25; i++) {
    await sql`INSERT INTO acked (id, value, n) VALUES (${`live-${i}`}, 'in', ${i})`;
  }
  await client.waitForRows("SELECT id FROM acked WHERE id = 'live-25'", (r) => r.length === 1);
  const subscriptionIds = await storedSubscriptionIds(client);
  await deleteLocallyOnly(client, "acked", "id = 'local-gone'");

  client.electric.disconnect();
  await waitFor(() => !client.electric.isConnected, { timeoutMs: 5_000, what: "disconnected" });
  // More transactions than the unacked window, including move-outs of rows sent live.
  for (let i = 1; i <= 40; i++) {
    if (i % 4 === 0) await sql`UPDATE acked SET value = 'out' WHERE id = ${`live-${i}`}`;
    else if (i % 4 === 1) await sql`UPDATE acked SET n = n + 100 WHERE id = ${`live-${i}`}`;
    else if (i % 4 === 2) await sql`DELETE FROM acked WHERE id = ${`live-${i}`}`;
    else await sql`INSERT INTO acked (id, value, n) VALUES (${`gap-${i}`}, 'in', ${i})`;
  }
  await sql`INSERT INTO acked (id, value, n) VALUES ('last', 'in', -1)`;
  await client.connect(10_000);
  await client.waitForRows("SELECT id FROM acked WHERE id = 'last'", (r) => r.length === 1, 20_000);
  const expected = plain(await sql`SELECT id, value, n FROM acked WHERE value LIKE 'in%' ORDER BY id`)
    .filter((r) => r.id !== "local-gone");
  assert.deepEqual(plain(await client.query("SELECT id, value, n FROM acked ORDER BY id")), expected);
  assert.deepEqual(await storedSubscriptionIds(client), subscriptionIds, "resumed, not reset");
});

// ---------------------------------------------------------------------------------------------
// 5. Service restart (kill -9)

const SURVIVOR_WHERE = { value: { startsWith: "in" } };

test("service killed (-9) and restarted on the same port: the client reconnects by itself and converges", {
  timeout: 120_000,
}, async (t) => {
  await migrate(
    ["CREATE TABLE survivor (id text PRIMARY KEY, value text)"],
    ["survivor"],
  );
  await sql`INSERT INTO survivor (id, value) VALUES
    ('keep', 'in: never touched'), ('local-gone', 'in: deleted in SQLite only'),
    ('upd', 'in: to update'), ('del', 'in: to delete'), ('outsider', 'out: moves in while down')`;
  const client = await newClient({ survivor: { fields: { id: "TEXT", value: "TEXT" } } });
  await client.connect(10_000);
  await waitForTables(client, ["survivor"]);
  await client.sync("survivor", { where: SURVIVOR_WHERE });
  await sql`INSERT INTO survivor (id, value) VALUES ('live', 'in: live before the kill')`;
  await client.waitForRows("SELECT id FROM survivor WHERE id = 'live'", (r) => r.length === 1);
  const subscriptionIds = await storedSubscriptionIds(client);
  await deleteLocallyOnly(client, "survivor", "id = 'local-gone'");
  const statesBefore = client.states.length;

  const old = service;
  const exit = await old.kill("SIGKILL");
  assert.equal(exit, "SIGKILL");
  previousOutput += `${old.output()}\n--- (killed with SIGKILL; restarted) ---\n`;
  await waitFor(() => !client.electric.isConnected, {
    timeoutMs: 10_000,
    what: "the client to notice the connection loss",
  });

  await sql`INSERT INTO survivor (id, value) VALUES ('new', 'in: inserted while down')`;
  await sql`UPDATE survivor SET value = 'in: updated while down' WHERE id = 'upd'`;
  await sql`DELETE FROM survivor WHERE id = 'del'`;
  // Needs the persisted checkpoint plus the re-read WAL: 'live' was sent after the subscription.
  await sql`UPDATE survivor SET value = 'out: live row moved out while down' WHERE id = 'live'`;
  await sql`UPDATE survivor SET value = 'in: moved in while down' WHERE id = 'outsider'`;

  service = await startService({
    databaseUrl,
    runtime,
    httpPort: old.httpPort,
    proxyPort: old.proxyPort,
    publisherPort: old.publisherPort,
  });

  // No connect() call: the client retries with backoff (1 s start, doubling, 10 s max).
  await waitFor(() => client.electric.isConnected, {
    timeoutMs: 45_000,
    intervalMs: 100,
    what: () => `the client to reconnect by itself; states: [${client.states}]\n${serviceOutput()}`,
  });
  await client.waitForRows(
    "SELECT id, value FROM survivor ORDER BY id",
    (rows) => {
      const byId = Object.fromEntries(rows.map((r) => [r.id, r]));
      return byId.new && byId.outsider && !byId.del && !byId.live &&
        byId.upd?.value === "in: updated while down";
    },
    20_000,
  );
  const pgRows = plain(await sql`SELECT id, value FROM survivor WHERE value LIKE 'in%' ORDER BY id`);
  const sqliteRows = plain(await client.query("SELECT id, value FROM survivor ORDER BY id"));
  const localGoneBack = sqliteRows.some((r) => r.id === "local-gone");
  const sameIds = JSON.stringify(await storedSubscriptionIds(client)) === JSON.stringify(subscriptionIds);
  const how = !localGoneBack && sameIds ? "resumed" : "reset and resynced";
  t.diagnostic(`after the restart the client ${how}; states since the kill: ${client.states.slice(statesBefore).join(", ")}`);
  assert.deepEqual(
    sqliteRows,
    localGoneBack ? pgRows : pgRows.filter((r) => r.id !== "local-gone"),
    "SQLite converged to Postgres",
  );
  // The stream continues.
  await sql`INSERT INTO survivor (id, value) VALUES ('after', 'in: after the restart')`;
  await client.waitForRows("SELECT id FROM survivor WHERE id = 'after'", (r) => r.length === 1);
  // postgres-side.md §11 item 31: clients resume without resetting their state.
  assert.equal(how, "resumed", "the client should resume after a restart, not reset");
});

test("after the restart, a fresh client syncs and an earlier table still streams", {
  timeout: 60_000,
}, async () => {
  const client = await newClient({ survivor: { fields: { id: "TEXT", value: "TEXT" } } });
  await client.connect(10_000);
  await waitForTables(client, ["survivor"]);
  await client.sync("survivor");
  const pgRows = plain(await sql`SELECT id, value FROM survivor ORDER BY id`);
  assert.deepEqual(plain(await client.query("SELECT id, value FROM survivor ORDER BY id")), pgRows);
  await sql`INSERT INTO survivor (id, value) VALUES ('fresh-after-restart', 'x')`;
  await client.waitForRows("SELECT id FROM survivor WHERE id = 'fresh-after-restart'", (r) => r.length === 1);
});
