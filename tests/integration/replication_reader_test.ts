/**
 * The replication reader against a real Postgres: transactions arrive in commit order with
 * their commit end LSNs and old values, acknowledgements move the temporary slot (never the
 * main one), a restart after an abrupt stop neither loses nor repeats a new transaction, and
 * the connector step reconnects when the stream dies.
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

test("acknowledgements move the temporary slot and the persisted position, not the main slot", async () => {
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
      async () => ((await env.slot(temporarySlotName(env.db.name)))?.confirmed ?? -1n) >= lsn,
      {
        timeoutMs: 10_000,
        what: "the temporary slot's confirmed_flush_lsn to reach the transaction",
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
    const pid = (await env.slot(temporarySlotName(env.db.name)))!.pid;
    await env.sql`SELECT pg_terminate_backend(${pid})`;
    await assert.rejects(first.handle.lost, (error: { code?: string }) => {
      assert.equal(error.code, "STREAM_LOST");
      return true;
    });
    await first.handle.close();
    await env.sql`INSERT INTO items VALUES (3, 'c')`;
    await env.sql`INSERT INTO items VALUES (4, 'd')`;

    // A new process: an empty log, the same database.
    const seen2: Seen[] = [];
    const log2 = new InMemoryTransactionLog({ maxBytes: 1_000_000 });
    await env.start(log2, seen2);
    await waitFor(() => seen2.length >= 4, { timeoutMs: 15_000, what: "all four transactions" });
    await new Promise((resolve) => setTimeout(resolve, 200));

    const ids = (list: Seen[]) =>
      list.map(({ tx }) => ((tx.changes[0] as RowChange).record ?? {}).id);
    assert.deepEqual(ids(seen2), ["1", "2", "3", "4"]);
    assert.deepEqual(seen2.map((s) => s.replayed), [true, true, false, false]);
    const newOnes = [...seen1, ...seen2].filter((s) => !s.replayed).map((s) => s.tx.lsn);
    assert.deepEqual(newOnes, [...seen1, ...seen2.slice(2)].map((s) => s.tx.lsn));
    assert.equal(new Set(newOnes).size, 4, "each transaction is new exactly once");
    assert.deepEqual(seen2.slice(0, 2).map((s) => s.tx.lsn), seen1.map((s) => s.tx.lsn));
  } finally {
    await env.cleanup();
  }
});

test("a second reader on the same database is refused with a coded error", async () => {
  const env = await setup();
  try {
    await env.start(new InMemoryTransactionLog({ maxBytes: 1_000_000 }), []);
    const second = new ReplicationReader({
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
       WHERE slot_name = ${temporarySlotName(db.name)}`;
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

test("run() streams until its signal aborts, then releases the temporary slot", async () => {
  const env = await setup();
  try {
    const log = new InMemoryTransactionLog({ maxBytes: 1_000_000 });
    const reader = new ReplicationReader({
      connect: replicationConnectionFrom(env.sql),
      sql: env.sql,
      database: env.db.name,
      log,
      logger: quiet,
    });
    const stop = new AbortController();
    const running = reader.run(stop.signal);
    await waitFor(async () => (await env.slot(temporarySlotName(env.db.name)))?.pid, {
      timeoutMs: 10_000,
      what: "the temporary slot to be streamed from",
    });
    await env.sql`INSERT INTO items VALUES (1, 'a')`;
    await waitFor(() => log.lastLsn() !== undefined, { timeoutMs: 10_000, what: "the insert" });
    stop.abort();
    await running;
    await waitFor(async () => (await env.slot(temporarySlotName(env.db.name))) === undefined, {
      timeoutMs: 10_000,
      what: "the temporary slot to be dropped",
    });
    assert.ok(await env.slot(mainSlotName(env.db.name)), "the main slot stays");
  } finally {
    await env.cleanup();
  }
});
