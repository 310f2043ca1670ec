/**
 * The WAL window and retained-WAL reads against a real Postgres: the main slot advances to
 * `current - window` but never past the processed position, reads older than the cache are
 * served by re-reading WAL through a second temporary slot, and reads older than the retained
 * WAL are behind the window.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import postgres from "postgres";
import { parseLsn } from "../../src/pgwire/mod.ts";
import {
  advanceMainSlot,
  InMemoryTransactionLog,
  readRetained,
  replicationConnectionFrom,
  ReplicationReader,
  retainedReader,
  type RowChange,
  type Transaction,
  WalWindow,
} from "../../src/replication/mod.ts";
import { bootstrapElectricSchema, ensurePublication } from "../../src/storage/mod.ts";
import { createLogger } from "../../src/telemetry/mod.ts";
import { freshDatabase } from "../helpers/pg_cluster.ts";
import { waitFor } from "../helpers/wait.ts";

const quiet = createLogger({ level: "error", write: () => {} });

/** A database with `items` published and a running reader whose log keeps `cacheBytes`. */
async function setup(cacheBytes: number) {
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
  const log = new InMemoryTransactionLog({ maxBytes: cacheBytes });
  const seen: Transaction[] = [];
  log.subscribe((tx) => seen.push(tx));
  const connect = replicationConnectionFrom(sql);
  const reader = new ReplicationReader({
    // Exactly the transactions after the persisted position (no recent history again).
    replayBytes: 0n,
    connect,
    sql,
    database: db.name,
    log,
    logger: quiet,
    statusIntervalMs: 100,
  });
  const handle = await reader.start();
  const insert = async (ids: number[]) => {
    for (const id of ids) await sql`INSERT INTO items VALUES (${id}, ${"v" + id})`;
    const count = seen.length;
    await waitFor(() => seen.length >= count + ids.length || seen.length >= ids.at(-1)!, {
      timeoutMs: 10_000,
      what: "the inserts to be read",
    });
    await waitFor(() => (reader.processedLsn ?? 0n) >= seen.at(-1)!.lsn, {
      timeoutMs: 10_000,
      what: "the position to be persisted",
    });
  };
  const mainSlot = async () => {
    const [row] = await sql`
      SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots
       WHERE slot_name = ${reader.mainSlot}`;
    return parseLsn(row.lsn)!;
  };
  return {
    sql,
    log,
    seen,
    reader,
    connect,
    insert,
    mainSlot,
    startLsn: handle.startLsn,
    async cleanup() {
      await handle.close();
      await sql.end({ timeout: 1 });
      await db.drop();
    },
  };
}

const ids = (txs: Transaction[]) => txs.map((tx) => (tx.changes[0] as RowChange).record?.id);

test("the window advances the main slot, never past the processed position", async () => {
  const env = await setup(1_000_000);
  try {
    await env.insert([1, 2, 3]);
    const before = await env.mainSlot();
    const options = { sql: env.sql, mainSlot: env.reader.mainSlot };

    assert.equal(await advanceMainSlot({ ...options, windowBytes: 1 << 30 }), undefined);
    assert.equal(await env.mainSlot(), before);

    const moved = await advanceMainSlot({ ...options, windowBytes: 0 });
    assert.equal(moved, env.reader.processedLsn);
    assert.ok(moved! > before);
    assert.equal(await env.mainSlot(), moved);

    const stop = new AbortController();
    const window = new WalWindow({ ...options, windowBytes: 0, logger: quiet, intervalMs: 50 })
      .run(stop.signal);
    try {
      await env.insert([4]);
      await waitFor(async () => (await env.mainSlot()) === env.reader.processedLsn, {
        timeoutMs: 10_000,
        what: "the periodic task to advance the main slot",
      });
    } finally {
      stop.abort();
      await window;
    }
  } finally {
    await env.cleanup();
  }
});

test("reads older than the cache are served from retained WAL", async () => {
  // A one-byte budget keeps only the newest transaction in the cache.
  const env = await setup(1);
  try {
    await env.insert([1, 2, 3, 4]);
    const [tx1, tx2, tx3, tx4] = env.seen;
    assert.equal(env.log.firstLsn(), tx4.lsn);
    assert.equal((await env.log.readAfter(tx1.lsn)).kind, "behind_window");

    const direct = await readRetained(
      { connect: env.connect, mainSlot: env.reader.mainSlot },
      { fromLsn: env.startLsn, toLsn: tx2.lsn },
    );
    assert.equal(direct.kind, "ok");
    assert.ok(direct.kind === "ok");
    assert.deepEqual(direct.transactions.map((tx) => tx.lsn), [tx1.lsn, tx2.lsn]);
    assert.deepEqual(direct.transactions, [tx1, tx2]);

    env.log.onRetainedRead(retainedReader({ connect: env.connect, mainSlot: env.reader.mainSlot }));
    const viaLog = await env.log.readAfter(tx1.lsn);
    assert.ok(viaLog.kind === "ok");
    assert.deepEqual(ids(viaLog.transactions), ["2", "3", "4"]);
    assert.deepEqual(viaLog.transactions.map((tx) => tx.lsn), [tx2.lsn, tx3.lsn, tx4.lsn]);
  } finally {
    await env.cleanup();
  }
});

test("reads older than the retained WAL are behind the window", async () => {
  const env = await setup(1);
  try {
    await env.insert([1, 2, 3]);
    const [tx1] = env.seen;
    env.log.onRetainedRead(retainedReader({ connect: env.connect, mainSlot: env.reader.mainSlot }));
    assert.equal((await env.log.readAfter(tx1.lsn)).kind, "ok");

    await advanceMainSlot({ sql: env.sql, mainSlot: env.reader.mainSlot, windowBytes: 0 });
    assert.equal((await env.log.readAfter(tx1.lsn)).kind, "behind_window");
    const direct = await readRetained(
      { connect: env.connect, mainSlot: env.reader.mainSlot },
      { fromLsn: tx1.lsn, toLsn: env.seen[2].lsn },
    );
    assert.equal(direct.kind, "behind_window");
  } finally {
    await env.cleanup();
  }
});
