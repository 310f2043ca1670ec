/**
 * First contact: a fresh client with no bundled migrations connects to the service, receives
 * the migration of an electrified table, syncs it, and rows travel both ways.
 * Runtime of the service: INTEROP_RUNTIME (deno | bun | binary).
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import postgres from "postgres";
import {
  createClient,
  currentRuntime,
  defer,
  freshDatabase,
  startService,
  stopPostgres,
  waitFor,
} from "./harness/mod.mjs";

const runtime = currentRuntime();
const TABLES = { items: { fields: { id: "TEXT", value: "TEXT" } } };

/** @type {Awaited<ReturnType<typeof startService>>} */
let service;
/** @type {import("postgres").Sql} */
let sql;
/** @type {Awaited<ReturnType<typeof createClient>> | undefined} */
let client;
let connected = false;

const serviceOutput = () =>
  `--- service output (${runtime}) ---\n${
    service?.output() ?? "(not started)"
  }`;

function requireConnected() {
  if (!client || !connected) {
    throw new Error("The client is not connected (see the connect test)");
  }
  return client;
}

before(async () => {
  defer("postgres", stopPostgres);
  const db = await freshDatabase();
  defer("database", () => db.drop());
  service = await startService({ databaseUrl: db.url, runtime });
  defer("service", () => service.stop());
  sql = postgres(db.url, { max: 2, onnotice: () => {} });
  defer("sql", () => sql.end({ timeout: 1 }));
}, { timeout: 90_000 });

test(`service (${runtime}) serves the migration of an electrified table`, {
  timeout: 30_000,
}, async () => {
  await sql.begin(async (tx) => {
    await tx`CREATE TABLE items (id text PRIMARY KEY, value text)`;
    await tx`CALL electric.electrify('items')`;
  });
  await waitFor(async () => {
    const res = await fetch(`${service.url}/api/migrations?dialect=sqlite`);
    await res.body?.cancel();
    return res.status === 200;
  }, {
    timeoutMs: 15_000,
    intervalMs: 100,
    what: () =>
      `/api/migrations to list the items migration\n${serviceOutput()}`,
  });
});

test(
  "the client electrifies an empty SQLite database",
  { timeout: 15_000 },
  async () => {
    client = await createClient({
      serviceUrl: service.url,
      tables: TABLES,
      diagnostics: serviceOutput,
    });
    defer("client", () => client?.close());
    assert.deepEqual(await client.tables(), []);
  },
);

test("the client connects and receives the items migration", {
  timeout: 20_000,
}, async () => {
  assert.ok(client, "no client (see the previous test)");
  await client.connect(10_000);
  connected = true;
  await client.waitForRows(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'items'",
    (rows) => rows.length === 1,
    10_000,
  );
});

test("a row inserted in Postgres reaches the client's SQLite", {
  timeout: 20_000,
}, async () => {
  const c = requireConnected();
  await c.sync("items", {}, 10_000);
  await sql`INSERT INTO items (id, value) VALUES ('from-pg', 'hello from postgres')`;
  const rows = await c.waitForRows(
    "SELECT id, value FROM items WHERE id = 'from-pg'",
    (rows) => rows.length === 1,
    10_000,
  );
  assert.deepEqual(rows, [{ id: "from-pg", value: "hello from postgres" }]);
});

test(
  "a row inserted in the client reaches Postgres",
  { timeout: 20_000 },
  async () => {
    const c = requireConnected();
    await c.run("INSERT INTO items (id, value) VALUES (?, ?)", [
      "from-client",
      "hello from sqlite",
    ]);
    const rows = await waitFor(async () => {
      const found =
        await sql`SELECT id, value FROM items WHERE id = 'from-client'`;
      return found.length === 1 ? found : undefined;
    }, {
      timeoutMs: 10_000,
      what: () => `the client's row in Postgres\n${serviceOutput()}`,
    });
    assert.deepEqual([...rows], [{
      id: "from-client",
      value: "hello from sqlite",
    }]);
  },
);
