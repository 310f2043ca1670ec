/**
 * Snapshot reads against a real Postgres when a transaction up to the read's position is not
 * visible yet (Postgres streams a commit a moment before other sessions see it). The moment is
 * stood in for by a transaction left open on another connection and told to the tracker as
 * streamed: a read that follows it must not take a snapshot lacking it, and takes the first one
 * showing it; a transaction after the read's position is left to the insertion point.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import postgres from "postgres";
import {
  bootstrapElectricSchema,
  ensurePublication,
  SESSION_PARAMETERS,
} from "../../src/storage/mod.ts";
import { SnapshotRead, Visibility, visibleIn } from "../../src/sync/mod.ts";
import { freshDatabase } from "../helpers/pg_cluster.ts";
import { recordingLogger } from "../helpers/recording_logger.ts";

type Db = Awaited<ReturnType<typeof freshDatabase>>;
let db: Db;
let sql: postgres.Sql;
const { logger, warnings } = recordingLogger();

before(async () => {
  db = await freshDatabase();
  sql = postgres(db.url, { max: 4, onnotice: () => {}, connection: { ...SESSION_PARAMETERS } });
  await bootstrapElectricSchema(sql, { ddlGuard: true });
  await ensurePublication(sql);
  await sql`CREATE TABLE items (id text PRIMARY KEY)`;
});

after(async () => {
  await sql.end();
  await db.drop();
});

/** A transaction inserting `id`, left open: its xid, and a function that commits it. */
async function openInsert(id: string) {
  const writer = postgres(db.url, { max: 1, onnotice: () => {} });
  const reserved = await writer.reserve();
  await reserved`BEGIN`;
  const [{ xid }] = await reserved`
    INSERT INTO items VALUES (${id}) RETURNING (pg_current_xact_id()::text::int8 & 4294967295) AS xid`;
  return {
    xid: Number(xid),
    async end(how: "COMMIT" | "ROLLBACK" = "COMMIT") {
      await reserved.unsafe(how);
      reserved.release();
      await writer.end();
    },
  };
}

const ids = (rows: { id: string }[]) => rows.map((r) => r.id).sort();

test("a read waits for a transaction up to its position to show, then sees it", async () => {
  const visibility = new Visibility({ logger });
  const held = await openInsert("a");
  visibility.observe({ xid: held.xid, lsn: 10n });
  let reads = 0;
  const read = new SnapshotRead(
    { sql, base: 10n, causedBy: "test", visibility },
    async (snapshot) => {
      reads++;
      return ids(await snapshot<{ id: string }[]>`SELECT id FROM items`);
    },
  );
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(read.known, undefined, "no snapshot taken as the read's while it does not show");
  assert.equal(reads, 0);
  await held.end();
  assert.deepEqual(await read.result, ["a"]);
  const info = await read.info;
  assert.equal(visibleIn(info, held.xid), true);
  assert.equal(read.isInsertionPoint({ lsn: 10n, xid: held.xid }), false);
  assert.deepEqual(warnings, []);
  assert.equal(visibility.tracked, 0, "seen visible by the read's own snapshot");
});

test("a transaction after the read's position is left to the insertion point", async () => {
  const visibility = new Visibility({ logger });
  const held = await openInsert("b");
  visibility.observe({ xid: held.xid, lsn: 11n });
  try {
    const read = new SnapshotRead(
      { sql, base: 10n, causedBy: "test", visibility },
      async (snapshot) => ids(await snapshot<{ id: string }[]>`SELECT id FROM items`),
    );
    assert.deepEqual(await read.result, ["a"]);
    assert.equal(read.isInsertionPoint({ lsn: 11n, xid: held.xid }), true);
  } finally {
    await held.end("ROLLBACK");
  }
});

test("a transaction that never shows is given up on with a warning, and the read goes on", async () => {
  const visibility = new Visibility({ logger, giveUpMs: 200 });
  const held = await openInsert("c");
  visibility.observe({ xid: held.xid, lsn: 12n });
  try {
    const read = new SnapshotRead(
      { sql, base: 12n, causedBy: "test", visibility },
      async (snapshot) => ids(await snapshot<{ id: string }[]>`SELECT id FROM items`),
    );
    assert.deepEqual(await read.result, ["a"]);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /^Snapshot read \(test\) without transaction "\d+" \(and 0 more\)/);
  } finally {
    await held.end("ROLLBACK");
  }
});
