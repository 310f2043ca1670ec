/**
 * The direct writer against a real Postgres (postgres-side.md §8.5, §8.6): transactions from
 * several clients applied in queue order in pipelined batches, and a transaction Postgres
 * refuses (at a statement, or at a deferred constraint) reported to its writer without losing
 * or reordering any other, including those of the batch sent behind it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import postgres from "postgres";
import { bootstrapElectricSchema } from "../../src/storage/mod.ts";
import { SHADOW_ROUTINES_SQL } from "../../src/storage/shadow/mod.ts";
import type { TableModel } from "../../src/schema/mod.ts";
import { createLogger } from "../../src/telemetry/mod.ts";
import { type ClientTransaction, DirectWriter, type WriteOutcome } from "../../src/writes/mod.ts";
import { freshDatabase } from "../helpers/pg_cluster.ts";
import { waitFor } from "../helpers/wait.ts";

const int4 = { name: "int4", array: [], size: [] };

const PARENTS: TableModel = {
  schema: "public",
  name: "parents",
  oid: 0,
  columns: [{ name: "id", type: int4, notNull: true }, { name: "n", type: int4, notNull: false }],
  primaryKey: ["id"],
  primaryKeyName: "parents_pkey",
  foreignKeys: [],
  indexes: [],
};

const CHILDREN: TableModel = {
  ...PARENTS,
  name: "children",
  columns: [
    { name: "id", type: int4, notNull: true },
    { name: "parent_id", type: int4, notNull: false },
  ],
  primaryKeyName: "children_pkey",
};

function insert(table: TableModel, record: Record<string, string>) {
  return {
    kind: "insert" as const,
    table,
    record,
    modified: new Set(table.columns.map((c) => c.name).filter((n) => n !== "id")),
    present: new Set(table.columns.map((c) => c.name)),
    observedTags: [],
  };
}

/** Transaction i of a client: its LSN is i + 1, its row parents.id = i. */
function parentTx(i: number, n: number): ClientTransaction {
  return {
    clientId: `client-${i % 3}`,
    lsn: new Uint8Array([0, (i + 1) >> 8, (i + 1) & 255]),
    commitTimestampMs: BigInt(Date.now() + i),
    changes: [insert(PARENTS, { id: String(i), n: String(n) })],
  };
}

async function withWriter(
  body: (sql: postgres.Sql, writer: DirectWriter) => Promise<void>,
  options: { onclose?: () => void } = {},
) {
  const db = await freshDatabase();
  const sql = postgres(db.url, { onnotice: () => {}, max: 3, onclose: options.onclose });
  const controller = new AbortController();
  try {
    await bootstrapElectricSchema(sql);
    await sql.unsafe(SHADOW_ROUTINES_SQL);
    await sql.unsafe(`
      CREATE TABLE parents (id int4 PRIMARY KEY, n int4 CHECK (n >= 0));
      CALL electric.install_shadow_objects('public', 'parents');
      CREATE TABLE children (id int4 PRIMARY KEY,
        parent_id int4 REFERENCES parents (id) DEFERRABLE INITIALLY DEFERRED);
      CALL electric.install_shadow_objects('public', 'children');`);
    const writer = new DirectWriter({ pool: () => sql, logger: createLogger({ level: "error" }) });
    const running = writer.run(controller.signal);
    await body(sql, writer);
    controller.abort();
    await running;
  } finally {
    await sql.end({ timeout: 1 });
    await db.drop();
  }
}

test("many queued transactions are applied in order, each committed once", async () => {
  await withWriter(async (sql, writer) => {
    const outcomes = await Promise.all(
      Array.from({ length: 300 }, (_, i) => writer.write(parentTx(i, i))),
    );
    assert.ok(outcomes.every((o) => o.ok));
    const [{ count }] = await sql`SELECT count(*)::int AS count FROM parents`;
    assert.equal(count, 300);
    const lsns = await sql`SELECT client_id, encode(lsn, 'hex') AS lsn
                             FROM electric.acknowledged_client_lsns ORDER BY client_id`;
    // The last transactions of the three clients: 297, 298 and 299 (LSNs 298..300).
    assert.deepEqual(lsns.map((r) => ({ ...r })), [
      { client_id: "client-0", lsn: "00012a" },
      { client_id: "client-1", lsn: "00012b" },
      { client_id: "client-2", lsn: "00012c" },
    ]);
    assert.equal(writer.pending, 0);
  });
});

const REFUSED: [string, ClientTransaction][] = [
  ["a CHECK constraint", parentTx(100, -1)],
  ["a deferred foreign key", {
    ...parentTx(100, 0),
    changes: [insert(CHILDREN, { id: "1", parent_id: "12345" })],
  }],
];

for (const [what, bad] of REFUSED) {
  test(`a transaction refused by ${what} is reported; the others, before and after, apply in order`, async () => {
    await withWriter(async (sql, writer) => {
      const txs = Array.from({ length: 300 }, (_, i) => i === 100 ? bad : parentTx(i, i));
      const outcomes: WriteOutcome[] = await Promise.all(txs.map((tx) => writer.write(tx)));
      const refused = outcomes.flatMap((o, i) => o.ok ? [] : [[i, o.error.code]]);
      assert.deepEqual(refused, [[100, "REJECTED_BY_POSTGRES"]]);
      const ids = (await sql`SELECT id FROM parents ORDER BY id`).map((r) => r.id);
      assert.deepEqual(ids, Array.from({ length: 300 }, (_, i) => i).filter((i) => i !== 100));
      const [{ count }] = await sql`SELECT count(*)::int AS count FROM children`;
      assert.equal(count, 0);
      // Applied in queue order: every row's shadow was written by a later transaction than
      // the row before it.
      const order = await sql`SELECT id FROM electric.shadow__public__parents
                               ORDER BY _last_modified, id`;
      assert.deepEqual(order.map((r) => r.id), ids);
    });
  });
}

test("a writer whose connection is lost mid-batch prepares its statements again on the next one", async () => {
  await withWriter(async (sql, writer) => {
    const first = await Promise.all(
      Array.from({ length: 20 }, (_, i) => writer.write(parentTx(i, i))),
    );
    assert.ok(first.every((o) => o.ok));
    // Hold the writer's next batch on a lock, then end its backend while it waits: the error
    // reaches a query in flight, as when Postgres goes away under load.
    const locker = await sql.reserve();
    await locker`BEGIN`;
    await locker`LOCK TABLE parents IN ACCESS EXCLUSIVE MODE`;
    const second = Promise.all(
      Array.from({ length: 20 }, (_, i) => writer.write(parentTx(20 + i, i))),
    );
    await waitFor(async () => {
      const killed = await sql`SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity
                                WHERE wait_event_type = 'Lock' AND query LIKE '%electric_w%'`;
      return killed.length === 1;
    }, { timeoutMs: 10_000, what: "the writer waiting on the lock" });
    await locker`COMMIT`;
    locker.release();
    assert.ok((await second).every((o) => o.ok));
    const [{ count }] = await sql`SELECT count(*)::int AS count FROM parents`;
    assert.equal(count, 40);
  });
});

test("a writer whose connection is lost while idle applies the next transaction", async () => {
  let closes = 0;
  await withWriter(async (sql, writer) => {
    assert.ok((await writer.write(parentTx(0, 0))).ok);
    // The writer now waits with its connection idle; end that backend, as a Postgres restart
    // or an idle timeout would, and let the client library see the socket close.
    const before = closes;
    const ended = await sql`SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity
                             WHERE pid <> pg_backend_pid()
                               AND query LIKE 'BEGIN ISOLATION LEVEL READ COMMITTED;%electric_w%'`;
    assert.equal(ended.length, 1);
    await waitFor(() => closes > before, { timeoutMs: 10_000, what: "the connection to close" });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const outcome = await Promise.race([
      writer.write(parentTx(1, 1)),
      new Promise<"hung">((resolve) => timer = setTimeout(() => resolve("hung"), 10_000)),
    ]);
    clearTimeout(timer);
    assert.deepEqual(outcome, { ok: true });
    const [{ count }] = await sql`SELECT count(*)::int AS count FROM parents`;
    assert.equal(count, 2);
  }, { onclose: () => closes++ });
});

test("transactions that may have committed when the connection was lost are not sent again blindly", async () => {
  let closes = 0;
  let available = true;
  let refusedWhileAway = 0;
  const db = await freshDatabase();
  const sql = postgres(db.url, {
    onnotice: () => {},
    max: 3,
    // The writer's own connection is derived from this pool and reports its close here too.
    onclose: () => {
      closes++;
      available = false;
    },
  });
  const controller = new AbortController();
  try {
    await bootstrapElectricSchema(sql);
    await sql.unsafe(SHADOW_ROUTINES_SQL);
    // Row 999 ends its backend once, after the transaction before it in the batch committed:
    // the writer sees the whole batch fail, as when Postgres stops between two commits.
    await sql.unsafe(`
      CREATE TABLE parents (id int4 PRIMARY KEY, n int4 CHECK (n >= 0));
      CALL electric.install_shadow_objects('public', 'parents');
      CREATE TABLE applied (id int4);
      CREATE SEQUENCE kills;
      CREATE FUNCTION note_and_kill() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          INSERT INTO public.applied VALUES (NEW.id);
          IF NEW.id = 999 AND nextval('public.kills') = 1 THEN
            PERFORM pg_terminate_backend(pg_backend_pid());
          END IF;
          RETURN NULL;
        END $$;
      CREATE TRIGGER note AFTER INSERT OR UPDATE ON parents
        FOR EACH ROW EXECUTE FUNCTION note_and_kill();
      ALTER TABLE parents ENABLE ALWAYS TRIGGER note;`);
    const writer = new DirectWriter({
      // Postgres is away (the connector has no pool) from the close until the test says so.
      pool: () => {
        if (!available) refusedWhileAway++;
        return available ? sql : undefined;
      },
      logger: createLogger({ level: "error" }),
    });
    const first = writer.write(parentTx(1, 1));
    const second = writer.write({ ...parentTx(999, 1), clientId: "client-x" });
    const running = writer.run(controller.signal);
    await waitFor(() => closes > 0 && refusedWhileAway > 0, {
      timeoutMs: 10_000,
      what: "the writer to find Postgres away after the lost batch",
    });
    available = true;
    assert.deepEqual(await Promise.all([first, second]), [{ ok: true }, { ok: true }]);
    const applied = await sql`SELECT id, count(*)::int AS n FROM applied GROUP BY id ORDER BY id`;
    assert.deepEqual(applied.map((r) => ({ ...r })), [{ id: 1, n: 1 }, { id: 999, n: 1 }]);
    controller.abort();
    await running;
  } finally {
    controller.abort();
    await sql.end({ timeout: 1 });
    await db.drop();
  }
});
