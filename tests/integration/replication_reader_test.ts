/**
 * The replication reader against a real Postgres: transactions arrive in commit order with
 * their commit end LSNs and old values, acknowledgements move the live slot (never the main
 * one), a restart after an abrupt stop neither loses nor repeats a new transaction, and the
 * connector step reconnects when the stream dies. Restart timing, coalesced positions and
 * crash safety are in replication_restart_test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import postgres from "postgres";
import { parseLsn } from "../../src/pgwire/mod.ts";
import {
  InMemoryTransactionLog,
  replicationConnectionFrom,
  ReplicationReader,
  type ReplicationReader as Reader,
  replicationStep,
  type ReplicationStreamHandle,
  type RowChange,
  type Transaction,
} from "../../src/replication/mod.ts";
import {
  bootstrapElectricSchema,
  ensurePublication,
  liveSlotName,
  mainSlotName,
  PostgresConnector,
  temporarySlotName,
} from "../../src/storage/mod.ts";
import { createLogger } from "../../src/telemetry/mod.ts";
import { freshDatabase } from "../helpers/pg_cluster.ts";
import { testConfig } from "../helpers/service_config.ts";
import { waitFor } from "../helpers/wait.ts";

const quiet = createLogger({ level: "error", write: () => {} });

interface Seen {
  tx: Transaction;
  replayed: boolean;
}

async function setup() {
  const db = await freshDatabase();
  const sql = postgres(db.url, {
    max: 3,
    onnotice: () => {},
    connection: { TimeZone: "UTC", DateStyle: "ISO, DMY", application_name: "replication-test" },
  });
  await bootstrapElectricSchema(sql);
  await ensurePublication(sql);
  await sql`CREATE TABLE public.items (id int PRIMARY KEY, value text)`;
  await sql`ALTER TABLE public.items REPLICA IDENTITY FULL`;
  await sql`ALTER PUBLICATION electric_publication ADD TABLE public.items`;
  const handles: ReplicationStreamHandle[] = [];
  const start = async (log: InMemoryTransactionLog, seen: Seen[]) => {
    log.subscribe((tx, info) => seen.push({ tx, replayed: info.replayed }));
    const reader = new ReplicationReader({
      // Exactly the transactions after the persisted position (no recent history again).
      replayBytes: 0n,
      connect: replicationConnectionFrom(sql),
      sql,
      database: db.name,
      log,
      logger: quiet,
      statusIntervalMs: 100,
    });
    const handle = await reader.start();
    handles.push(handle);
    return { reader, handle };
  };
  const walLsn = async () => {
    // The insert position: with synchronous_commit off the write position can lag a commit.
    const [row] = await sql`SELECT pg_current_wal_insert_lsn()::text AS lsn`;
    return parseLsn(row.lsn)!;
  };
  const slot = async (name: string) => {
    const [row] = await sql`
      SELECT confirmed_flush_lsn::text AS confirmed, active_pid FROM pg_replication_slots
       WHERE slot_name = ${name}`;
    // A slot being created has no confirmed position yet.
    return row
      ? {
        confirmed: row.confirmed === null ? undefined : parseLsn(row.confirmed),
        pid: row.active_pid as number | null,
      }
      : undefined;
  };
  return {
    db,
    sql,
    start,
    walLsn,
    slot,
    async cleanup() {
      for (const handle of handles) await handle.close();
      await sql.end({ timeout: 1 });
      await db.drop();
    },
  };
}

const rows = (seen: Seen[]) =>
  seen.flatMap(({ tx }) =>
    tx.changes.map((c) => {
      const change = c as RowChange;
      return [change.kind, change.record ?? null, change.oldRecord ?? null];
    })
  );

test("changes arrive as transactions in commit order with end LSNs and old values", async () => {
  const env = await setup();
  try {
    const log = new InMemoryTransactionLog({ maxBytes: 1_000_000 });
    const seen: Seen[] = [];
    await env.start(log, seen);
    const bounds: Array<[bigint, bigint, number]> = [];
    const commit = async (body: (tx: postgres.TransactionSql) => Promise<unknown>) => {
      const before = await env.walLsn();
      const xid = await env.sql.begin(async (tx) => {
        await body(tx);
        const [row] = await tx`SELECT (txid_current() % 4294967296)::int8 AS xid`;
        return Number(row.xid);
      });
      bounds.push([before, await env.walLsn(), xid as number]);
    };
    await commit((tx) => tx`INSERT INTO items VALUES (1, 'a'), (2, 'b')`);
    await commit((tx) => tx`UPDATE items SET value = 'c' WHERE id = 1`);
    await commit((tx) => tx`DELETE FROM items WHERE id = 2`);
    await waitFor(() => seen.length >= 3, { timeoutMs: 10_000, what: "three transactions" });

    assert.equal(seen.length, 3);
    seen.forEach(({ tx, replayed }, i) => {
      const [before, after, xid] = bounds[i];
      assert.equal(replayed, false);
      assert.ok(
        tx.lsn > before && tx.lsn <= after,
        `LSN ${tx.lsn} of transaction ${i} within its commit (${before}, ${after}]`,
      );
      assert.equal(tx.xid, xid);
      assert.equal(tx.origin, "postgres_1");
    });
    assert.deepEqual(rows(seen), [
      ["insert", { id: "1", value: "a" }, null],
      ["insert", { id: "2", value: "b" }, null],
      ["update", { id: "1", value: "c" }, { id: "1", value: "a" }],
      ["delete", null, { id: "2", value: "b" }],
    ]);
    const relation = (seen[0].tx.changes[0] as RowChange).relation;
    assert.equal(relation.schema, "public");
    assert.equal(relation.table, "items");
    assert.deepEqual(relation.columns.map((c) => [c.name, c.typeOid]), [["id", 23], ["value", 25]]);
    assert.equal(log.lastLsn(), seen[2].tx.lsn);
  } finally {
    await env.cleanup();
  }
});

test("acknowledgements move the live slot and the persisted position, not the main slot", async () => {
  const env = await setup();
  try {
    const log = new InMemoryTransactionLog({ maxBytes: 1_000_000 });
    const seen: Seen[] = [];
    const { reader } = await env.start(log, seen);
    const mainBefore = (await env.slot(mainSlotName(env.db.name)))!.confirmed;
    await env.sql`INSERT INTO items VALUES (1, 'a')`;
    await waitFor(() => seen.length >= 1, { timeoutMs: 10_000, what: "the transaction" });
    const lsn = seen[0].tx.lsn;
    await waitFor(
      async () => ((await env.slot(liveSlotName(env.db.name)))?.confirmed ?? -1n) >= lsn,
      {
        timeoutMs: 10_000,
        what: "the live slot's confirmed_flush_lsn to reach the transaction",
      },
    );
    const [position] = await env.sql`
      SELECT processed_lsn::text AS lsn FROM electric.replication_positions
       WHERE slot_name = ${mainSlotName(env.db.name)}`;
    assert.ok(parseLsn(position.lsn)! >= lsn);
    assert.ok(reader.processedLsn! >= lsn);
    assert.equal((await env.slot(mainSlotName(env.db.name)))!.confirmed, mainBefore);
  } finally {
    await env.cleanup();
  }
});

test("after an abrupt stop and a restart no new transaction is lost or handed on twice", async () => {
  const env = await setup();
  try {
    const seen1: Seen[] = [];
    const first = await env.start(new InMemoryTransactionLog({ maxBytes: 1_000_000 }), seen1);
    await env.sql`INSERT INTO items VALUES (1, 'a')`;
    await env.sql`INSERT INTO items VALUES (2, 'b')`;
    await waitFor(() => seen1.length >= 2, { timeoutMs: 10_000, what: "two transactions" });
    const handedOn = seen1[1].tx.lsn;
    await waitFor(() => (first.reader.processedLsn ?? 0n) >= handedOn, {
      timeoutMs: 10_000,
      what: "the position to be persisted",
    });

    // Abrupt: the walsender is killed, nothing gets a chance to shut down in order.
    const pid = (await env.slot(liveSlotName(env.db.name)))!.pid;
    await env.sql`SELECT pg_terminate_backend(${pid})`;
    await assert.rejects(first.handle.lost, (error: { code?: string }) => {
      assert.equal(error.code, "STREAM_LOST");
      return true;
    });
    await first.handle.close({ persist: false });
    await env.sql`INSERT INTO items VALUES (3, 'c')`;
    await env.sql`INSERT INTO items VALUES (4, 'd')`;

    // A new process: an empty log, the same database.
    const seen2: Seen[] = [];
    const log2 = new InMemoryTransactionLog({ maxBytes: 1_000_000 });
    const second = await env.start(log2, seen2);
    const { startLsn, replayedThrough } = second.handle;
    assert.equal(startLsn, replayedThrough, "streaming starts at the persisted position");
    assert.ok(startLsn >= handedOn);
    await waitFor(() => seen2.length >= 2, { timeoutMs: 15_000, what: "the two new transactions" });
    // Anything more (a repeat of 1 or 2) would arrive before 4: the stream is in LSN order.
    await env.sql`INSERT INTO items VALUES (5, 'e')`;
    await waitFor(() => seen2.length >= 3, { timeoutMs: 15_000, what: "the marker transaction" });

    const ids = (list: Seen[]) =>
      list.map(({ tx }) => ((tx.changes[0] as RowChange).record ?? {}).id);
    assert.deepEqual(ids(seen2), ["3", "4", "5"], "old transactions are not re-appended");
    assert.deepEqual(seen2.map((s) => s.replayed), [false, false, false]);
    const all = [...seen1, ...seen2].map((s) => s.tx.lsn);
    assert.equal(new Set(all).size, 5, "each transaction is handed on exactly once");
  } finally {
    await env.cleanup();
  }
});

test("a second reader on the same database is refused with a coded error", async () => {
  const env = await setup();
  try {
    await env.start(new InMemoryTransactionLog({ maxBytes: 1_000_000 }), []);
    const second = new ReplicationReader({
      // Exactly the transactions after the persisted position (no recent history again).
      replayBytes: 0n,
      connect: replicationConnectionFrom(env.sql),
      sql: env.sql,
      database: env.db.name,
      log: new InMemoryTransactionLog({ maxBytes: 1_000_000 }),
      logger: quiet,
      slotBusyTimeoutMs: 200,
    });
    await assert.rejects(second.start(), (error: { code?: string; message: string }) => {
      assert.equal(error.code, "ANOTHER_INSTANCE_CONNECTED");
      assert.match(error.message, /Another instance of Electric/);
      return true;
    });
  } finally {
    await env.cleanup();
  }
});

test("a reference instance streaming from its temporary slot also counts as another instance", async () => {
  const env = await setup();
  const reference = replicationConnectionFrom(env.sql)();
  try {
    // The reference service streams from `<main slot>_rc`, which exists only while it runs.
    await reference.unsafe(
      `CREATE_REPLICATION_SLOT "${temporarySlotName(env.db.name)}" TEMPORARY LOGICAL pgoutput ` +
        `NOEXPORT_SNAPSHOT`,
    );
    const reader = new ReplicationReader({
      // Exactly the transactions after the persisted position (no recent history again).
      replayBytes: 0n,
      connect: replicationConnectionFrom(env.sql),
      sql: env.sql,
      database: env.db.name,
      log: new InMemoryTransactionLog({ maxBytes: 1_000_000 }),
      logger: quiet,
      slotBusyTimeoutMs: 200,
    });
    await assert.rejects(reader.start(), (error: { code?: string }) => {
      assert.equal(error.code, "ANOTHER_INSTANCE_CONNECTED");
      return true;
    });
    await reference.end({ timeout: 1 });
    await waitFor(async () => (await env.slot(temporarySlotName(env.db.name))) === undefined, {
      timeoutMs: 10_000,
      what: "the reference's slot to go with its session",
    });
    const handle = await reader.start();
    await handle.close();
  } finally {
    await reference.end({ timeout: 1 });
    await env.cleanup();
  }
});

test("as a connector step, replication comes back after the stream dies", async () => {
  const db = await freshDatabase();
  const admin = postgres(db.url, { max: 1, onnotice: () => {} });
  const log = new InMemoryTransactionLog({ maxBytes: 1_000_000 });
  const seen: Seen[] = [];
  log.subscribe((tx, info) => seen.push({ tx, replayed: info.replayed }));
  const readers: Reader[] = [];
  const config = testConfig(db.url);
  const connector = new PostgresConnector({
    database: config.database,
    writeMode: config.writeMode,
    logger: quiet,
    onFatal: () => {},
    healthCheckIntervalMs: 50,
    backoff: () => 50,
    steps: [
      replicationStep({
        log,
        logger: quiet,
        windowBytes: 1_000_000,
        statusIntervalMs: 100,
        onStarted: (reader) => readers.push(reader),
      }),
    ],
  });
  const stop = new AbortController();
  const running = connector.run(stop.signal);
  try {
    assert.equal(await connector.whenReady(15_000), true);
    await admin`CREATE TABLE public.items (id int PRIMARY KEY, value text)`;
    await admin`ALTER PUBLICATION electric_publication ADD TABLE public.items`;
    await admin`INSERT INTO items VALUES (1, 'a')`;
    await waitFor(() => seen.length >= 1, { timeoutMs: 10_000, what: "the first transaction" });

    await admin`
      SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots
       WHERE slot_name = ${liveSlotName(db.name)}`;
    await waitFor(() => readers.length >= 2 && connector.status().state === "ready", {
      timeoutMs: 15_000,
      what: "the connector to restart replication",
    });
    await admin`INSERT INTO items VALUES (2, 'b')`;
    await waitFor(() => seen.length >= 2, { timeoutMs: 10_000, what: "the second transaction" });
    assert.deepEqual(
      seen.map(({ tx }) => ((tx.changes[0] as RowChange).record ?? {}).id),
      ["1", "2"],
    );
  } finally {
    stop.abort();
    await running;
    await admin.end({ timeout: 1 });
    await db.drop();
  }
});

test("run() streams until its signal aborts, then persists, acknowledges and lets go of the live slot", async () => {
  const env = await setup();
  try {
    const log = new InMemoryTransactionLog({ maxBytes: 1_000_000 });
    const reader = new ReplicationReader({
      // Exactly the transactions after the persisted position (no recent history again).
      replayBytes: 0n,
      connect: replicationConnectionFrom(env.sql),
      sql: env.sql,
      database: env.db.name,
      log,
      logger: quiet,
      // Long enough that only the orderly stop writes the last position.
      persistIntervalMs: 60_000,
    });
    const stop = new AbortController();
    const running = reader.run(stop.signal);
    await waitFor(async () => (await env.slot(liveSlotName(env.db.name)))?.pid, {
      timeoutMs: 10_000,
      what: "the live slot to be streamed from",
    });
    await env.sql`INSERT INTO items VALUES (1, 'a')`;
    await waitFor(() => log.lastLsn() !== undefined, { timeoutMs: 10_000, what: "the insert" });
    await env.sql`INSERT INTO items VALUES (2, 'b')`;
    await waitFor(() => log.size >= 2, { timeoutMs: 10_000, what: "the second insert" });
    stop.abort();
    await running;
    const lsn = log.lastLsn()!;
    assert.ok(reader.processedLsn! >= lsn, "the last position is persisted on the way out");
    const slot = await waitFor(async () => {
      const live = await env.slot(liveSlotName(env.db.name));
      return live && live.pid === null ? live : undefined;
    }, { timeoutMs: 10_000, what: "the live slot to be released" });
    assert.ok(slot.confirmed! >= lsn, "and acknowledged");
    assert.ok(await env.slot(mainSlotName(env.db.name)), "the main slot stays");
  } finally {
    await env.cleanup();
  }
});
