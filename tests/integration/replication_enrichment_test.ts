/**
 * Shadow enrichment end to end: on an electrified table, Postgres's own shadow rows give the
 * changes their tags, and the fk_chain_touch messages give the referenced parent rows.
 * Electrification itself belongs to the storage module; this only checks what replication
 * makes of its output.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import postgres from "postgres";
import {
  InMemoryTransactionLog,
  replicationConnectionFrom,
  ReplicationReader,
  type RowChange,
  type Transaction,
} from "../../src/replication/mod.ts";
import { bootstrapElectricSchema, ensurePublication } from "../../src/storage/mod.ts";
import { createLogger } from "../../src/telemetry/mod.ts";
import { freshDatabase } from "../helpers/pg_cluster.ts";
import { waitFor } from "../helpers/wait.ts";

const quiet = createLogger({ level: "error", write: () => {} });
const CLIENT_TAG = /^postgres_1@\d+$/;

test("changes to electrified tables carry tags; parents come as referenced records", async () => {
  const db = await freshDatabase();
  const sql = postgres(db.url, {
    max: 3,
    onnotice: () => {},
    connection: { TimeZone: "UTC", DateStyle: "ISO, DMY", application_name: "replication-test" },
  });
  const log = new InMemoryTransactionLog({ maxBytes: 1_000_000 });
  const seen: Transaction[] = [];
  log.subscribe((tx) => seen.push(tx));
  let close = async () => {};
  try {
    await bootstrapElectricSchema(sql);
    await ensurePublication(sql);
    await sql`CREATE TABLE public.parents (id text PRIMARY KEY, name text)`;
    await sql`CREATE TABLE public.children (
      id text PRIMARY KEY, parent_id text REFERENCES public.parents (id), value text)`;
    await sql`CALL electric.electrify('public.parents')`;
    await sql`CALL electric.electrify('public.children')`;

    const reader = new ReplicationReader({
      // Exactly the transactions after the persisted position (no recent history again).
      replayBytes: 0n,
      connect: replicationConnectionFrom(sql),
      sql,
      database: db.name,
      log,
      logger: quiet,
    });
    const handle = await reader.start();
    close = () => handle.close();
    await sql`INSERT INTO parents VALUES ('p1', 'parent')`;
    await waitFor(() => seen.some((tx) => tx.changes.length > 0 && hasTable(tx, "parents")), {
      timeoutMs: 10_000,
      what: "the parent insert",
    });
    const count = seen.length;
    await sql`INSERT INTO children VALUES ('c1', 'p1', 'x')`;
    await waitFor(() => seen.length > count && hasTable(seen.at(-1)!, "children"), {
      timeoutMs: 10_000,
      what: "the child insert",
    });

    const parentTx = seen.find((tx) => hasTable(tx, "parents"))!;
    const parentInsert = parentTx.changes[0] as RowChange;
    assert.equal(parentTx.changes.length, 1, "shadow and tombstone changes are folded away");
    assert.deepEqual(parentInsert.record, { id: "p1", name: "parent" });
    assert.equal(parentInsert.tags.length, 1);
    assert.match(parentInsert.tags[0], CLIENT_TAG);
    assert.equal(parentTx.origin, "postgres_1");
    assert.equal(parentTx.commitTimestamp.getTime(), Number(parentInsert.tags[0].split("@")[1]));

    const childTx = seen.at(-1)!;
    const childInsert = childTx.changes[0] as RowChange;
    assert.deepEqual(childTx.changes.map((c) => c.kind), ["insert"]);
    assert.match(childInsert.tags[0], CLIENT_TAG);
    assert.deepEqual(childTx.referencedRecords.map((r) => [r.schema, r.table, r.pk, r.record]), [
      ["public", "parents", ["p1"], { id: "p1", name: "parent" }],
    ]);
    assert.deepEqual(childTx.referencedRecords[0].tags, parentInsert.tags);

    const deleteCount = seen.length;
    await sql`DELETE FROM children WHERE id = 'c1'`;
    await waitFor(() => seen.length > deleteCount && hasTable(seen.at(-1)!, "children"), {
      timeoutMs: 10_000,
      what: "the delete",
    });
    const deletion = seen.at(-1)!.changes[0] as RowChange;
    assert.equal(deletion.kind, "delete");
    assert.deepEqual(deletion.tags, []);
    assert.deepEqual(deletion.oldRecord, { id: "c1", parent_id: "p1", value: "x" });
  } finally {
    await close();
    await sql.end({ timeout: 1 });
    await db.drop();
  }
});

function hasTable(tx: Transaction, table: string): boolean {
  return tx.changes.some((c) => c.kind !== "truncate" && c.relation.table === table);
}
