/**
 * Schema changes through the migrations proxy reach a connected real client: a table created
 * and electrified with `ALTER TABLE … ENABLE ELECTRIC` through the proxy (postgres.js talking
 * to PG_PROXY_PORT), then a column added through the proxy, both arrive in the client's SQLite
 * while it is connected, and data in the new column syncs.
 * Read your own migration: the moment a COMMIT through the proxy returns, the service serves the
 * migration and a client bundling it connects.
 * Runtime of the service: INTEROP_RUNTIME (deno | bun | binary).
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
} from "./harness/mod.mjs";

const runtime = currentRuntime();

/** @type {Awaited<ReturnType<typeof startService>>} */
let service;
/** @type {import("postgres").Sql} */
let direct;
/** @type {import("postgres").Sql} */
let proxy;

const serviceOutput = () => `--- service output (${runtime}) ---\n${service?.output() ?? "(not started)"}`;

before(async () => {
  defer("postgres", stopPostgres);
  const db = await freshDatabase();
  defer("database", () => db.drop());
  service = await startService({ databaseUrl: db.url, runtime });
  defer("service", () => service.stop());
  direct = postgres(db.url, { max: 1, onnotice: () => {} });
  defer("direct", () => direct.end({ timeout: 1 }));
  proxy = postgres({
    host: "127.0.0.1",
    port: service.proxyPort,
    user: "postgres",
    password: service.proxyPassword,
    database: "postgres",
    max: 1,
    onnotice: () => {},
    // The proxy speaks plain TCP; no TLS negotiation.
    ssl: false,
  });
  defer("proxy", () => proxy.end({ timeout: 1 }));
}, { timeout: 90_000 });

test(`[${runtime}] DDL through the proxy reaches a connected client`, { timeout: 60_000 }, async () => {
  await proxy.unsafe(`
    BEGIN;
    CALL electric.migration_version('20240701000001');
    CREATE TABLE notes (id text PRIMARY KEY, body text);
    ALTER TABLE notes ENABLE ELECTRIC;
    COMMIT;`);
  const client = await createClient({
    serviceUrl: service.url,
    tables: { notes: { fields: { id: "TEXT", body: "TEXT", pinned: "BOOL" } } },
    diagnostics: serviceOutput,
  });
  defer("client", () => client.close());
  await client.connect(10_000);
  await client.waitForRows(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'notes'",
    (rows) => rows.length === 1,
    10_000,
  );
  await client.sync("notes", {}, 10_000);

  // A column added through the proxy while the client is connected.
  await proxy.unsafe(`
    BEGIN;
    CALL electric.migration_version('20240701000002');
    ALTER TABLE notes ADD COLUMN pinned bool;
    COMMIT;`);
  await client.waitForRows(
    "SELECT name FROM pragma_table_info('notes') WHERE name = 'pinned'",
    (rows) => rows.length === 1,
    30_000,
  );
  await direct`INSERT INTO notes (id, body, pinned) VALUES ('n1', 'hello', true)`;
  const rows = await client.waitForRows(
    "SELECT id, body, pinned FROM notes WHERE id = 'n1'",
    (r) => r.length === 1,
    30_000,
  );
  assert.deepEqual(rows, [{ id: "n1", body: "hello", pinned: 1 }]);
  const versions = await direct`SELECT version FROM electric.migration_versions ORDER BY version`;
  assert.deepEqual(versions.map((v) => v.version), ["20240701000001", "20240701000002"]);
});

test(
  `[${runtime}] read your own migration: once COMMIT returns, a client bundling it connects`,
  { timeout: 60_000 },
  async () => {
    await proxy.unsafe(`
      BEGIN;
      CALL electric.migration_version('20240701000003');
      CREATE TABLE memos (id text PRIMARY KEY, body text);
      ALTER TABLE memos ENABLE ELECTRIC;
      COMMIT;`);
    // No waiting of any kind: the COMMIT returned, so the service knows the version.
    const migrations = await fetchBundledMigrations(service.url);
    assert.ok(
      migrations.some((m) => m.version === "20240701000003"),
      `served right after COMMIT: ${migrations.map((m) => m.version).join(", ")}`,
    );
    const client = await createClient({
      serviceUrl: service.url,
      tables: { memos: { fields: { id: "TEXT", body: "TEXT" } } },
      migrations,
      diagnostics: serviceOutput,
    });
    defer("bundling client", () => client.close());
    await client.connect(10_000);
    await client.sync("memos", {}, 10_000);
    await direct`INSERT INTO memos (id, body) VALUES ('m1', 'mine')`;
    const rows = await client.waitForRows(
      "SELECT id, body FROM memos",
      (r) => r.length === 1,
      30_000,
    );
    assert.deepEqual(rows, [{ id: "m1", body: "mine" }]);
  },
);
