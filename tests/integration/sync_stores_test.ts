/**
 * The read path's durable state against a real Postgres: graph group membership as key
 * intervals (what a client at a position held, what changed after it), per-client
 * subscriptions and coalesced acknowledgements, and snapshot reads whose visibility places
 * their data exactly in the stream.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import postgres from "postgres";
import {
  bootstrapElectricSchema,
  ensurePublication,
  SESSION_PARAMETERS,
} from "../../src/storage/mod.ts";
import {
  maintainShapeState,
  PostgresClientStore,
  PostgresMembershipStore,
  type ShapeHub,
  SnapshotRead,
  visibleIn,
} from "../../src/sync/mod.ts";
import { freshDatabase } from "../helpers/pg_cluster.ts";
import { waitFor } from "../helpers/wait.ts";

type Db = Awaited<ReturnType<typeof freshDatabase>>;
let db: Db;
let sql: postgres.Sql;

before(async () => {
  db = await freshDatabase();
  sql = postgres(db.url, { max: 4, onnotice: () => {}, connection: { ...SESSION_PARAMETERS } });
  await bootstrapElectricSchema(sql, { ddlGuard: true });
  await ensurePublication(sql);
});

after(async () => {
  await sql.end();
  await db.drop();
});

test("membership intervals: writes are coalesced, stored before `durable`, and answer resumes", async () => {
  const store = new PostgresMembershipStore(() => sql);
  const log = await store.open("group-a");
  const again = await store.open("group-a");
  assert.equal(again.groupId, log.groupId);
  log.record(11n, ["t[1]", "t[2]", "t[3]"], []);
  log.record(20n, ["t[4]"], ["t[2]"]);
  log.record(30n, ["t[2]"], ["t[4]", "t[3]"]);
  await log.durable(30n);
  assert.deepEqual([...await log.openKeys()].sort(), ["t[1]", "t[2]"]);
  // A client at 20 held 1, 3, 4: it must drop 3 and 4 and get 2 again.
  const since20 = await log.changedAfter(20n);
  assert.deepEqual([...since20.added].sort(), ["t[2]"]);
  assert.deepEqual([...since20.removed].sort(), ["t[3]", "t[4]"]);
  const since11 = await log.changedAfter(11n);
  assert.deepEqual([...since11.added].sort(), ["t[2]", "t[4]"]);
  assert.deepEqual([...since11.removed].sort(), ["t[2]", "t[3]", "t[4]"]);
  await store.compact(25n);
  const [{ count }] = await sql`
    SELECT count(*)::int AS count FROM electric.shape_group_rows WHERE group_id = ${log.groupId}`;
  // Interval of 2 closed at 20 is gone; 4 (closed at 30) and 3 (30) stay, with 1 and the new 2.
  assert.equal(count, 4);
  const other = await store.open("group-b");
  assert.notEqual(other.groupId, log.groupId);
  assert.deepEqual([...await other.openKeys()], []);
});

test("membership kept by two instances at their own pace: the lagging one neither reopens nor ends the other's", async () => {
  // Two instances' stores on one group; "fast" is ahead in the stream.
  const fast = await new PostgresMembershipStore(() => sql).open("group-shared");
  const slow = await new PostgresMembershipStore(() => sql).open("group-shared");
  assert.equal(fast.groupId, slow.groupId);
  fast.record(10n, ["k[1]", "k[2]"], []);
  fast.record(30n, [], ["k[1]"]);
  fast.record(50n, ["k[1]"], []);
  await fast.durable(50n);
  // The lagging instance writes each change on its own, as it reaches it.
  slow.record(10n, ["k[1]", "k[2]"], []);
  await slow.durable(10n);
  slow.record(30n, [], ["k[1]"]);
  await slow.durable(30n);
  const rows = await sql`SELECT row_key, added_lsn::int AS added, removed_lsn::int AS removed
                           FROM electric.shape_group_rows WHERE group_id = ${fast.groupId}
                          ORDER BY row_key, added_lsn`;
  assert.deepEqual(rows.map((r) => ({ ...r })), [
    { row_key: "k[1]", added: 10, removed: 30 },
    { row_key: "k[1]", added: 50, removed: null },
    { row_key: "k[2]", added: 10, removed: null },
  ]);
  assert.deepEqual([...await slow.openKeys()].sort(), ["k[1]", "k[2]"]);
  const since20 = await slow.changedAfter(20n);
  assert.deepEqual({ added: [...since20.added], removed: [...since20.removed] }, {
    added: ["k[1]"],
    removed: ["k[1]"],
  });
  const at40 = await fast.changedAfter(40n);
  assert.deepEqual([...at40.removed], [], "nothing a client at 40 held went since");
});

test("a thousand acknowledgements become one write; subscriptions survive until removed", async () => {
  const store = new PostgresClientStore(() => sql, { ackIntervalMs: 50 });
  const plan = { subscriptionId: "s1", requests: [] };
  await store.addSubscription("c1", { id: "s1", plan });
  await store.addSubscription("c1", { id: "s2", plan: { ...plan, subscriptionId: "s2" } });
  assert.deepEqual((await store.subscriptions("c1")).map((s) => s.id), ["s1", "s2"]);
  for (let i = 1; i <= 1000; i++) store.acknowledge(`c${i % 10}`, BigInt(i));
  assert.equal(await store.acknowledged("c1"), 991n);
  await store.flush();
  const rows = await sql`SELECT client_id, acked_lsn::text AS lsn FROM electric.client_positions`;
  assert.equal(rows.length, 10);
  assert.equal(rows.find((r) => r.client_id === "c1")!.lsn, "991");
  assert.equal(store.positionWrites, 1);
  store.acknowledge("c1", 5n);
  await store.flush();
  assert.equal(await store.acknowledged("c1"), 991n, "positions never go back");
  await store.removeSubscriptions("c1", ["s1"]);
  assert.deepEqual((await store.subscriptions("c1")).map((s) => s.id), ["s2"]);
  await store.forget("c1");
  assert.deepEqual(await store.subscriptions("c1"), []);
  assert.equal(await store.acknowledged("c1"), undefined);
  store.stop();
});

test("snapshot reads: transactions committed after the snapshot are not visible", async () => {
  await sql`CREATE TABLE IF NOT EXISTS marks (id int PRIMARY KEY)`;
  let seen: { xmin: number; xmax: number } | undefined;
  let release!: () => void;
  const hold = new Promise<void>((resolve) => release = resolve);
  const read = new SnapshotRead(
    { sql, base: 0n, causedBy: "test" },
    async (snapshot, info) => {
      seen = info;
      await hold;
      return await snapshot`SELECT count(*)::int AS count FROM marks`;
    },
  );
  const info = await read.info;
  const [{ xid }] = await sql`
    INSERT INTO marks VALUES (1) RETURNING (pg_current_xact_id()::text::int8 & 4294967295) AS xid`;
  release();
  const [{ count }] = await read.result;
  assert.equal(count, 0);
  assert.ok(seen);
  assert.equal(visibleIn(info, Number(xid)), false);
  assert.equal(read.isInsertionPoint({ lsn: 1n, xid: Number(xid) }), true);
  assert.equal(read.isInsertionPoint({ lsn: 0n, xid: Number(xid) }), false, "at or before base");
  assert.equal(read.isInsertionPoint({ lsn: 1n, xid: info.xmin - 1 }), false);
});

test("snapshot reads: a read whose connection is lost fails and leaves the pool usable", async () => {
  let closes = 0;
  const pool = postgres(db.url, { max: 2, onnotice: () => {}, onclose: () => closes++ });
  try {
    const read = new SnapshotRead({ sql: pool, base: 0n, causedBy: "test" }, async (snapshot) => {
      const [{ pid }] = await snapshot`SELECT pg_backend_pid() AS pid`;
      const sleeping = snapshot`SELECT pg_sleep(30)`;
      sleeping.catch(() => {});
      await waitFor(async () =>
        (await sql`SELECT 1 FROM pg_stat_activity WHERE pid = ${pid} AND state = 'active'`)
          .length === 1
      );
      const before = closes;
      await sql`SELECT pg_terminate_backend(${pid})`;
      // Fail only once the client library has seen the connection close.
      await waitFor(() => closes > before, { what: "the read's connection to close" });
      return await sleeping;
    });
    const outcome = await settledWithin(read.result, 10_000);
    // Postgres's FATAL or postgres.js's own code, whichever reaches the query first.
    assert.match(String((outcome as { code?: string }).code), /^(57P01|CONNECTION_CLOSED)$/);
    assert.deepEqual(await settledWithin(pool`SELECT 1 AS one`.then((r) => [...r]), 10_000), [
      { one: 1 },
    ]);
  } finally {
    await pool.end({ timeout: 1 });
  }
});

/** What `promise` settles with (its error if it rejects), or "hung" after `ms`. */
async function settledWithin<T>(promise: Promise<T>, ms: number): Promise<T | unknown> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise.catch((error) => error),
      new Promise((resolve) => timer = setTimeout(() => resolve("hung"), ms)),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

test("maintenance: clients behind the window go, ended intervals no client needs go, empty groups go", async () => {
  await sql`DELETE FROM electric.client_positions`;
  await sql`DELETE FROM electric.client_subscriptions`;
  await sql`DELETE FROM electric.shape_group_rows`;
  await sql`DELETE FROM electric.shape_groups`;
  const store = new PostgresMembershipStore(() => sql);
  const kept = await store.open("kept");
  kept.record(10n, ["a[1]", "a[2]"], []);
  kept.record(50n, [], ["a[1]"]);
  kept.record(90n, [], ["a[2]"]);
  await kept.durable(90n);
  const emptied = await store.open("emptied");
  const clients = new PostgresClientStore(() => sql);
  const plan = { subscriptionId: "s", requests: [] };
  await clients.addSubscription("old", { id: "s", plan });
  await clients.addSubscription("recent", { id: "s", plan });
  clients.acknowledge("old", 20n);
  clients.acknowledge("recent", 60n);
  await clients.flush();
  const hub = { runningKeys: () => new Set<string>() } as unknown as ShapeHub;
  const done = await maintainShapeState({
    sql: () => sql,
    hub,
    windowStart: () => Promise.resolve(30n),
  });
  assert.deepEqual(done, { clients: 1, intervals: 1, groups: 1 });
  assert.deepEqual(await clients.subscriptions("old"), []);
  assert.equal((await clients.subscriptions("recent")).length, 1);
  // The client at 60 may still need to drop a[2] (ended at 90): that interval stays.
  const rows =
    await sql`SELECT row_key FROM electric.shape_group_rows WHERE group_id = ${kept.groupId}`;
  assert.deepEqual(rows.map((r) => r.row_key), ["a[2]"]);
  const groups = await sql`SELECT id FROM electric.shape_groups`;
  assert.deepEqual(groups.map((g) => Number(g.id)), [kept.groupId]);
  assert.ok(emptied.groupId !== kept.groupId);
  clients.stop();
});
