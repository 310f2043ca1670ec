import { test } from "node:test";
import assert from "node:assert/strict";
import {
  dateToPgTimestamp,
  type PgoutputMessage,
  type Relation,
  type TupleValue,
  UNCHANGED_TOAST,
} from "../pgwire/mod.ts";
import { type AssemblerResult, FK_CHAIN_TOUCH_PREFIX, TransactionAssembler } from "./assembler.ts";
import type { Transaction } from "./transaction.ts";

const COMMIT_TIME = dateToPgTimestamp(new Date("2024-01-01T00:00:00.000Z"));

function relation(id: number, namespace: string, name: string, columns: string[]): Relation {
  return {
    tag: "relation",
    relationId: id,
    namespace,
    name,
    replicaIdentity: "f",
    columns: columns.map((c) => ({ flags: 1, name: c, typeOid: 25, typeModifier: -1 })),
  };
}

const ITEMS = relation(100, "public", "items", ["id", "value"]);
const SHADOW = relation(101, "electric", "shadow__public__items", [
  "_tags",
  "_last_modified",
  "_is_a_delete_operation",
  "_tag",
  "_observed_tags",
  "_modified_columns_bit_mask",
  "_resolved",
  "_currently_reordering",
  "__reordered_value",
  "id",
  "_tag_value",
]);
const TOMBSTONE = relation(102, "electric", "tombstone__public__items", ["id", "value"]);
const DDL = relation(103, "electric", "ddl_commands", ["id", "txid", "txts", "query"]);
const MARKER = relation(104, "electric", "transaction_marker", ["id", "content"]);
const GRANTS = relation(105, "electric", "grants", [
  "privilege",
  "on_table",
  "role",
  "column_name",
  "scope",
  "using_path",
  "check_fn",
]);
const ROLES = relation(106, "electric", "roles", ["id", "role", "user_id"]);

function shadowRow(id: string, tags: string, tag: string): TupleValue[] {
  return [tags, "1", "f", tag, null, "{f}", "t", null, null, id, tag];
}

function run(messages: PgoutputMessage[], warnings: string[] = []): Transaction[] {
  const assembler = new TransactionAssembler({
    origin: "postgres_1",
    onWarning: (w) => warnings.push(w),
  });
  const out: Transaction[] = [];
  for (const message of messages) {
    const result: AssemblerResult = assembler.push(message);
    if (result.kind === "error") throw new Error(result.message);
    if (result.kind === "transaction") out.push(result.transaction);
  }
  return out;
}

const begin = (finalLsn: bigint, xid = 7): PgoutputMessage => ({
  tag: "begin",
  finalLsn,
  commitTime: COMMIT_TIME,
  xid,
});
const commit = (commitLsn: bigint, endLsn: bigint): PgoutputMessage => ({
  tag: "commit",
  flags: 0,
  commitLsn,
  endLsn,
  commitTime: COMMIT_TIME,
});

test("a plain transaction: LSN is the commit end LSN, origin postgres_1, no tags", () => {
  const [tx] = run([
    ITEMS,
    begin(0x100n),
    { tag: "insert", relationId: 100, newTuple: ["1", "a"] },
    { tag: "update", relationId: 100, oldKind: "O", oldTuple: ["1", "a"], newTuple: ["1", "b"] },
    { tag: "delete", relationId: 100, oldKind: "O", oldTuple: ["1", null] },
    commit(0x100n, 0x130n),
  ]);
  assert.equal(tx.lsn, 0x130n);
  assert.equal(tx.xid, 7);
  assert.equal(tx.origin, "postgres_1");
  assert.equal(tx.commitTimestamp.toISOString(), "2024-01-01T00:00:00.000Z");
  assert.deepEqual(tx.changes.map((c) => c.kind), ["insert", "update", "delete"]);
  const [insert, update, del] = tx.changes;
  assert.ok(insert.kind === "insert" && update.kind === "update" && del.kind === "delete");
  assert.deepEqual(insert.record, { id: "1", value: "a" });
  assert.deepEqual(insert.relation, {
    schema: "public",
    table: "items",
    oid: 100,
    columns: [
      { name: "id", typeOid: 25, typeModifier: -1 },
      { name: "value", typeOid: 25, typeModifier: -1 },
    ],
  });
  assert.deepEqual(update.oldRecord, { id: "1", value: "a" });
  assert.deepEqual(update.record, { id: "1", value: "b" });
  assert.deepEqual(del.oldRecord, { id: "1", value: null });
  assert.ok(tx.byteSize > 0);
});

test("shadow changes give tags, origin and commit time; tombstones and shadows disappear", () => {
  const [tx] = run([
    ITEMS,
    SHADOW,
    TOMBSTONE,
    begin(0x200n),
    { tag: "insert", relationId: 100, newTuple: ["1", "a"] },
    { tag: "insert", relationId: 100, newTuple: ["2", "b"] },
    { tag: "delete", relationId: 100, oldKind: "O", oldTuple: ["3", "c"] },
    { tag: "insert", relationId: 102, newTuple: ["3", "c"] },
    {
      tag: "insert",
      relationId: 101,
      newTuple: shadowRow(
        "1",
        '{"(\\"2024-01-01 00:00:01+00\\",)"}',
        '("2024-01-01 00:00:01+00",)',
      ),
    },
    {
      tag: "update",
      relationId: 101,
      oldKind: "O",
      oldTuple: shadowRow("1", "{}", '("2024-01-01 00:00:01+00",)'),
      newTuple: shadowRow(
        "1",
        '{"(\\"2024-01-01 00:00:02.5+00\\",client-a)"}',
        '("2024-01-01 00:00:02.5+00",client-a)',
      ),
    },
    {
      tag: "insert",
      relationId: 101,
      newTuple: shadowRow(
        "2",
        '{"(\\"2024-01-01 00:00:03+00\\",)","(\\"2024-01-01 00:00:02+00\\",client-b)"}',
        '("2024-01-01 00:00:03+00",client-z)',
      ),
    },
    commit(0x200n, 0x260n),
  ]);
  assert.equal(tx.origin, "client-z");
  assert.equal(tx.commitTimestamp.toISOString(), "2024-01-01T00:00:03.000Z");
  assert.deepEqual(
    tx.changes.map((c) => c.kind !== "truncate" && [c.relation.table, c.kind, c.tags]),
    [
      ["items", "insert", ["client-a@1704067202500"]],
      ["items", "insert", ["postgres_1@1704067203000", "client-b@1704067202000"]],
      ["items", "delete", []],
    ],
  );
});

test("a NULL tag source in the last shadow change means origin postgres_1", () => {
  const [tx] = run([
    ITEMS,
    SHADOW,
    begin(0x300n),
    { tag: "insert", relationId: 100, newTuple: ["1", "a"] },
    {
      tag: "insert",
      relationId: 101,
      newTuple: shadowRow(
        "1",
        '{"(\\"2024-02-01 10:00:00+00\\",)"}',
        '("2024-02-01 10:00:00+00",)',
      ),
    },
    commit(0x300n, 0x310n),
  ]);
  assert.equal(tx.origin, "postgres_1");
  assert.equal(tx.commitTimestamp.toISOString(), "2024-02-01T10:00:00.000Z");
  assert.deepEqual(tx.changes[0].kind !== "truncate" && tx.changes[0].tags, [
    "postgres_1@1706781600000",
  ]);
});

test("electric.* changes are removed except ddl_commands inserts; empty transactions stay", () => {
  const txs = run([
    DDL,
    MARKER,
    begin(0x400n),
    { tag: "insert", relationId: 103, newTuple: ["1", "7", "8", "CREATE TABLE a (id int)"] },
    { tag: "update", relationId: 103, newTuple: ["1", "7", "8", "x"] },
    commit(0x400n, 0x410n),
    begin(0x500n),
    { tag: "update", relationId: 104, newTuple: ["magic write", "{}"] },
    commit(0x500n, 0x510n),
  ]);
  assert.equal(txs.length, 2);
  assert.deepEqual(
    txs[0].changes.map((c) => c.kind !== "truncate" && [c.relation.table, c.kind]),
    [["ddl_commands", "insert"]],
  );
  assert.deepEqual(txs[1].changes, []);
  assert.equal(txs[1].lsn, 0x510n);
});

test("permission-rule changes stay whole (every kind); other electric tables still go", () => {
  const grant = ["select", '"public"."items"', "member", "*", "__global__", null, null];
  const assembler = new TransactionAssembler({ origin: "postgres_1" });
  assembler.push(GRANTS);
  assembler.push(ROLES);
  assert.equal(assembler.skip(105), undefined, "no grants column is skipped");
  assert.ok(assembler.skip(106)?.every((skipped) => skipped));
  const [tx] = run([
    GRANTS,
    ROLES,
    begin(0x480n),
    { tag: "insert", relationId: 105, newTuple: grant },
    { tag: "update", relationId: 105, oldKind: "O", oldTuple: grant, newTuple: grant },
    { tag: "delete", relationId: 105, oldKind: "O", oldTuple: grant },
    { tag: "insert", relationId: 106, newTuple: ["1", "admin", "u1"] },
    commit(0x480n, 0x490n),
  ]);
  const record = Object.fromEntries(GRANTS.columns.map((c, i) => [c.name, grant[i]]));
  assert.deepEqual(
    tx.changes.map((c) => c.kind !== "truncate" && [c.relation.table, c.kind]),
    [["grants", "insert"], ["grants", "update"], ["grants", "delete"]],
  );
  const [inserted, , deleted] = tx.changes;
  assert.ok(inserted.kind === "insert" && deleted.kind === "delete");
  assert.deepEqual(inserted.record, record);
  assert.deepEqual(deleted.oldRecord, record);
});

test("unchanged TOAST in a new tuple takes the old tuple's value", () => {
  const warnings: string[] = [];
  const [tx] = run([
    ITEMS,
    begin(0x600n),
    {
      tag: "update",
      relationId: 100,
      oldKind: "O",
      oldTuple: ["1", "big value"],
      newTuple: ["2", UNCHANGED_TOAST],
    },
    { tag: "update", relationId: 100, newTuple: ["3", UNCHANGED_TOAST] },
    commit(0x600n, 0x610n),
  ], warnings);
  const [first, second] = tx.changes;
  assert.ok(first.kind === "update" && second.kind === "update");
  assert.deepEqual(first.record, { id: "2", value: "big value" });
  assert.deepEqual(second.record, { id: "3" });
  assert.equal(warnings.length, 1);
});

test("fk_chain_touch messages become referenced records; other messages are ignored", () => {
  const content = JSON.stringify({
    schema: "public",
    table: "parents",
    tags: '{"(\\"2024-01-01 00:00:00+00\\",)"}',
    data: { id: "9", name: "p" },
    pk: ["9"],
  });
  const warnings: string[] = [];
  const [tx] = run([
    begin(0x700n),
    {
      tag: "message",
      flags: 1,
      lsn: 0x701n,
      prefix: FK_CHAIN_TOUCH_PREFIX,
      content: new TextEncoder().encode(content),
    },
    { tag: "message", flags: 1, lsn: 0x702n, prefix: "other", content: new Uint8Array() },
    commit(0x700n, 0x710n),
  ], warnings);
  assert.deepEqual(tx.referencedRecords, [
    {
      schema: "public",
      table: "parents",
      record: { id: "9", name: "p" },
      pk: ["9"],
      tags: ["postgres_1@1704067200000"],
    },
  ]);
  assert.equal(warnings.length, 1);
});

test("TRUNCATE of a user table is kept with a warning; of electric tables it is dropped", () => {
  const warnings: string[] = [];
  const [tx] = run([
    ITEMS,
    SHADOW,
    begin(0x800n),
    { tag: "truncate", options: 0, relationIds: [100, 101] },
    commit(0x800n, 0x810n),
  ], warnings);
  assert.equal(tx.changes.length, 1);
  const [change] = tx.changes;
  assert.ok(change.kind === "truncate");
  assert.deepEqual(change.relations.map((r) => r.table), ["items"]);
  assert.equal(warnings.length, 1);
});

test("protocol violations are error values", () => {
  const assembler = new TransactionAssembler({ origin: "postgres_1" });
  assert.equal(assembler.push(commit(1n, 2n)).kind, "error");
  assembler.push(begin(5n));
  assert.equal(assembler.inTransaction, true);
  const unknown = assembler.push({ tag: "insert", relationId: 999, newTuple: [] });
  assert.ok(unknown.kind === "error" && unknown.code === "UNKNOWN_RELATION");
  const mismatch = assembler.push(commit(6n, 7n));
  assert.ok(mismatch.kind === "error" && mismatch.code === "PROTOCOL_VIOLATION");
  assert.equal(assembler.inTransaction, false);
});
