/**
 * The migrations proxy inside the running service: psql through PG_PROXY_PORT electrifies a
 * table and adds a column, and both migrations reach `/api/migrations` with the right
 * versions; with `PG_PROXY_PORT=http:<port>` the real `electric-sql proxy-tunnel` reaches the
 * same proxy through `//proxy` on the HTTP port.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import postgres from "postgres";
import { type ProxyService, startProxyService } from "../helpers/proxy_service.ts";
import type { ServiceProcess } from "../helpers/service_process.ts";
import { readZip } from "../helpers/unzip.ts";
import { waitFor } from "../helpers/wait.ts";
import { hasElectricCli, psql, startProxyTunnel } from "../integration/proxy_harness.ts";

let proxy: ProxyService;
let sql: postgres.Sql;
let httpPort: number;
let proxyPort: number;
let service: ServiceProcess;

before(async () => {
  proxy = await startProxyService({ overHttp: true });
  ({ sql, httpPort, proxyPort, service } = proxy);
});

after(() => proxy.stop());

async function migrationFiles(): Promise<Map<string, string> | undefined> {
  const res = await fetch(`http://127.0.0.1:${httpPort}/api/migrations?dialect=sqlite`);
  const body = new Uint8Array(await res.arrayBuffer());
  return res.status === 200 ? readZip(body) : undefined;
}

async function waitForMigration(pattern: RegExp): Promise<Map<string, string>> {
  return await waitFor(async () => {
    const files = await migrationFiles();
    return files && [...files.values()].some((t) => pattern.test(t)) ? files : undefined;
  }, {
    timeoutMs: 30_000,
    what: () => `a migration matching ${pattern}\n${service.output().slice(-6000)}`,
  });
}

test("ENABLE ELECTRIC and ADD COLUMN through the proxy reach /api/migrations", async () => {
  const created = await psql(proxyPort, [
    "-v",
    "ON_ERROR_STOP=1",
    "-c",
    "CREATE TABLE items (id uuid PRIMARY KEY, v text);",
    "-c",
    "ALTER TABLE items ENABLE ELECTRIC;",
  ]);
  assert.equal(created.code, 0, created.stderr + service.output());
  assert.match(created.stdout, /ELECTRIC ENABLE/);
  await waitForMigration(/CREATE TABLE "items"/);

  const added = await psql(proxyPort, [
    "-v",
    "ON_ERROR_STOP=1",
    "-c",
    "BEGIN; CALL electric.migration_version('20300101000000'); ALTER TABLE items ADD COLUMN n int4; COMMIT;",
  ]);
  assert.equal(added.code, 0, added.stderr);
  const files = await waitForMigration(/ALTER TABLE "items" ADD COLUMN "n" INTEGER;/);
  assert.ok(files.has("20300101000000/migration.sql"), [...files.keys()].join(", "));
  assert.match(files.get("20300101000000/migration.sql")!, /ADD COLUMN "n" INTEGER/);
});

test("a refused change leaves no migration behind", async () => {
  const before = [...(await migrationFiles())?.keys() ?? []];
  const r = await psql(proxyPort, ["-c", "ALTER TABLE items DROP COLUMN v;"]);
  assert.match(r.stderr, /Cannot drop column "v" of electrified table "public"."items"/);
  const [row] = await sql`SELECT count(*)::int AS n FROM pg_attribute
    WHERE attrelid = 'public.items'::regclass AND attname = 'v' AND NOT attisdropped`;
  assert.equal(row.n, 1);
  assert.deepEqual([...(await migrationFiles())?.keys() ?? []], before);
});

test("the tunnel on //proxy works with the real electric-sql proxy-tunnel", {
  skip: !hasElectricCli,
}, async () => {
  const tunnel = await startProxyTunnel(httpPort);
  try {
    const r = await psql(tunnel.port, ["-c", "SELECT count(*) AS n FROM items"]);
    assert.equal(r.code, 0, r.stderr + tunnel.output());
    assert.match(r.stdout, /\b0\b/);
  } finally {
    tunnel.stop();
  }
});
