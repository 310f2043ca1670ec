import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { applyMigration, EMPTY_SCHEMA, type SchemaModel } from "../schema/mod.ts";
import type { Change, ReferencedRecord } from "../replication/mod.ts";
import { planSubscription } from "./plan.ts";
import { GraphState } from "./graph_state.ts";
import { groupDefinition } from "./group.ts";
import { StatelessFilter } from "./stateless.ts";
import type { OutChange, SelectInput, ShapeRow, SubscriptionPlan } from "./types.ts";

type Row = Record<string, string | null>;

const DDL = [
  "CREATE TABLE users (id text PRIMARY KEY, name text)",
  "CREATE TABLE projects (id text PRIMARY KEY, name text, owner_id text REFERENCES users (id))",
  "CREATE TABLE issues (id text PRIMARY KEY, project_id text REFERENCES projects (id), priority int4)",
  "CREATE TABLE notes (id text PRIMARY KEY, body text, electric_user_id text)",
];

let cachedModel: SchemaModel | undefined;
async function model(): Promise<SchemaModel> {
  if (cachedModel) return cachedModel;
  const applied = await applyMigration(EMPTY_SCHEMA, "1", DDL, { tableOid: () => 0 });
  assert.ok(applied.ok);
  cachedModel = applied.ok ? applied.model : EMPTY_SCHEMA;
  return cachedModel;
}

let counter = 0;
async function plan(select: SelectInput): Promise<SubscriptionPlan> {
  counter++;
  const result = await planSubscription(
    {
      subscriptionId: `00000000-0000-0000-0000-${String(counter).padStart(12, "0")}`,
      shapeRequests: [{ requestId: "r", select, selectCount: 1 }],
    },
    await model(),
    { activeSubscriptionIds: new Set() },
  );
  assert.ok(result.ok, JSON.stringify(result));
  return (result as { plan: SubscriptionPlan }).plan;
}

function relation(table: string) {
  return { schema: "public", table, oid: 0, columns: [] };
}
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
const del = (table: string, oldRecord: Row): Change => ({
  kind: "delete",
  relation: relation(table),
  oldRecord,
  tags: [],
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

function summary(changes: OutChange[]): string[] {
  return changes.map((c) => `${c.kind} ${c.table}:${c.record.id}`);
}

function run(state: GraphState, changes: Change[], refs: ReferencedRecord[] = []) {
  return state.apply({ changes, referencedRecords: refs });
}

/** The group state of one subscription plan, loaded with its initial data. */
function stateOf(p: SubscriptionPlan, rows: ShapeRow[], userId = "me"): GraphState {
  const state = new GraphState(groupDefinition(p.requests.map((r) => r.root), userId));
  state.load(rows);
  return state;
}

const user1 = { id: "u1", name: "Ann" };
const projectA = { id: "p1", name: "alpha", owner_id: "u1" };
const projectB = { id: "p2", name: "beta", owner_id: "u1" };

describe("a single-layer shape", () => {
  test("insert, update, move-in, move-out and delete", async () => {
    const p = await plan({ tablename: "issues", where: "this.priority > 1", include: [] });
    const issue1 = { id: "i1", project_id: null, priority: "3" };
    const state = stateOf(p, [row("issues", issue1)]);
    assert.equal(state.size, 1);

    let out = run(state, [
      insert("issues", { id: "i2", project_id: null, priority: "5" }),
      insert("issues", { id: "i3", project_id: null, priority: "0" }),
      update("issues", issue1, { ...issue1, priority: "4" }),
    ]);
    assert.deepEqual(summary(out.changes), ["insert issues:i2", "update issues:i1"]);
    assert.deepEqual(out.changes[1].oldRecord, issue1);
    assert.deepEqual(out.changes[0].tags, ["postgres_1@5"]);
    assert.deepEqual(out.moveIns, []);

    out = run(state, [
      update("issues", { id: "i3", project_id: null, priority: "0" }, {
        id: "i3",
        project_id: null,
        priority: "2",
      }),
      update("issues", { ...issue1, priority: "4" }, { ...issue1, priority: "0" }),
    ]);
    assert.deepEqual(summary(out.changes), ["insert issues:i3", "gone issues:i1"]);
    assert.deepEqual(out.changes[1].record, { id: "i1" });

    out = run(state, [
      del("issues", { id: "i2", project_id: null, priority: "5" }),
      del("issues", { id: "i1", project_id: null, priority: "0" }),
    ]);
    assert.deepEqual(summary(out.changes), ["delete issues:i2"]);
    assert.deepEqual(out.changes[0].tags, []);
    assert.equal(state.size, 1);
  });

  test("a row inserted and deleted in one transaction is not sent", async () => {
    const p = await plan({ tablename: "issues", where: "", include: [] });
    const state = stateOf(p, []);
    const i = { id: "i9", project_id: null, priority: "1" };
    const out = run(state, [insert("issues", i), del("issues", i)]);
    assert.deepEqual(out.changes, []);
  });

  test("ownership: own rows and rows without an owner pass, others are dropped", async () => {
    const p = await plan({ tablename: "notes", where: "", include: [] });
    const state = stateOf(p, []);
    let out = run(state, [
      insert("notes", { id: "n1", body: "a", electric_user_id: "me" }),
      insert("notes", { id: "n2", body: "b", electric_user_id: "you" }),
      insert("notes", { id: "n3", body: "c", electric_user_id: null }),
      insert("notes", { id: "n4", body: "d", electric_user_id: "" }),
    ]);
    assert.deepEqual(summary(out.changes), [
      "insert notes:n1",
      "insert notes:n3",
      "insert notes:n4",
    ]);
    out = run(state, [
      update("notes", { id: "n1", body: "a", electric_user_id: "me" }, {
        id: "n1",
        body: "a",
        electric_user_id: "you",
      }),
      del("notes", { id: "n2", body: "b", electric_user_id: "you" }),
    ]);
    assert.deepEqual(summary(out.changes), ["gone notes:n1"]);
  });
});

describe("include trees", () => {
  const tree = (): SelectInput => ({
    tablename: "projects",
    where: "this.name LIKE 'a%'",
    include: [{
      foreignKey: ["project_id"],
      select: { tablename: "issues", where: "", include: [] },
    }],
  });

  test("children follow their parent in the graph", async () => {
    const p = await plan(tree());
    const state = stateOf(p, [row("users", user1), row("projects", projectA)]);
    assert.equal(state.size, 2);
    const i1 = { id: "i1", project_id: "p1", priority: "1" };
    const i2 = { id: "i2", project_id: "p2", priority: "1" };
    let out = run(state, [insert("issues", i1), insert("issues", i2)]);
    assert.deepEqual(summary(out.changes), ["insert issues:i1"]);

    // A child inserted before its parent in the same transaction.
    const p3 = { id: "p3", name: "apex", owner_id: "u1" };
    const i3 = { id: "i3", project_id: "p3", priority: "1" };
    out = run(state, [insert("issues", i3), insert("projects", p3)], [ref("users", user1)]);
    assert.deepEqual(summary(out.changes), ["insert issues:i3", "insert projects:p3"]);
    assert.deepEqual(out.moveIns, []);

    // Moving a child to a parent the client does not have: gone.
    out = run(state, [update("issues", i1, { ...i1, project_id: "p2" })]);
    assert.deepEqual(summary(out.changes), ["gone issues:i1"]);

    // The parent leaves: it and everything only reachable through it is gone.
    out = run(state, [update("projects", p3, { ...p3, name: "zed" })]);
    assert.deepEqual(summary(out.changes), ["gone projects:p3", "gone issues:i3"]);

    // It comes back: an insert, and a move-in query for its children.
    out = run(state, [update("projects", { ...p3, name: "zed" }, p3)], [ref("users", user1)]);
    assert.deepEqual(summary(out.changes), ["insert projects:p3"]);
    assert.equal(out.moveIns.length, 1);
    const [moveIn] = out.moveIns;
    assert.equal(moveIn.layer.table.name, "projects");
    assert.deepEqual(moveIn.rows.map((r) => r.record.id), ["p3"]);
    const fetched = [row("issues", i3)];
    const first = state.applyMoveIn(moveIn, fetched);
    assert.deepEqual(first.fresh.map((r) => r.record.id), ["i3"]);
    assert.equal(first.added.length, 1);
    assert.deepEqual(state.applyMoveIn(moveIn, fetched).fresh, []);
    out = run(state, [update("issues", i3, { ...i3, priority: "2" })]);
    assert.deepEqual(summary(out.changes), ["update issues:i3"]);
  });

  test("many-to-one parents come from referenced records and leave with their last child", async () => {
    const p = await plan({ tablename: "issues", where: "this.priority > 0", include: [] });
    const state = stateOf(p, []);
    const i1 = { id: "i1", project_id: "p1", priority: "1" };
    const i2 = { id: "i2", project_id: "p1", priority: "1" };
    let out = run(state, [insert("issues", i1)], [ref("projects", projectA), ref("users", user1)]);
    assert.deepEqual(summary(out.changes), [
      "insert projects:p1",
      "insert users:u1",
      "insert issues:i1",
    ]);
    out = run(state, [insert("issues", i2)], [ref("projects", projectA), ref("users", user1)]);
    assert.deepEqual(summary(out.changes), ["insert issues:i2"]);
    out = run(state, [del("issues", i1)]);
    assert.deepEqual(summary(out.changes), ["delete issues:i1"]);
    out = run(state, [update("issues", i2, { ...i2, project_id: "p2" })], [
      ref("projects", projectB),
      ref("users", user1),
    ]);
    assert.deepEqual(summary(out.changes), [
      "insert projects:p2",
      "update issues:i2",
      "gone projects:p1",
    ]);
    // An update of a held parent is an update.
    out = run(state, [update("projects", projectB, { ...projectB, name: "b2" })]);
    assert.deepEqual(summary(out.changes), ["update projects:p2"]);
    out = run(state, [
      update("issues", { ...i2, project_id: "p2" }, { ...i2, priority: "0", project_id: "p2" }),
    ]);
    assert.deepEqual(summary(out.changes), ["gone issues:i2", "gone projects:p2", "gone users:u1"]);
    assert.equal(state.size, 0);
  });
});

describe("membership", () => {
  test("rounds report the keys that started and stopped being held", async () => {
    const p = await plan({
      tablename: "projects",
      where: "",
      include: [{
        foreignKey: ["project_id"],
        select: { tablename: "issues", where: "", include: [] },
      }],
    });
    const state = new GraphState(groupDefinition(p.requests.map((r) => r.root), "me"));
    const i1 = { id: "i1", project_id: "p1", priority: "1" };
    const loaded = state.load([row("users", user1), row("projects", projectA), row("issues", i1)]);
    assert.equal(loaded.added.length, 3);
    assert.equal(state.size, 3);
    assert.ok(state.has(state.keyOf("public", "issues", i1)!));
    const out = run(state, [del("projects", projectA)]);
    assert.deepEqual(summary(out.changes), [
      "delete projects:p1",
      "gone issues:i1",
      "gone users:u1",
    ]);
    assert.equal(out.removed.length, 3);
    assert.deepEqual(out.added, []);
    assert.equal(state.size, 0);
  });

  test("held rows keep only the columns membership reads", async () => {
    const p = await plan({ tablename: "issues", where: "this.priority > 0", include: [] });
    const state = stateOf(p, []);
    const i1 = { id: "i1", project_id: "p1", priority: "1" };
    run(state, [insert("issues", i1)], [ref("projects", projectA), ref("users", user1)]);
    // An update to a column nobody filters on still reaches the client whole.
    const out = run(state, [update("issues", i1, { ...i1, priority: "2" })]);
    assert.deepEqual(out.changes[0].record, { ...i1, priority: "2" });
    assert.deepEqual(out.changes[0].oldRecord, i1);
  });
});

describe("stateless filter", () => {
  test("agrees with the graph on single-layer shapes over random histories", async () => {
    const p = await plan({
      tablename: "notes",
      where: "this.body LIKE 'a%' OR this.body = 'zz'",
      include: [],
    });
    const definition = groupDefinition(p.requests.map((r) => r.root), "me");
    assert.equal(definition.stateless, true);
    const graph = new GraphState(definition);
    const filter = new StatelessFilter(definition);
    const bodies = ["a1", "b2", "zz", "a3", null];
    const owners = ["me", "you", null];
    const rows = new Map<string, Row>();
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let step = 0; step < 300; step++) {
      const changes: Change[] = [];
      for (let k = 0; k < 1 + random(3); k++) {
        const id = `n${random(6)}`;
        const old = rows.get(id);
        const next = {
          id,
          body: bodies[random(bodies.length)],
          electric_user_id: owners[random(3)],
        };
        if (!old) {
          changes.push(insert("notes", next));
          rows.set(id, next);
        } else if (random(4) === 0) {
          changes.push(del("notes", old));
          rows.delete(id);
        } else {
          changes.push(update("notes", old, next));
          rows.set(id, next);
        }
      }
      const fromGraph = run(graph, changes).changes;
      const fromFilter = filter.filter({ changes });
      assert.deepEqual(fromFilter, fromGraph, `step ${step}`);
    }
  });
});
