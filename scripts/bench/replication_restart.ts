/**
 * Measures restart and retained reads with a lot of WAL behind the processed position (not a
 * test: run by hand, numbers are indicative). Generates about `MB` megabytes of WAL through a
 * published table while a reader streams it, stops the reader in order, then times a new
 * reader: until its stream is open, and until a commit made after that reaches its log. With
 * this tree's sources it also times the alternatives (a temporary copy of the main slot
 * started at the persisted position; a live slot made anew) and retained reads (one scan of
 * the whole window, one read of its newest hundredth, 1000 concurrent reads).
 *
 *   ELECTRIC_TEST_DATABASE_URL=postgres://… bun scripts/bench/replication_restart.ts \
 *     [MB=1024] [CHECKPOINT=each|1] [SRC=<root of other sources to measure, e.g. an old tree>]
 *
 * Postgres logs the running transactions, which let slots move their restart point, every
 * 15 s under write activity and at checkpoints; writing a GB takes less than that here, so
 * CHECKPOINT=each (after every ~80 MB) stands in for time passing, CHECKPOINT=1 for one at
 * the end, none for the worst case. The cluster needs `max_wal_size` above MB and the disk
 * space; CHECKPOINT needs a superuser.
 */
import postgres from "postgres";
import { freshDatabase } from "../../tests/helpers/pg_cluster.ts";
import { waitFor } from "../../tests/helpers/wait.ts";

const arg = (name: string) =>
  process.argv.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
const megabytes = Number(arg("MB") ?? 1024);
const root = arg("SRC") ?? new URL("../..", import.meta.url).pathname;
const replication = await import(`${root}/src/replication/mod.ts`);
const storage = await import(`${root}/src/storage/mod.ts`);
const telemetry = await import(`${root}/src/telemetry/mod.ts`);
const pgwire = await import(`${root}/src/pgwire/mod.ts`);

const logger = telemetry.createLogger({ level: "info", write: (line: string) => log(line) });
const started = Date.now();
function log(line: string) {
  console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${line.trim()}`);
}

const db = await freshDatabase();
const sql = postgres(db.url, {
  max: 4,
  onnotice: () => {},
  // A commit reaches walsenders when it is flushed: no wal_writer_delay in the timings.
  connection: { TimeZone: "UTC", DateStyle: "ISO, DMY", synchronous_commit: "on" },
});
type Tx = { lsn: bigint; changes: { relation?: { table: string }; record?: { id?: string } }[] };

try {
  await storage.bootstrapElectricSchema(sql);
  await storage.ensurePublication(sql);
  await sql`CREATE TABLE big (id int PRIMARY KEY, payload text)`;
  await sql`CREATE TABLE marks (id text PRIMARY KEY)`;
  await sql`ALTER TABLE big REPLICA IDENTITY FULL`;
  await sql`ALTER PUBLICATION electric_publication ADD TABLE big, marks`;
  const rows = 30_000;
  await sql`INSERT INTO big SELECT g, repeat(md5(g::text), 40) FROM generate_series(1, ${rows}) g`;

  const reader = (log: unknown) =>
    new replication.ReplicationReader({
      connect: replication.replicationConnectionFrom(sql),
      sql,
      database: db.name,
      log,
      logger,
    });
  const markIn = (seen: Tx[], mark: string) =>
    seen.find((tx) =>
      tx.changes.some((c) => c.relation?.table === "marks" && c.record?.id === mark)
    );
  const mark = async (seen: Tx[], id: string) => {
    await sql`INSERT INTO marks VALUES (${id})`;
    return await waitFor(() => markIn(seen, id), { timeoutMs: 600_000, what: id, intervalMs: 5 });
  };
  const walLsn = async () =>
    pgwire.parseLsn((await sql`SELECT pg_current_wal_lsn()::text AS l`)[0].l) as bigint;

  // 1. A first run streams the generated WAL and persists its position.
  const seen1: Tx[] = [];
  const log1 = new replication.InMemoryTransactionLog({ maxBytes: 64 * 1024 * 1024 });
  log1.subscribe((tx: Tx) => seen1.push({ lsn: tx.lsn, changes: [] }));
  const r1 = reader(log1);
  const h1 = await r1.start();
  const from = await walLsn();
  let pass = 0;
  while (Number((await walLsn()) - from) < megabytes * 1024 * 1024) {
    for (let id = 1; id <= rows; id += 1000) {
      await sql`UPDATE big SET payload = repeat(md5((id + ${++pass})::text), 40)
                 WHERE id BETWEEN ${id} AND ${id + 999}`;
    }
    if (arg("CHECKPOINT") === "each") await sql`CHECKPOINT`;
  }
  if (arg("CHECKPOINT") === "1") await sql`CHECKPOINT`;
  const generated = Number((await walLsn()) - from);
  log(`Generated ${(generated / 2 ** 20).toFixed(0)} MiB of WAL in ${pass} transactions`);
  const seen1Marks: Tx[] = [];
  log1.subscribe((tx: Tx) => markIn([tx], "generated") && seen1Marks.push(tx));
  const done = await mark(seen1Marks, "generated");
  await waitFor(() => (r1.processedLsn ?? 0n) >= done.lsn, { timeoutMs: 60_000 });
  log(`First run handed on ${seen1.length} transactions; closing it`);
  await h1.close();

  // 2. The restart.
  const restart = async (label: string) => {
    const seen: Tx[] = [];
    let older = 0;
    const log2 = new replication.InMemoryTransactionLog({ maxBytes: 64 * 1024 * 1024 });
    log2.subscribe((tx: Tx) =>
      tx.changes.some((c) => c.relation?.table === "marks") ? seen.push(tx) : older++
    );
    let marks = 0;
    const slots = await sql`
      SELECT slot_name, restart_lsn::text AS restart, confirmed_flush_lsn::text AS confirmed
        FROM pg_replication_slots WHERE database = ${db.name} ORDER BY slot_name`;
    for (const slot of slots) {
      log(`  ${slot.slot_name}: restart ${slot.restart}, confirmed ${slot.confirmed}`);
    }
    const t0 = performance.now();
    const handle = await reader(log2).start();
    const opened = performance.now() - t0;
    const t1 = performance.now();
    await mark(seen, `after-${label}-${++marks}`);
    const arrived = performance.now() - t1;
    const t2 = performance.now();
    await mark(seen, `after-${label}-${++marks}`);
    const next = performance.now() - t2;
    log(
      `${label}: stream open after ${opened.toFixed(0)} ms; a new commit reached the log ` +
        `${arrived.toFixed(0)} ms later, after ${older} older transactions (the next one: ` +
        `${next.toFixed(0)} ms)`,
    );
    await handle.close();
    return seen;
  };
  await restart("restart");
  if (replication.RetainedReads !== undefined) { // this tree, not an old one
    // The alternative to a live slot: a temporary copy of the main slot, streamed from the
    // persisted position (START_REPLICATION skips the commits before it).
    const slots = await import(`${root}/src/replication/slots.ts`);
    const persisted = await slots.readProcessedLsn(sql, storage.mainSlotName(db.name));
    const repl = replication.replicationConnectionFrom(sql)();
    const temporary = `${storage.mainSlotName(db.name)}_skip`;
    const t0 = performance.now();
    await slots.copyToTemporarySlot(repl, {
      source: storage.mainSlotName(db.name),
      target: temporary,
    }, { busyTimeoutMs: 0 });
    const stream = await slots.startReplication(repl, {
      slot: temporary,
      startLsn: persisted,
      publication: "electric_publication",
    });
    const opened = performance.now() - t0;
    const session = new replication.ReplicationStreamSession({
      origin: "postgres_1",
      startLsn: persisted,
      statusIntervalMs: 10_000,
    });
    const seen: Tx[] = [];
    stream.on("data", (chunk: Uint8Array) => {
      for (const { transaction } of session.receive(chunk, Date.now()).transactions) {
        seen.push(transaction);
      }
    });
    const t1 = performance.now();
    await mark(seen, "after-skip");
    log(
      `temporary copy of the main slot from the persisted position: stream open after ` +
        `${opened.toFixed(0)} ms; a new commit reached it ${(performance.now() - t1).toFixed(0)} ` +
        `ms later, after ${seen.length - 1} older transactions`,
    );
    stream.end();
    await repl.end({ timeout: 1 });

    // The first start after an upgrade (or with the live slot dropped): a copy of the main
    // slot moved to the persisted position.
    await sql`SELECT pg_drop_replication_slot(${storage.liveSlotName(db.name)})`;
    await restart("restart without live slot");
    await restart("restart again");
  }
  if (replication.RetainedReads !== undefined) {
    // Retained reads after the restart: 1000 requests from positions in the last tenth of
    // the window, all up to the persisted position.
    const slots = await import(`${root}/src/replication/slots.ts`);
    const persisted = await slots.readProcessedLsn(sql, storage.mainSlotName(db.name));
    const main = (await slots.readSlot(sql, storage.mainSlotName(db.name))).confirmedFlushLsn;
    const options = {
      connect: replication.replicationConnectionFrom(sql),
      mainSlot: storage.mainSlotName(db.name),
      timeoutMs: 120_000,
    };
    const span = Number(persisted - main);
    let scans = 0;
    let t0 = performance.now();
    let count = 0;
    await replication.scanRetained(options, {
      start: (windowStart: bigint) => windowStart,
      transaction: () => count++,
      end: () => persisted,
    });
    log(`one scan of the whole window: ${(performance.now() - t0).toFixed(0)} ms, ${count} tx`);
    t0 = performance.now();
    const near = await replication.readRetained(options, {
      fromLsn: persisted - BigInt(Math.floor(span / 100)),
      toLsn: persisted,
    });
    log(
      `one read of the last hundredth of the window: ${(performance.now() - t0).toFixed(0)} ms, ` +
        `${near.kind === "ok" ? near.transactions.length : near.kind} tx`,
    );
    const reads = new replication.RetainedReads({
      ...options,
      maxBytes: 64 * 1024 * 1024,
      onScan: () => scans++,
    });
    t0 = performance.now();
    const results = await Promise.all(
      Array.from(
        { length: 1000 },
        (_, i) => reads.read(persisted - BigInt(Math.floor((span / 10) * (i / 1000))), persisted),
      ),
    );
    log(
      `1000 concurrent retained reads: ${(performance.now() - t0).toFixed(0)} ms, ${scans} ` +
        `scan(s), ${results.filter((r: { kind: string }) => r.kind === "ok").length} ok`,
    );
    reads.close();
  }
} finally {
  await sql.end({ timeout: 1 });
  await db.drop();
}
