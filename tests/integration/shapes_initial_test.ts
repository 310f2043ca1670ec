/**
 * Initial shape data from real electrified tables: columns as text, tags from the shadow
 * table (epoch tag without one), where clauses, include trees in both directions, parents
 * followed automatically, and the `electric_user_id` ownership filter.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import postgres from "postgres";
import {
  bootstrapElectricSchema,
  ensurePublication,
  SESSION_PARAMETERS,
} from "../../src/storage/mod.ts";
import { applyMigration, EMPTY_SCHEMA, type SchemaModel } from "../../src/schema/mod.ts";
import {
  fetchInitialData,
  planSubscription,
  type SelectInput,
  type ShapeRow,
  type SubscriptionPlan,
} from "../../src/shapes/mod.ts";
import { freshDatabase } from "../helpers/pg_cluster.ts";

type Db = Awaited<ReturnType<typeof freshDatabase>>;
let db: Db;
let sql: postgres.Sql;
let model: SchemaModel;

const DDL = [
  `CREATE TABLE users (id text PRIMARY KEY, name text)`,
  `CREATE TABLE projects (id int4 PRIMARY KEY, name text, owner_id text REFERENCES users (id),
     electric_user_id text)`,
  `CREATE TABLE issues (id int4 PRIMARY KEY, project_id int4 REFERENCES projects (id),
     title text, priority int4)`,
  `CREATE TABLE comments (id uuid PRIMARY KEY, issue_id int4 REFERENCES issues (id),
     body text, data bytea, at timestamptz)`,
];

before(async () => {
  db = await freshDatabase();
  sql = postgres(db.url, { max: 2, onnotice: () => {}, connection: { ...SESSION_PARAMETERS } });
  await bootstrapElectricSchema(sql, { ddlGuard: true });
  await ensurePublication(sql);
  await sql.unsafe(DDL.join(";\n"));
  // Written before electrification: no shadow rows, so the epoch tag.
  await sql.unsafe(`
    INSERT INTO users VALUES ('u1', 'Ann'), ('u2', 'Bob'), ('u3', 'Unused');
    INSERT INTO projects VALUES (1, 'mine', 'u1', 'alice'), (2, 'theirs', 'u2', 'bob'),
                                (3, 'nobody''s', 'u1', NULL);`);
  for (const t of ["users", "projects", "issues", "comments"]) {
    await sql.unsafe(`CALL electric.electrify('${t}')`);
  }
  // Written after: shadow rows with a Postgres tag.
  await sql.unsafe(`
    INSERT INTO issues VALUES (10, 1, 'first', 1), (11, 1, 'second', 3), (20, 2, 'other', 5),
                              (30, 3, 'orphan-ish', 2);
    INSERT INTO comments VALUES
      ('00000000-0000-0000-0000-000000000001', 11, 'hi', '\\x00ff', '2024-01-01 10:00:00+02'),
      ('00000000-0000-0000-0000-000000000002', 20, 'yo', NULL, NULL);`);
  const applied = await applyMigration(EMPTY_SCHEMA, "1", DDL, { tableOid: () => 0 });
  assert.ok(applied.ok);
  model = applied.ok ? applied.model : EMPTY_SCHEMA;
});

after(async () => {
  await sql.end();
  await db.drop();
});

async function plan(select: SelectInput): Promise<SubscriptionPlan> {
  const result = await planSubscription(
    {
      subscriptionId: crypto.randomUUID(),
      shapeRequests: [{ requestId: "r1", select, selectCount: 1 }],
    },
    model,
    { activeSubscriptionIds: new Set() },
  );
  assert.ok(result.ok, JSON.stringify(result));
  return (result as { plan: SubscriptionPlan }).plan;
}

async function fetch(select: SelectInput, userId = "alice"): Promise<ShapeRow[]> {
  const p = await plan(select);
  const data = await sql.begin(
    "isolation level repeatable read read only",
    (tx) => fetchInitialData(tx as unknown as postgres.Sql, p, { userId }),
  );
  return data.get("r1")!;
}

function ids(rows: ShapeRow[]): string[] {
  return rows.map((r) => `${r.table}:${r.record.id}`);
}

describe("initial data", () => {
  test("a root layer with a where clause, its parents followed automatically", async () => {
    const rows = await fetch({ tablename: "issues", where: "this.priority >= 2", include: [] });
    // issues 11 (project 1, owned by alice), 20 (project 2, owned by bob), 30 (project 3, no
    // owner): the initial query only returns projects owned by the user; users follow the
    // projects that were returned.
    assert.deepEqual(ids(rows), ["users:u1", "projects:1", "issues:11", "issues:20", "issues:30"]);
    const issue = rows.find((r) => r.table === "issues")!;
    assert.deepEqual(issue.record, { id: "11", project_id: "1", title: "second", priority: "3" });
    assert.equal(issue.tags.length, 1);
    assert.match(issue.tags[0], /^postgres_1@\d{13}$/);
    const user = rows.find((r) => r.table === "users")!;
    assert.deepEqual(user.tags, ["postgres_1@0"]);
    assert.equal(user.schema, "public");
  });

  test("one-to-many includes fetch children of the fetched rows, recursively", async () => {
    const rows = await fetch({
      tablename: "projects",
      where: "",
      include: [{
        foreignKey: ["project_id"],
        select: {
          tablename: "issues",
          where: "this.priority > 1",
          include: [{
            foreignKey: ["issue_id"],
            select: { tablename: "comments", where: "", include: [] },
          }],
        },
      }],
    });
    assert.deepEqual(ids(rows), [
      "users:u1",
      "projects:1",
      "issues:11",
      "comments:00000000-0000-0000-0000-000000000001",
    ]);
    const comment = rows.at(-1)!;
    assert.equal(comment.record.data, "\\x00ff");
    assert.equal(comment.record.at, "2024-01-01 08:00:00+00");
    assert.equal(comment.record.body, "hi");
  });

  test("an explicit many-to-one include is not duplicated by the automatic one", async () => {
    const p = await plan({
      tablename: "issues",
      where: "this.id = 10",
      include: [{
        foreignKey: ["project_id"],
        select: { tablename: "projects", where: "this.name <> 'x'", include: [] },
      }],
    });
    const root = p.requests[0].root;
    assert.equal(root.children.length, 1);
    assert.equal(root.children[0].relation?.kind, "many_to_one");
    assert.equal(root.children[0].automatic, false);
    assert.equal(root.children[0].children[0].table.name, "users");
    assert.equal(root.children[0].children[0].automatic, true);
  });

  test("ownership: only rows whose electric_user_id equals the user", async () => {
    assert.deepEqual(ids(await fetch({ tablename: "projects", where: "", include: [] }, "bob")), [
      "users:u2",
      "projects:2",
    ]);
    assert.deepEqual(ids(await fetch({ tablename: "projects", where: "", include: [] }, "")), []);
  });

  test("tables without the owner column are visible to everyone", async () => {
    const rows = await fetch(
      { tablename: "users", where: "this.name LIKE 'A%'", include: [] },
      "x",
    );
    assert.deepEqual(ids(rows), ["users:u1"]);
  });

  test("multiple requests are answered separately", async () => {
    const result = await planSubscription(
      {
        subscriptionId: crypto.randomUUID(),
        shapeRequests: [
          {
            requestId: "a",
            select: { tablename: "users", where: "this.id = 'u2'", include: [] },
            selectCount: 1,
          },
          {
            requestId: "b",
            select: { tablename: "comments", where: "", include: [] },
            selectCount: 1,
          },
        ],
      },
      model,
      { activeSubscriptionIds: new Set() },
    );
    assert.ok(result.ok);
    if (!result.ok) return;
    const data = await fetchInitialData(sql, result.plan, { userId: "alice" });
    assert.deepEqual(ids(data.get("a")!), ["users:u2"]);
    // Comment 2's issue 20 belongs to bob's project: the project is filtered, so its user is
    // not reached either.
    assert.deepEqual(ids(data.get("b")!), [
      "users:u1",
      "projects:1",
      "issues:11",
      "issues:20",
      "comments:00000000-0000-0000-0000-000000000001",
      "comments:00000000-0000-0000-0000-000000000002",
    ]);
  });
});
