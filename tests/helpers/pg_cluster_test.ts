import assert from "node:assert/strict";
import { test } from "node:test";
import postgres from "postgres";
import { databaseUrl, freshDatabase, startScratchCluster, testCluster } from "./pg_cluster.ts";
import { waitFor } from "./wait.ts";

async function one<T>(url: string, query: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return await query(sql);
  } finally {
    await sql.end({ timeout: 1 });
  }
}

test("testCluster is shared and logical", async () => {
  const [a, b] = await Promise.all([testCluster(), testCluster()]);
  assert.deepEqual(a, b);
  const rows = await one(a.url, (sql) => sql`show wal_level`);
  assert.equal(rows[0].wal_level, "logical");
});

test("freshDatabase drop() removes the database, its slots and subscriptions", async () => {
  const { url: clusterUrl } = await testCluster();
  const db = await freshDatabase();
  assert.match(db.name, /^t_[0-9a-f]{12}$/);
  assert.equal(db.url, databaseUrl(clusterUrl, db.name));
  assert.match(db.url, /sslmode=disable/);

  // A lingering client, a logical slot and a subscription all used to block DROP DATABASE.
  const lingering = postgres(db.url, { max: 1, onnotice: () => {} });
  await lingering`create publication pub for all tables`;
  await lingering`select pg_create_logical_replication_slot(${db.name + "_slot"}, 'pgoutput')`;
  await lingering.unsafe(
    `create subscription sub connection '${clusterUrl}' publication pub
     with (connect = false, slot_name = 'sub_slot')`,
  );
  try {
    await db.drop();
    await db.drop(); // idempotent
  } finally {
    await lingering.end({ timeout: 0 }).catch(() => {});
  }

  const left = await one(clusterUrl, async (sql) => ({
    dbs: await sql`select 1 from pg_database where datname = ${db.name}`,
    slots: await sql`select 1 from pg_replication_slots where slot_name = ${db.name + "_slot"}`,
  }));
  assert.equal(left.dbs.length, 0);
  assert.equal(left.slots.length, 0);
});

test("startScratchCluster honours wal_level=replica", async () => {
  const scratch = await startScratchCluster({ walLevel: "replica" });
  try {
    const rows = await one(scratch.url, (sql) => sql`show wal_level`);
    assert.equal(rows[0].wal_level, "replica");
  } finally {
    await scratch.stop();
  }
});

test("a scratch cluster restarts in place, after a fast or an immediate shutdown", async () => {
  const scratch = await startScratchCluster({
    walLevel: "logical",
    settings: { synchronous_commit: "on" },
  });
  try {
    await one(
      scratch.url,
      (sql) => sql`create table kept (n int); insert into kept values (1)`.simple(),
    );
    for (const mode of ["fast", "immediate"] as const) {
      await scratch.restart(mode);
      const rows = await one(scratch.url, (sql) => sql`select n from kept`);
      assert.deepEqual(rows.map((r) => r.n), [1], mode);
    }
    const [setting] = await one(scratch.url, (sql) => sql`show synchronous_commit`);
    assert.equal(setting.synchronous_commit, "on");
  } finally {
    await scratch.stop();
  }
});

test("waitFor returns the first truthy value and names what timed out", async () => {
  let calls = 0;
  assert.equal(await waitFor(() => ++calls >= 3 && calls, { intervalMs: 1 }), 3);
  await assert.rejects(
    waitFor(() => false, { timeoutMs: 30, intervalMs: 5, what: "the moon to turn blue" }),
    /Timed out after 30 ms waiting for the moon to turn blue/,
  );
});
