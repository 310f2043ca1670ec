/**
 * `electric.fk_chain_touch` logical messages (postgres-side.md §9.4): after insert and update
 * statements, the rows referenced through foreign keys are announced once per transaction,
 * recursively, unless the transaction wrote them itself. Read back through a test_decoding slot.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import postgres from "postgres";
import { bootstrapElectricSchema } from "../../src/storage/mod.ts";
import { SHADOW_ROUTINES_SQL } from "../../src/storage/shadow/mod.ts";
import { freshDatabase } from "../helpers/pg_cluster.ts";

interface Touch {
  schema: string;
  table: string;
  tags: string;
  data: Record<string, string | null>;
  pk: string[];
}

const EPOCH_TAGS = '{"(\\"1970-01-01 00:00:00+00\\",)"}';

/** orgs <- projects <- issues, plus "Notes" (mixed case) referencing issues with a composite key. */
const SCHEMA = `
  CREATE TABLE orgs (id int4 PRIMARY KEY, name text);
  CREATE TABLE projects (id int4 PRIMARY KEY, org_id int4 REFERENCES orgs (id), name text);
  CREATE TABLE issues (id int4, project_id int4 REFERENCES projects (id), title text, PRIMARY KEY (id));
  INSERT INTO orgs VALUES (1, 'old org');
  CALL electric.install_shadow_objects('public', 'orgs');
  CALL electric.install_shadow_objects('public', 'projects');
  CALL electric.install_shadow_objects('public', 'issues');
  CREATE TABLE "Pairs" ("A" int4, "b" text, "userId" text, PRIMARY KEY ("b", "A"));
  CREATE TABLE "Notes" (id int4 PRIMARY KEY, pair_a int4, pair_b text, body text,
                        FOREIGN KEY (pair_a, pair_b) REFERENCES "Pairs" ("A", "b"));
  CALL electric.install_shadow_objects('public', 'Pairs');
  CALL electric.install_shadow_objects('public', 'Notes');`;

async function withDatabase(
  body: (sql: postgres.Sql, touches: () => Promise<Touch[][]>) => Promise<void>,
) {
  const db = await freshDatabase();
  // The test cluster commits asynchronously, and logical decoding only reads flushed WAL.
  const sql = postgres(db.url, {
    onnotice: () => {},
    max: 2,
    connection: { synchronous_commit: "on" },
  });
  try {
    await bootstrapElectricSchema(sql);
    await sql.unsafe(SHADOW_ROUTINES_SQL);
    await sql.unsafe(SCHEMA);
    await sql`SELECT pg_create_logical_replication_slot('shadow_touch', 'test_decoding')`;
    // Consumes the slot: the fk_chain_touch messages of each transaction since the last call.
    const touches = async () => {
      const rows = await sql<{ data: string }[]>`
        SELECT data FROM pg_logical_slot_get_changes('shadow_touch', NULL, NULL)`;
      const transactions: Touch[][] = [];
      for (const { data } of rows) {
        if (data.startsWith("BEGIN")) transactions.push([]);
        const message = data.match(
          /^message: .*prefix: electric\.fk_chain_touch, sz: \d+ content:(.*)$/s,
        );
        if (message) {
          assert.match(data, /transactional: 1/);
          transactions.at(-1)!.push(JSON.parse(message[1]));
        }
      }
      return transactions;
    };
    await body(sql, touches);
  } finally {
    await sql.end({ timeout: 1 });
    await db.drop();
  }
}

test("inserting a child announces its parent and, recursively, the parent's parent", async () => {
  await withDatabase(async (sql, touches) => {
    await sql`INSERT INTO projects VALUES (10, 1, 'project')`;
    const [first] = await touches();
    assert.deepEqual(first, [
      {
        schema: "public",
        table: "orgs",
        tags: EPOCH_TAGS,
        data: { id: "1", name: "old org" },
        pk: ["1"],
      },
    ], "a row without a shadow row carries the epoch tag");

    await sql`INSERT INTO issues VALUES (100, 10, 'bug')`;
    const [second] = await touches();
    const [{ tags }] = await sql`SELECT _tags::text AS tags FROM electric.shadow__public__projects`;
    assert.deepEqual(second, [
      {
        schema: "public",
        table: "projects",
        tags,
        data: { id: "10", org_id: "1", name: "project" },
        pk: ["10"],
      },
      {
        schema: "public",
        table: "orgs",
        tags: EPOCH_TAGS,
        data: { id: "1", name: "old org" },
        pk: ["1"],
      },
    ]);
  });
});

test("each referenced row is announced once per transaction", async () => {
  await withDatabase(async (sql, touches) => {
    await sql`INSERT INTO projects VALUES (10, 1, 'p10'), (11, 1, 'p11')`;
    await touches();
    await sql.begin(async (tx) => {
      await tx`INSERT INTO issues VALUES (100, 10, 'a'), (101, 10, 'b'), (102, 11, 'c')`;
      await tx`INSERT INTO issues VALUES (103, 10, 'd')`;
      await tx`UPDATE issues SET title = 'e' WHERE id = 100`;
    });
    const [txn] = await touches();
    const announced = txn.map((t) => `${t.table}:${t.pk.join(",")}`).sort();
    assert.deepEqual(announced, ["orgs:1", "projects:10", "projects:11"]);
  });
});

test("rows the transaction wrote itself are not announced", async () => {
  await withDatabase(async (sql, touches) => {
    await sql.begin(async (tx) => {
      await tx`INSERT INTO projects VALUES (10, 1, 'new')`;
      await tx`INSERT INTO issues VALUES (100, 10, 'bug')`;
    });
    const [txn] = await touches();
    assert.deepEqual(txn.map((t) => t.table), ["orgs"], "only the untouched grandparent");

    await sql.begin(async (tx) => {
      await tx`UPDATE orgs SET name = 'renamed'`;
      await tx`UPDATE projects SET name = 'renamed'`;
    });
    assert.deepEqual(await touches(), [[]], "updated parents count as written");
  });
});

test("an update statement announces the rows it now references; NULL keys are skipped", async () => {
  await withDatabase(async (sql, touches) => {
    await sql`INSERT INTO orgs VALUES (2, 'other')`;
    await sql`INSERT INTO projects VALUES (10, NULL, 'orphan')`;
    assert.deepEqual(await touches(), [[], []]);
    await sql`UPDATE projects SET org_id = 2`;
    const [txn] = await touches();
    const [{ tags }] =
      await sql`SELECT _tags::text AS tags FROM electric.shadow__public__orgs WHERE id = 2`;
    assert.deepEqual(txn, [
      { schema: "public", table: "orgs", tags, data: { id: "2", name: "other" }, pk: ["2"] },
    ]);
  });
});

test("composite and mixed-case keys are passed in the referenced key's order", async () => {
  await withDatabase(async (sql, touches) => {
    await sql`INSERT INTO "Pairs" VALUES (1, 'x', 'u1')`;
    await touches();
    await sql`INSERT INTO "Notes" VALUES (1, 1, 'x', 'hello')`;
    const [txn] = await touches();
    assert.equal(txn.length, 1);
    assert.deepEqual({ ...txn[0], tags: undefined }, {
      schema: "public",
      table: "Pairs",
      tags: undefined,
      data: { A: "1", b: "x", userId: "u1" },
      pk: ["x", "1"],
    });
  });
});

test("client writes applied in replica mode announce their parents too", async () => {
  await withDatabase(async (sql, touches) => {
    await sql`INSERT INTO projects VALUES (10, 1, 'project')`;
    await touches();
    await sql.begin(async (tx) => {
      await tx`SET LOCAL electric.session_replication_role = 'replica'`;
      await tx`INSERT INTO issues VALUES (100, 10, 'from client')`;
      await tx`INSERT INTO electric.shadow__public__issues (id, _tag, _is_a_delete_operation, _observed_tags, _modified_columns_bit_mask)
               VALUES (100, '("2024-01-01T00:00:00.000Z","client")', false, '{}', '{t,t}')`;
    });
    assert.equal((await sql`SELECT * FROM issues`).length, 1);
    const [txn] = await touches();
    assert.deepEqual(txn.map((t) => t.table), ["projects", "orgs"]);
  });
});

test("a table electrified before its first child still counts its own writes as written", async () => {
  await withDatabase(async (sql, touches) => {
    await sql`CREATE TABLE teams (id int4 PRIMARY KEY, name text)`;
    await sql`CALL electric.install_shadow_objects('public', 'teams')`;
    await sql`CREATE TABLE members (id int4 PRIMARY KEY, team_id int4 REFERENCES teams (id))`;
    await sql`CALL electric.install_shadow_objects('public', 'members')`;
    await touches();
    await sql.begin(async (tx) => {
      await tx`INSERT INTO teams VALUES (1, 'new')`;
      await tx`INSERT INTO members VALUES (10, 1)`;
    });
    assert.deepEqual(await touches(), [[]], "the team was written by the transaction");
    await sql`INSERT INTO members VALUES (11, 1)`;
    const [txn] = await touches();
    assert.deepEqual(txn.map((t) => `${t.table}:${t.pk.join(",")}`), ["teams:1"]);
  });
});
