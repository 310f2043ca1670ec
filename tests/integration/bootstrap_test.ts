/**
 * Installation of the electric schema on a real Postgres: fresh, repeated (idempotent) and
 * concurrent (serialised by the advisory lock).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import postgres from "postgres";
import {
  bootstrapElectricSchema,
  ensurePublication,
  INSTALL_STEPS,
} from "../../src/storage/mod.ts";
import { freshDatabase } from "../helpers/pg_cluster.ts";

type Db = Awaited<ReturnType<typeof freshDatabase>>;
let db: Db;
let sql: postgres.Sql;

before(async () => {
  db = await freshDatabase();
  sql = postgres(db.url, { onnotice: () => {}, max: 4 });
});

after(async () => {
  await sql.end();
  await db.drop();
});

test("a fresh database gets the electric schema and the full ledger", async () => {
  const result = await bootstrapElectricSchema(sql);
  assert.deepEqual(result.applied, INSTALL_STEPS.map((s) => s.version));
  const tables = await sql`SELECT table_name FROM information_schema.tables
                            WHERE table_schema = 'electric' ORDER BY table_name`;
  const names = tables.map((t) => t.table_name);
  for (
    const expected of [
      "acknowledged_client_lsns",
      "assignments",
      "client_actions",
      "client_additional_data",
      "client_checkpoints",
      "client_shape_subscriptions",
      "client_unsub_points",
      "ddl_commands",
      "electrified",
      "grants",
      "migration_versions",
      "replication_positions",
      "roles",
      "schema",
      "schema_migrations",
      "transaction_marker",
    ]
  ) assert.ok(names.includes(expected), `electric.${expected} exists`);
  const [{ count }] = await sql`SELECT count(*)::int AS count FROM electric.schema_migrations`;
  assert.equal(count, 30); // 20 reference versions, then ours
  const markers = await sql`SELECT id FROM electric.transaction_marker ORDER BY id`;
  assert.deepEqual(markers.map((m) => m.id), ["cluster_id", "magic write"]);
});

test("running it again changes nothing", async () => {
  const [before] =
    await sql`SELECT content FROM electric.transaction_marker WHERE id = 'cluster_id'`;
  const result = await bootstrapElectricSchema(sql);
  assert.deepEqual(result.applied, []);
  const [again] =
    await sql`SELECT content FROM electric.transaction_marker WHERE id = 'cluster_id'`;
  assert.deepEqual(again.content, before.content, "the cluster id is stored once");
});

test("tags order by timestamp, and Postgres (NULL source) wins ties", async () => {
  const [row] = await sql`
    SELECT row('2024-01-01', 'a')::electric.tag OPERATOR(electric.<) row('2024-01-01', NULL)::electric.tag AS pg_wins,
           row('2024-01-02', 'a')::electric.tag OPERATOR(electric.>) row('2024-01-01', NULL)::electric.tag AS later_wins,
           row('2024-01-01', 'a')::electric.tag OPERATOR(electric.<) row('2024-01-01', 'b')::electric.tag AS by_source,
           row('2024-01-01', NULL)::electric.tag OPERATOR(electric.=) row('2024-01-01', NULL)::electric.tag AS equal`;
  assert.deepEqual({ ...row }, { pg_wins: true, later_wins: true, by_source: true, equal: true });
});

test("acknowledged client LSN inserts from replication become upserts", async () => {
  await sql.begin(async (tx) => {
    await tx`SET LOCAL session_replication_role = replica`;
    await tx`INSERT INTO electric.acknowledged_client_lsns VALUES ('c1', '\\x01')`;
    await tx`INSERT INTO electric.acknowledged_client_lsns VALUES ('c1', '\\x02')`;
  });
  const rows =
    await sql`SELECT client_id, encode(lsn, 'hex') AS lsn FROM electric.acknowledged_client_lsns`;
  assert.deepEqual(rows.map((r) => ({ ...r })), [{ client_id: "c1", lsn: "02" }]);
});

test("concurrent installs on a new database serialise: exactly one applies the steps", async () => {
  const other = await freshDatabase();
  const clients = [0, 1, 2].map(() => postgres(other.url, { onnotice: () => {}, max: 1 }));
  try {
    const results = await Promise.all(clients.map((c) => bootstrapElectricSchema(c)));
    const applied = results.filter((r) => r.applied.length > 0);
    assert.equal(applied.length, 1);
    const [{ count }] =
      await clients[0]`SELECT count(*)::int AS count FROM electric.schema_migrations`;
    assert.equal(count, 30); // 20 reference versions, then ours
  } finally {
    await Promise.all(clients.map((c) => c.end()));
    await other.drop();
  }
});

test("the publication is created with the internal tables, and recreated when dropped", async () => {
  assert.deepEqual(await ensurePublication(sql), { created: true });
  assert.deepEqual(await ensurePublication(sql), { created: false });
  const members = await sql`SELECT schemaname || '.' || tablename AS t FROM pg_publication_tables
                             WHERE pubname = 'electric_publication' ORDER BY 1`;
  assert.deepEqual(members.map((m) => m.t), [
    "electric.acknowledged_client_lsns",
    "electric.assignments",
    "electric.ddl_commands",
    "electric.electrified",
    "electric.grants",
    "electric.roles",
    "electric.transaction_marker",
  ]);
  await sql`DROP PUBLICATION electric_publication`;
  assert.deepEqual(await ensurePublication(sql), { created: true });
});

// Last: the electrified table it makes would join the publication checked above.
test("changed generators regenerate the trigger functions of tables electrified before", async () => {
  await sql.unsafe(
    `CREATE TABLE regen (id int4 PRIMARY KEY, v text); CALL electric.electrify('regen')`,
  );
  const body = () =>
    sql`SELECT prosrc FROM pg_proc WHERE proname = 'reorder_main_op___public__regen'`.then((r) =>
      r[0].prosrc as string
    );
  const generated = await body();
  // What an older service generated, and its fingerprint.
  await sql.unsafe(`CREATE OR REPLACE FUNCTION electric.reorder_main_op___public__regen()
    RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END; $$`);
  await sql`UPDATE electric.routine_fingerprints SET fingerprint = 'older' WHERE name = 'shadow'`;
  const upgraded = await bootstrapElectricSchema(sql);
  assert.equal(upgraded.regenerated, true);
  assert.equal(await body(), generated);
  const again = await bootstrapElectricSchema(sql);
  assert.equal(again.regenerated, false, "unchanged generators leave the functions alone");
});
