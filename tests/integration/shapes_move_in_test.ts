/**
 * A row moving into a shape layer that has one-to-many children: the live filter sends the
 * row and asks for a move-in query; the query (on real electrified tables) fetches its
 * children with their own parents; the state then reports which of those rows are new.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import postgres from "postgres";
import {
  bootstrapElectricSchema,
  ensurePublication,
  SESSION_PARAMETERS,
} from "../../src/storage/mod.ts";
import { applyMigration, EMPTY_SCHEMA, type SchemaModel } from "../../src/schema/mod.ts";
import type { Change } from "../../src/replication/mod.ts";
import {
  fetchInitialData,
  fetchMoveIn,
  GraphState,
  groupDefinition,
  planSubscription,
  type SubscriptionPlan,
} from "../../src/shapes/mod.ts";
import { freshDatabase } from "../helpers/pg_cluster.ts";

type Db = Awaited<ReturnType<typeof freshDatabase>>;
let db: Db;
let sql: postgres.Sql;
let model: SchemaModel;

const DDL = [
  `CREATE TABLE users (id text PRIMARY KEY, name text)`,
  `CREATE TABLE projects (id text PRIMARY KEY, name text)`,
  `CREATE TABLE issues (id text PRIMARY KEY, project_id text REFERENCES projects (id),
     assignee_id text REFERENCES users (id), priority int4)`,
];

before(async () => {
  db = await freshDatabase();
  sql = postgres(db.url, { max: 2, onnotice: () => {}, connection: { ...SESSION_PARAMETERS } });
  await bootstrapElectricSchema(sql, { ddlGuard: true });
  await ensurePublication(sql);
  await sql.unsafe(DDL.join(";\n"));
  for (const t of ["users", "projects", "issues"]) {
    await sql.unsafe(`CALL electric.electrify('${t}')`);
  }
  await sql.unsafe(`
    INSERT INTO users VALUES ('u1', 'Ann'), ('u2', 'Bob');
    INSERT INTO projects VALUES ('p1', 'alpha'), ('p2', 'beta');
    INSERT INTO issues VALUES ('i1', 'p1', 'u1', 1), ('i2', 'p2', 'u2', 2), ('i3', 'p2', 'u1', 0);`);
  const applied = await applyMigration(EMPTY_SCHEMA, "1", DDL, { tableOid: () => 0 });
  assert.ok(applied.ok);
  model = applied.ok ? applied.model : EMPTY_SCHEMA;
});

after(async () => {
  await sql.end();
  await db.drop();
});

function repeatableRead<T>(body: (tx: postgres.Sql) => Promise<T>): Promise<T> {
  return sql.begin(
    "isolation level repeatable read read only",
    (tx) => body(tx as unknown as postgres.Sql),
  ) as Promise<T>;
}

test("move-in: the parent is sent live, its children come from a move-in query", async () => {
  const planned = await planSubscription(
    {
      subscriptionId: crypto.randomUUID(),
      shapeRequests: [{
        requestId: "r1",
        selectCount: 1,
        select: {
          tablename: "projects",
          where: "this.name LIKE 'a%'",
          include: [{
            foreignKey: ["project_id"],
            select: { tablename: "issues", where: "this.priority > 0", include: [] },
          }],
        },
      }],
    },
    model,
    { activeSubscriptionIds: new Set() },
  );
  assert.ok(planned.ok);
  const plan = (planned as { plan: SubscriptionPlan }).plan;
  const data = await repeatableRead((tx) => fetchInitialData(tx, plan, { userId: "x" }));
  assert.deepEqual(data.get("r1")!.map((r) => r.record.id), ["p1", "u1", "i1"]);
  const state = new GraphState(groupDefinition(plan.requests.map((r) => r.root), "x"));
  state.load([...data.values()].flat());
  assert.equal(state.size, 3);

  const [old] = await sql`SELECT id, name FROM projects WHERE id = 'p2'`;
  await sql`UPDATE projects SET name = 'another' WHERE id = 'p2'`;
  const [row] = await sql`SELECT id, name FROM projects WHERE id = 'p2'`;
  const change: Change = {
    kind: "update",
    relation: { schema: "public", table: "projects", oid: 0, columns: [] },
    oldRecord: { ...old },
    record: { ...row },
    tags: ["postgres_1@1"],
  };
  const out = state.apply({ changes: [change], referencedRecords: [] });
  assert.deepEqual(out.changes.map((c) => `${c.kind} ${c.record.id}`), ["insert p2"]);
  assert.equal(out.moveIns.length, 1);

  const fetched = await repeatableRead((tx) => fetchMoveIn(tx, out.moveIns[0], { userId: "x" }));
  // i3 fails the child layer's where clause; u2 comes as i2's automatically followed parent.
  assert.deepEqual(fetched.map((r) => `${r.table}:${r.record.id}`), ["users:u2", "issues:i2"]);
  assert.match(fetched[1].tags[0], /^postgres_1@\d+$/);
  const toSend = state.applyMoveIn(out.moveIns[0], fetched).fresh;
  assert.deepEqual(toSend.map((r) => `${r.table}:${r.record.id}`), ["users:u2", "issues:i2"]);
  assert.ok(state.has(state.keyOf("public", "issues", { id: "i2" })!));
  assert.deepEqual(state.applyMoveIn(out.moveIns[0], fetched).fresh, []);
});
