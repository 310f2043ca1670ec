import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Limiter } from "../lifecycle/mod.ts";
import {
  type Change,
  InMemoryTransactionLog,
  type ReferencedRecord,
  type Transaction,
} from "../replication/mod.ts";
import { applyMigration, EMPTY_SCHEMA, type SchemaModel } from "../schema/mod.ts";
import {
  groupDefinition,
  type MoveInRequest,
  planSubscription,
  type SelectInput,
  type ShapeRow,
} from "../shapes/mod.ts";
import { createLogger } from "../telemetry/mod.ts";
import { GraphGroup } from "./graph_group.ts";
import { InMemoryMembershipStore } from "./membership_store.ts";
import type { ConsistentRead, SnapshotInfo } from "./snapshot.ts";
import { StatelessGroup } from "./stateless_group.ts";

type Row = Record<string, string | null>;

const DDL = [
  "CREATE TABLE users (id text PRIMARY KEY, name text)",
  "CREATE TABLE projects (id text PRIMARY KEY, name text, owner_id text REFERENCES users (id))",
  "CREATE TABLE issues (id text PRIMARY KEY, project_id text REFERENCES projects (id), priority int4)",
];

let cached: SchemaModel | undefined;
async function model(): Promise<SchemaModel> {
  if (cached) return cached;
  const applied = await applyMigration(EMPTY_SCHEMA, "1", DDL, { tableOid: () => 0 });
  assert.ok(applied.ok);
  cached = applied.ok ? applied.model : EMPTY_SCHEMA;
  return cached;
}

async function definition(select: SelectInput) {
  const planned = await planSubscription(
    {
      subscriptionId: "00000000-0000-0000-0000-000000000001",
      shapeRequests: [{ requestId: "r", select, selectCount: 1 }],
    },
    await model(),
    { activeSubscriptionIds: new Set() },
  );
  assert.ok(planned.ok);
  return groupDefinition(planned.ok ? planned.plan.requests.map((r) => r.root) : [], "me");
}

const relation = (table: string) => ({ schema: "public", table, oid: 0, columns: [] });
const insert = (table: string, record: Row): Change => ({
  kind: "insert",
  relation: relation(table),
  record,
  tags: ["postgres_1@5"],
});
const update = (table: string, oldRecord: Row, record: Row): Change => ({
  kind: "update",
  relation: relation(table),
  record,
  oldRecord,
  tags: ["postgres_1@6"],
});
const ref = (table: string, record: Row): ReferencedRecord => ({
  schema: "public",
  table,
  record,
  pk: [record.id!],
  tags: ["postgres_1@1"],
});
const row = (table: string, record: Row): ShapeRow => ({
  schema: "public",
  table,
  record,
  tags: ["postgres_1@0"],
});

function tx(lsn: number, changes: Change[], refs: ReferencedRecord[] = []): Transaction {
  return {
    xid: lsn,
    lsn: BigInt(lsn),
    commitTimestamp: new Date(0),
    origin: "postgres_1",
    changes,
    referencedRecords: refs,
    byteSize: 100,
  };
}

/** A read whose snapshot sees every xid below `xmax` and whose data is given by hand. */
function fakeRead<T>(base: number, xmax: number): ConsistentRead<T> & { give(data: T): void } {
  let give!: (data: T) => void;
  const result = new Promise<T>((resolve) => give = resolve);
  const info: SnapshotInfo = { xmin: xmax, xmax, xip: new Set() };
  return {
    base: BigInt(base),
    info: Promise.resolve(info),
    result,
    isInsertionPoint: (t) => t.lsn > BigInt(base) && t.xid >= xmax,
    give,
  };
}

const logger = createLogger({ level: "error" });

async function after(log: InMemoryTransactionLog, lsn: bigint): Promise<Transaction[]> {
  const read = await log.readAfter(lsn);
  assert.equal(read.kind, "ok");
  return read.kind === "ok" ? read.transactions : [];
}

function setup(reads: Map<string, ConsistentRead<ShapeRow[]>> = new Map()) {
  const log = new InMemoryTransactionLog({ maxBytes: 1_000_000 });
  log.markStart(0n);
  const store = new InMemoryMembershipStore();
  const deps = {
    log,
    pool: () => undefined,
    store,
    moveInReads: new Limiter(1),
    logger,
    readMoveIn: (trigger: bigint, request: MoveInRequest) => {
      const read = reads.get(`${trigger}:${request.layer.table.name}`);
      if (!read) throw new Error(`no move-in read prepared for ${trigger}`);
      return read;
    },
  };
  return { log, store, deps };
}

const user1 = { id: "u1", name: "Ann" };
const projectA = { id: "p1", name: "alpha", owner_id: "u1" };

describe("graph group", () => {
  test("skips what its start read reflects, then applies every transaction once", async () => {
    const { log, store, deps } = setup();
    const def = await definition({ tablename: "issues", where: "this.priority > 0", include: [] });
    const start = fakeRead<ShapeRow[]>(10, 30);
    log.append(tx(10, []));
    const group = new GraphGroup(def, deps, start);
    const client = {};
    group.attach(client, 10n);
    const i1 = { id: "i1", project_id: "p1", priority: "1" };
    // Visible to the start read: already in its rows.
    log.append(tx(20, [insert("issues", i1)], [ref("projects", projectA), ref("users", user1)]));
    const i2 = { id: "i2", project_id: "p1", priority: "2" };
    log.append(tx(30, [insert("issues", i2)], [ref("projects", projectA), ref("users", user1)]));
    start.give([row("users", user1), row("projects", projectA), row("issues", i1)]);
    const started = await group.started();
    assert.equal(started.keys.size, 3);
    assert.deepEqual((await group.step((await after(log, 10n))[0])).changes, []);
    const step = await group.step((await after(log, 20n))[0]);
    assert.deepEqual(step.changes.map((c) => `${c.kind} ${c.table}:${c.record.id}`), [
      "insert issues:i2",
    ]);
    assert.equal(group.size, 4);
    // Write-ahead: what clients were handed is stored.
    const rows = store.groups.get(def.key)!.rows;
    assert.deepEqual(rows.map((r) => [r.key.slice(7), r.removed]).sort(), [
      ['issues["i1"]', null],
      ['issues["i2"]', null],
      ['projects["p1"]', null],
      ['users["u1"]', null],
    ]);
    group.stop();
  });

  test("captures hand out membership at their insertion point; clients share steps", async () => {
    const { log, deps } = setup();
    const def = await definition({ tablename: "issues", where: "this.priority > 0", include: [] });
    const start = fakeRead<ShapeRow[]>(0, 1);
    const group = new GraphGroup(def, deps, start);
    start.give([]);
    const a = {};
    group.attach(a, 0n);
    const capture = group.capture(fakeRead<unknown>(1, 3));
    const i1 = { id: "i1", project_id: "p1", priority: "1" };
    const i2 = { id: "i2", project_id: "p1", priority: "1" };
    log.append(tx(1, [insert("issues", i1)], [ref("projects", projectA), ref("users", user1)]));
    log.append(tx(3, [insert("issues", i2)], [ref("projects", projectA), ref("users", user1)]));
    const { keys, durable } = await capture;
    await durable;
    // Before transaction 3: i1 and its parents.
    assert.equal(keys.size, 3);
    const [first, second] = await after(log, 0n);
    assert.equal(await group.step(first), await group.step(first));
    assert.equal((await group.step(second)).changes.length, 1);
    group.stop();
  });

  test("move-in data is applied at its insertion point and handed out before that transaction", async () => {
    const reads = new Map<string, ConsistentRead<ShapeRow[]>>();
    const { log, store, deps } = setup(reads);
    const def = await definition({
      tablename: "projects",
      where: "this.name LIKE 'a%'",
      include: [{
        foreignKey: ["project_id"],
        select: { tablename: "issues", where: "", include: [] },
      }],
    });
    const start = fakeRead<ShapeRow[]>(0, 1);
    const group = new GraphGroup(def, deps, start);
    start.give([]);
    group.attach({}, 0n);
    // Transaction 2 moves p9 in: its children are read after it, seen before transaction 3.
    const moveIn = fakeRead<ShapeRow[]>(2, 3);
    reads.set("2:projects", moveIn);
    log.append(tx(1, [insert("projects", { id: "p9", name: "zed", owner_id: "u1" })]));
    log.append(
      tx(2, [update("projects", { id: "p9", name: "zed", owner_id: "u1" }, {
        id: "p9",
        name: "apex",
        owner_id: "u1",
      })], [ref("users", user1)]),
    );
    const [, second] = await after(log, 0n);
    const step2 = await group.step(second);
    assert.equal(step2.movesIn, true);
    assert.deepEqual(step2.changes.map((c) => `${c.kind} ${c.table}:${c.record.id}`), [
      "insert users:u1",
      "insert projects:p9",
    ]);
    const i7 = { id: "i7", project_id: "p9", priority: "1" };
    moveIn.give([row("issues", i7)]);
    log.append(tx(3, []));
    const third = (await after(log, 2n))[0];
    const step3 = await group.step(third);
    assert.deepEqual(step3.additional.map((b) => [b.trigger, b.rows.map((r) => r.record.id)]), [
      [2n, ["i7"]],
    ]);
    assert.equal(group.size, 3);
    assert.ok(store.groups.get(def.key)!.rows.some((r) => r.key.endsWith('["i7"]')));
    group.stop();
  });

  test("steps are dropped once every client passed them; a dropped client cannot read them", async () => {
    const { log, deps } = setup();
    const def = await definition({ tablename: "issues", where: "", include: [] });
    const start = fakeRead<ShapeRow[]>(0, 1);
    const group = new GraphGroup(def, deps, start);
    start.give([]);
    const a = {};
    group.attach(a, 0n);
    const i1 = { id: "i1", project_id: null, priority: "1" };
    log.append(tx(1, [insert("issues", i1)]));
    const [first] = await after(log, 0n);
    assert.equal((await group.step(first)).changes.length, 1);
    group.advance(a, 1n);
    await assert.rejects(group.step(first), /fell behind/);
    let idle = false;
    group.onIdle(() => idle = true);
    group.detach(a);
    assert.equal(idle, true);
    group.stop();
  });
});

describe("stateless group", () => {
  test("filters a transaction once for every client", async () => {
    const def = await definition({ tablename: "users", where: "this.name = 'Ann'", include: [] });
    assert.equal(def.stateless, true);
    const group = new StatelessGroup(def);
    const t = tx(1, [insert("users", user1), insert("users", { id: "u2", name: "Bob" })]);
    const step = group.step(t);
    assert.equal(group.step(t), step);
    assert.deepEqual(step.changes.map((c) => c.record.id), ["u1"]);
    assert.equal(group.step(tx(2, [insert("users", { id: "u3", name: "Cy" })])).changes.length, 0);
  });
});
