/**
 * Restart and catch-up against a real Postgres: after a restart the live slot streams from
 * the persisted position (new commits arrive at once, older ones are not re-appended and stay
 * reachable through retained reads), a missing live slot is made without losing what
 * committed meanwhile, positions are persisted a few times a second and acknowledged only
 * once persisted, a killed process loses nothing, and concurrent retained reads share one
 * scan.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import postgres from "postgres";
import { parseLsn } from "../../src/pgwire/mod.ts";
import {
  InMemoryTransactionLog,
  replicationConnectionFrom,
  ReplicationReader,
  RetainedReads,
  type RowChange,
  type Transaction,
} from "../../src/replication/mod.ts";
import {
  bootstrapElectricSchema,
  ensurePublication,
  liveSlotName,
  mainSlotName,
} from "../../src/storage/mod.ts";
import { createLogger } from "../../src/telemetry/mod.ts";
import { freshDatabase } from "../helpers/pg_cluster.ts";
import { waitFor } from "../helpers/wait.ts";

const quiet = createLogger({ level: "error", write: () => {} });

async function setup() {
  const db = await freshDatabase();
  const sql = postgres(db.url, {
    max: 4,
    onnotice: () => {},
    connection: { TimeZone: "UTC", DateStyle: "ISO, DMY", application_name: "replication-test" },
  });
  await bootstrapElectricSchema(sql);
  await ensurePublication(sql);
  await sql`CREATE TABLE public.items (id int PRIMARY KEY, value text)`;
  await sql`ALTER TABLE public.items REPLICA IDENTITY FULL`;
  await sql`ALTER PUBLICATION electric_publication ADD TABLE public.items`;
  const closers: Array<() => Promise<void>> = [];
  /** A reader on a fresh log, as a new process would have. */
  const start = async (
    options: { persistIntervalMs?: number; cacheBytes?: number; replayBytes?: bigint } = {},
  ) => {
    const log = new InMemoryTransactionLog({ maxBytes: options.cacheBytes ?? 1_000_000 });
    const seen: Transaction[] = [];
    log.subscribe((tx) => seen.push(tx));
    const reader = new ReplicationReader({
      connect: replicationConnectionFrom(sql),
      sql,
      database: db.name,
      log,
      logger: quiet,
      statusIntervalMs: 100,
      persistIntervalMs: options.persistIntervalMs,
      // Unless a test says otherwise: exactly what is after the persisted position.
      replayBytes: options.replayBytes ?? 0n,
    });
    const handle = await reader.start();
    closers.push(() => handle.close());
    return { log, seen, reader, handle };
  };
  const insert = async (ids: number[], value = "v") => {
    for (const id of ids) await sql`INSERT INTO items VALUES (${id}, ${value})`;
  };
  const persisted = async () => {
    const [row] = await sql`
      SELECT processed_lsn::text AS lsn FROM electric.replication_positions
       WHERE slot_name = ${mainSlotName(db.name)}`;
    return row ? parseLsn(row.lsn)! : undefined;
  };
  const slot = async (name: string) => {
    const [row] = await sql`
      SELECT confirmed_flush_lsn::text AS confirmed FROM pg_replication_slots
       WHERE slot_name = ${name}`;
    return row?.confirmed ? parseLsn(row.confirmed)! : undefined;
  };
  return {
    db,
    sql,
    start,
    insert,
    persisted,
    slot,
    async cleanup() {
      for (const close of closers) await close();
      await sql.end({ timeout: 1 });
      await db.drop();
    },
  };
}

const ids = (txs: Transaction[]) => txs.map((tx) => (tx.changes[0] as RowChange).record?.id);

test("after a restart with WAL behind, a new commit arrives at once and older ones are not re-appended", async () => {
  const env = await setup();
  try {
    const first = await env.start();
    // About 70 MB of WAL the main slot keeps: 4000 rows of 1.8 kB (below TOAST compression),
    // updated five times with their old values.
    await env.sql`
      INSERT INTO items SELECT g, repeat(md5(g::text), 56) FROM generate_series(1, 4000) g`;
    for (let pass = 1; pass <= 5; pass++) {
      await env.sql`UPDATE items SET value = repeat(md5((id + ${pass})::text), 56)`;
    }
    await env.insert([10_001]);
    await waitFor(() => ids(first.seen).includes("10001"), {
      timeoutMs: 60_000,
      what: "the first run to read everything",
    });
    const handedOn = first.seen.at(-1)!.lsn;
    await first.handle.close();
    const persisted = (await env.persisted())!;
    assert.ok(persisted >= handedOn);
    const main = (await env.slot(mainSlotName(env.db.name)))!;
    assert.ok(persisted - main > 30_000_000n, `${persisted - main} bytes of WAL retained`);

    const second = await env.start();
    assert.equal(second.handle.startLsn, persisted);
    const started = Date.now();
    await env.insert([10_002]);
    await waitFor(() => second.seen.length > 0, { timeoutMs: 10_000, what: "the new commit" });
    const elapsed = Date.now() - started;
    assert.deepEqual(ids(second.seen), ["10002"], "nothing older is appended");
    assert.ok(elapsed < 5_000, `the new commit took ${elapsed} ms`);

    // What is older than the cache is still there for whoever asks.
    second.log.onRetainedRead(
      new RetainedReads({
        connect: replicationConnectionFrom(env.sql),
        mainSlot: mainSlotName(env.db.name),
        maxBytes: 1_000_000,
      }).read,
    );
    const older = await second.log.readAfter(first.seen.at(-3)!.lsn);
    assert.ok(older.kind === "ok");
    assert.deepEqual(ids(older.transactions), [...ids(first.seen.slice(-2)), "10002"]);
  } finally {
    await env.cleanup();
  }
});

test("under heavy writes the live slot's restart point stays close to its confirmed position", async () => {
  const env = await setup();
  try {
    const first = await env.start({ persistIntervalMs: 100 });
    // About 120 MB of WAL in eight transactions, well within the 15 s after which Postgres
    // would log a running-transactions record of its own.
    await env.sql`
      INSERT INTO items SELECT g, repeat(md5(g::text), 56) FROM generate_series(1, 4000) g`;
    for (let pass = 1; pass <= 8; pass++) {
      await env.sql`UPDATE items SET value = repeat(md5((id + ${pass})::text), 56)`;
    }
    const [{ end }] = await env.sql`SELECT pg_current_wal_lsn()::text AS end`;
    await waitFor(async () => ((await env.persisted()) ?? 0n) >= parseLsn(end)!, {
      timeoutMs: 60_000,
      what: "the position to be persisted past the writes",
    });
    const restartBehind = async () => {
      const [slot] = await env.sql`
        SELECT restart_lsn::text AS restart, confirmed_flush_lsn::text AS confirmed
          FROM pg_replication_slots WHERE slot_name = ${liveSlotName(env.db.name)}`;
      return parseLsn(slot.confirmed)! - parseLsn(slot.restart)!;
    };
    // While it runs: within a few marks of the confirmed position.
    const behind = await restartBehind();
    assert.ok(behind < 64n * 1024n * 1024n, `the restart point is ${behind} bytes behind`);
    await first.handle.close();
  } finally {
    await env.cleanup();
  }
});

test("a graceful close leaves the live slot's restart point next to its confirmed position", async () => {
  const env = await setup();
  try {
    const first = await env.start({ persistIntervalMs: 100 });
    // About 8 MB of WAL: less than the interval between the running reader's own records.
    await env.sql`
      INSERT INTO items SELECT g, repeat(md5(g::text), 56) FROM generate_series(1, 2000) g`;
    await env.sql`UPDATE items SET value = repeat(md5((id + 1)::text), 56)`;
    const [{ end }] = await env.sql`SELECT pg_current_wal_lsn()::text AS end`;
    await waitFor(async () => ((await env.persisted()) ?? 0n) >= parseLsn(end)!, {
      timeoutMs: 60_000,
      what: "the position to be persisted past the writes",
    });
    await first.handle.close();
    const [slot] = await env.sql`
      SELECT restart_lsn::text AS restart, confirmed_flush_lsn::text AS confirmed
        FROM pg_replication_slots WHERE slot_name = ${liveSlotName(env.db.name)}`;
    const behind = parseLsn(slot.confirmed)! - parseLsn(slot.restart)!;
    assert.ok(behind < 64n * 1024n, `after the close, the restart point is ${behind} bytes behind`);
  } finally {
    await env.cleanup();
  }
});

test("by default a restart hands recent history on again, as replays, for clients resuming there", async () => {
  const env = await setup();
  try {
    const first = await env.start({ replayBytes: 32n * 1024n * 1024n });
    await env.insert([1, 2, 3]);
    await waitFor(() => first.seen.length >= 3, { timeoutMs: 10_000, what: "1, 2 and 3" });
    const persistedBefore = first.seen.at(-1)!.lsn;
    await waitFor(async () => ((await env.persisted()) ?? 0n) >= persistedBefore, {
      timeoutMs: 10_000,
      what: "the position to be persisted",
    });
    await first.handle.close();
    const replays: Transaction[] = [];
    const second = await env.start({ replayBytes: 32n * 1024n * 1024n });
    second.log.subscribe((tx, info) => {
      if (info.replayed) replays.push(tx);
    });
    await env.insert([4]);
    await waitFor(() => ids(second.seen).includes("4"), { timeoutMs: 10_000, what: "4" });
    // 1–3 came again first, marked as replays; 4 is new.
    assert.deepEqual(ids(second.seen), ["1", "2", "3", "4"]);
    assert.deepEqual(ids(replays), ["1", "2", "3"]);
    // A client resuming after 1 is served from the cache: no read of retained WAL.
    const after1 = await second.log.readAfter(second.seen[0].lsn);
    assert.ok(after1.kind === "ok");
    assert.deepEqual(ids(after1.transactions), ["2", "3", "4"]);
  } finally {
    await env.cleanup();
  }
});

test("a missing live slot is made from the main slot without losing what committed meanwhile", async () => {
  const env = await setup();
  try {
    const first = await env.start();
    await env.insert([1, 2]);
    await waitFor(() => first.seen.length >= 2, { timeoutMs: 10_000, what: "1 and 2" });
    await first.handle.close();
    // As after an upgrade from a version without a live slot: only the main one exists.
    await env.sql`SELECT pg_drop_replication_slot(${liveSlotName(env.db.name)})`;
    await env.insert([3, 4]);

    const second = await env.start();
    assert.ok(await env.slot(liveSlotName(env.db.name)), "the live slot is back");
    await env.insert([5]);
    await waitFor(() => second.seen.length >= 3, { timeoutMs: 10_000, what: "3, 4 and 5" });
    assert.deepEqual(ids(second.seen), ["3", "4", "5"]);
  } finally {
    await env.cleanup();
  }
});

test("positions are persisted a few times a second and acknowledged only once persisted", async () => {
  const env = await setup();
  try {
    await env.sql`CREATE TABLE position_writes (at timestamptz DEFAULT clock_timestamp())`;
    await env.sql`
      CREATE FUNCTION count_position_write() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN INSERT INTO position_writes DEFAULT VALUES; RETURN NEW; END $$`;
    await env.sql`
      CREATE TRIGGER count_position_writes AFTER INSERT OR UPDATE
        ON electric.replication_positions FOR EACH ROW EXECUTE FUNCTION count_position_write()`;
    const { seen, reader } = await env.start({ persistIntervalMs: 250 });

    const count = 300;
    let sampling = true;
    const violations: string[] = [];
    // Meanwhile: the live slot is never acknowledged past the persisted position. The slot is
    // read first and the position after, in two statements: the slot view is live shared
    // memory, not the statement's snapshot, so read together a position persisted and
    // acknowledged during the statement would look like a violation. The persisted position
    // only grows, so a confirmed position read earlier must never be past it.
    const sampler = (async () => {
      while (sampling) {
        const [slot] = await env.sql`
          SELECT confirmed_flush_lsn::text AS confirmed FROM pg_replication_slots
           WHERE slot_name = ${liveSlotName(env.db.name)}`;
        const [position] = await env.sql`
          SELECT processed_lsn::text AS persisted FROM electric.replication_positions
           WHERE slot_name = ${mainSlotName(env.db.name)}`;
        if (
          slot?.confirmed && position?.persisted &&
          parseLsn(slot.confirmed)! > parseLsn(position.persisted)!
        ) {
          violations.push(`${slot.confirmed} > ${position.persisted}`);
        }
      }
    })();
    const before = Number((await env.sql`SELECT count(*) AS n FROM position_writes`)[0].n);
    await env.insert(Array.from({ length: count }, (_, i) => i + 1));
    await waitFor(() => seen.length >= count, { timeoutMs: 30_000, what: "every transaction" });
    const last = seen.at(-1)!.lsn;
    await waitFor(async () => ((await env.persisted()) ?? 0n) >= last, {
      timeoutMs: 10_000,
      what: "the last position to be persisted",
    });
    sampling = false;
    await sampler;
    const writes = Number((await env.sql`SELECT count(*) AS n FROM position_writes`)[0].n) -
      before;
    assert.ok(writes <= 20, `${writes} position writes for ${count} transactions`);
    assert.ok(writes >= 1);
    assert.deepEqual(violations, []);
    assert.ok(reader.processedLsn! >= last);
    await waitFor(async () => ((await env.slot(liveSlotName(env.db.name))) ?? 0n) >= last, {
      timeoutMs: 10_000,
      what: "the persisted position to be acknowledged",
    });
  } finally {
    await env.cleanup();
  }
});

test("a stop without persisting loses nothing: what came after the persisted position comes again", async () => {
  const env = await setup();
  try {
    // The first position is written at once, the next only a minute later.
    const first = await env.start({ persistIntervalMs: 60_000 });
    await env.insert([1]);
    await waitFor(async () => first.seen.length >= 1 && (await env.persisted()) !== undefined, {
      timeoutMs: 10_000,
      what: "1 and the first position write",
    });
    await env.insert([2, 3, 4]);
    await waitFor(() => first.seen.length >= 4, { timeoutMs: 10_000, what: "2, 3 and 4" });
    await first.handle.close({ persist: false });
    const persisted = (await env.persisted())!;
    const lost = first.seen.filter((tx) => tx.lsn > persisted);
    assert.ok(lost.length >= 3, "2, 3 and 4 were handed on, not persisted");

    const second = await env.start();
    await env.insert([5]);
    await waitFor(() => second.seen.length >= lost.length + 1, {
      timeoutMs: 10_000,
      what: "what was lost, and 5",
    });
    assert.deepEqual(ids(second.seen), [...ids(lost), "5"]);
    assert.deepEqual(second.seen.slice(0, -1).map((tx) => tx.lsn), lost.map((tx) => tx.lsn));
  } finally {
    await env.cleanup();
  }
});

test("a killed process loses nothing: every transaction after the persisted position is streamed again", async () => {
  const env = await setup();
  const script = fileURLToPath(new URL("./replication_child_reader.ts", import.meta.url));
  const command = "Deno" in globalThis
    ? { cmd: process.execPath, args: ["run", "-A", script] }
    : { cmd: process.execPath, args: [script] };
  const child = spawn(command.cmd, [...command.args, env.db.url, env.db.name], {
    cwd: fileURLToPath(new URL("../..", import.meta.url)),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk) => output += String(chunk));
  child.stderr!.on("data", (chunk) => output += String(chunk));
  const exited = new Promise((resolve) => child.on("exit", resolve));
  try {
    await waitFor(() => output.includes("started"), {
      timeoutMs: 30_000,
      what: () => `the child to start streaming; output:\n${output}`,
    });
    await env.insert([1]);
    await waitFor(async () => ((await env.persisted()) ?? 0n) > 0n && output.includes(" 1\n"), {
      timeoutMs: 10_000,
      what: () => `the child to hand on and persist 1; output:\n${output}`,
    });
    await env.insert([2, 3, 4, 5]);
    const handedOn = () =>
      [...output.matchAll(/^tx (\d+) (\S+)$/gm)].map((m) => ({ lsn: BigInt(m[1]), id: m[2] }));
    await waitFor(() => handedOn().length >= 5, {
      timeoutMs: 10_000,
      what: () => `the child to hand on 2 to 5; output:\n${output}`,
    });
    child.kill("SIGKILL");
    await exited;

    const persisted = (await env.persisted())!;
    const lost = handedOn().filter((tx) => tx.lsn > persisted);
    assert.ok(lost.length >= 4, "the kill came before 2 to 5 were persisted");
    const second = await env.start();
    await env.insert([6]);
    await waitFor(() => second.seen.length >= lost.length + 1, {
      timeoutMs: 15_000,
      what: "the transactions after the persisted position, and 6",
    });
    assert.deepEqual(ids(second.seen), [...lost.map((tx) => tx.id), "6"]);
    assert.deepEqual(second.seen.slice(0, -1).map((tx) => tx.lsn), lost.map((tx) => tx.lsn));
  } finally {
    child.kill("SIGKILL");
    await env.cleanup();
  }
});

test("concurrent retained reads share one scan, and later ones inside it start none", async () => {
  const env = await setup();
  try {
    const first = await env.start();
    await env.insert(Array.from({ length: 30 }, (_, i) => i + 1));
    await waitFor(() => first.seen.length >= 30, { timeoutMs: 10_000, what: "30 transactions" });
    await first.handle.close();

    // After the restart the cache starts at the persisted position: all 30 are older.
    const second = await env.start();
    const scans: bigint[] = [];
    second.log.onRetainedRead(
      new RetainedReads({
        connect: replicationConnectionFrom(env.sql),
        mainSlot: mainSlotName(env.db.name),
        maxBytes: 1_000_000,
        onScan: ({ floor }) => scans.push(floor),
      }).read,
    );
    const froms = Array.from({ length: 200 }, (_, i) => first.seen[(i * 7) % 29].lsn);
    const results = await Promise.all(froms.map((from) => second.log.readAfter(from)));
    results.forEach((result, i) => {
      assert.ok(result.kind === "ok");
      const expected = first.seen.filter((tx) => tx.lsn > froms[i]).map((tx) => tx.lsn);
      assert.deepEqual(result.transactions.map((tx) => tx.lsn), expected);
    });
    assert.equal(scans.length, 1, "one scan for all of them");
    assert.equal(scans[0], first.seen[0].lsn, "from the oldest position asked");

    const later = await second.log.readAfter(first.seen[10].lsn);
    assert.ok(later.kind === "ok");
    assert.deepEqual(ids(later.transactions), ids(first.seen.slice(11)));
    assert.equal(scans.length, 1, "kept, no second scan");
    assert.equal((await second.log.readAfter(0n)).kind, "behind_window");
  } finally {
    await env.cleanup();
  }
});
