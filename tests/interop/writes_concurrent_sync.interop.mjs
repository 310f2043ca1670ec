/**
 * Several clients subscribing at the same moment all receive their initial data, and client
 * writes keep reaching Postgres afterwards. (Found while testing the write path: the initial
 * data read holds a pooled connection in a REPEATABLE READ snapshot while it waits for another
 * pooled connection for the "magic write", so as many simultaneous subscriptions as the pool
 * has connections wait on each other forever, and every other use of the pool, the
 * direct_writes writer included, waits behind them.)
 *
 * Service runtime: INTEROP_RUNTIME; write mode: INTEROP_WRITE_MODE (see harness/writes.mjs).
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import {
  createClient,
  currentRuntime,
  defer,
  startService,
  waitFor,
} from "./harness/mod.mjs";
import { currentWriteMode, startWriteScenario } from "./harness/writes.mjs";

const runtime = currentRuntime();
const mode = currentWriteMode();
const TABLES = { items: { fields: { id: "TEXT", v: "TEXT" } } };
/** More than the service's default pool size (4). */
const CLIENTS = 6;

/** @type {Awaited<ReturnType<typeof startService>>} */
let service;
/** @type {import("postgres").Sql} */
let sql;
/** @type {Awaited<ReturnType<typeof createClient>>[]} */
const clients = [];

const serviceOutput = () =>
  `--- service output (${runtime}, ${mode}), last 4000 chars ---\n${
    (service?.output() ?? "(not started)").slice(-4000)
  }`;

/** What the service's Postgres sessions are doing, for failure messages. */
async function sessions() {
  const rows = await sql`
    SELECT state, left(query, 70) AS query FROM pg_stat_activity
     WHERE datname = current_database() AND pid <> pg_backend_pid()`;
  return rows.map((r) => `${r.state}: ${r.query}`).join("\n");
}

before(async () => {
  ({ service, sql } = await startWriteScenario({
    runtime,
    mode,
    connections: 2,
    waitForMigrations: false,
    diagnostics: serviceOutput,
    schema: `
    CREATE TABLE items (id text PRIMARY KEY, v text);
    CALL electric.electrify('items');
    INSERT INTO items (id, v) VALUES ('seed', 'seeded');
  `,
  }));
  for (let i = 0; i < CLIENTS; i++) {
    const client = await createClient({
      serviceUrl: service.url,
      tables: TABLES,
      diagnostics: serviceOutput,
    });
    defer(`client ${i}`, () => client.close());
    await client.connect(15_000);
    await client.waitForRows(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'items'",
      (rows) => rows.length === 1,
      10_000,
    );
    clients.push(client);
  }
}, { timeout: 120_000 });

test(`[${runtime}/${mode}] ${CLIENTS} clients subscribing at once all get their data`, {
  timeout: 40_000,
}, async () => {
  const results = await Promise.allSettled(
    clients.map((c) => c.sync("items", {}, 20_000)),
  );
  const failed = results.flatMap((r, i) =>
    r.status === "rejected" ? [`client ${i}`] : []
  );
  assert.deepEqual(
    failed,
    [],
    `subscriptions that never completed; Postgres sessions of the service:\n${await sessions()}`,
  );
  for (const c of clients) {
    assert.deepEqual(await c.query("SELECT id, v FROM items"), [{
      id: "seed",
      v: "seeded",
    }]);
  }
});

test(`[${runtime}/${mode}] a client write still reaches Postgres afterwards`, {
  timeout: 30_000,
}, async () => {
  await clients[0].run("INSERT INTO items (id, v) VALUES ('after', 'written')");
  await waitFor(async () => {
    const rows = await sql`SELECT v FROM items WHERE id = 'after'`;
    return rows.length === 1;
  }, {
    timeoutMs: 15_000,
    what: () => `the client's write in Postgres\n${serviceOutput()}`,
  });
});
