/**
 * Shadow machinery, Postgres side (postgres-side.md §3.4, §8.2): the objects installed per
 * table and the tags that writes made directly in Postgres receive at commit.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import postgres from "postgres";
import { bootstrapElectricSchema } from "../../src/storage/mod.ts";
import { SHADOW_ROUTINES_SQL } from "../../src/storage/shadow/mod.ts";
import { freshDatabase } from "../helpers/pg_cluster.ts";

/** A fresh database with the electric schema, the shadow routines and `ddl` applied. */
async function withDatabase(ddl: string, body: (sql: postgres.Sql) => Promise<void>) {
  const db = await freshDatabase();
  const sql = postgres(db.url, { onnotice: () => {}, max: 2 });
  try {
    await bootstrapElectricSchema(sql);
    await sql.unsafe(SHADOW_ROUTINES_SQL);
    await sql.unsafe(ddl);
    await body(sql);
  } finally {
    await sql.end({ timeout: 1 });
    await db.drop();
  }
}

const ITEMS = `
  CREATE TABLE items (id uuid PRIMARY KEY, content text, dropped int, n int4);
  ALTER TABLE items DROP COLUMN dropped;
  CALL electric.install_shadow_objects('public', 'items');`;

const ID = "00000000-0000-4000-8000-000000000001";

async function columns(sql: postgres.Sql, table: string) {
  const rows = await sql`
    SELECT attname, format_type(atttypid, atttypmod) AS type, attnotnull
      FROM pg_attribute WHERE attrelid = ${table}::regclass AND attnum > 0 AND NOT attisdropped
     ORDER BY attnum`;
  return rows.map((r) => `${r.attname} ${r.type}${r.attnotnull ? " not null" : ""}`);
}

/** The item's shadow row with tags as { ms (Unix milliseconds), source } objects. */
async function shadowOf(sql: postgres.Sql, id = ID) {
  const [row] = await sql.unsafe(
    `SELECT (SELECT json_agg(${tagJson("t")}) FROM unnest(_tags) t) AS tags,
            ${tagJson("_tag")} AS tag,
            ${tagJson("_tag_content")} AS content_tag,
            ${tagJson("_tag_n")} AS n_tag,
            _resolved, _is_a_delete_operation, _modified_columns_bit_mask
       FROM electric.shadow__public__items WHERE id = $1`,
    [id],
  );
  return row;
}

function tagJson(column: string): string {
  return `json_build_object('ms', (extract(epoch FROM (${column}).timestamp) * 1000)::int8, ` +
    `'source', (${column}).source_id)`;
}

test("install creates the shadow and tombstone tables of §3.4, skipping dropped columns", async () => {
  await withDatabase(ITEMS, async (sql) => {
    assert.deepEqual(await columns(sql, "electric.shadow__public__items"), [
      "_tags electric.tag[]",
      "_last_modified bigint",
      "_is_a_delete_operation boolean",
      "_tag electric.tag",
      "_observed_tags electric.tag[]",
      "_modified_columns_bit_mask boolean[]",
      "_resolved boolean",
      "_currently_reordering boolean",
      "__reordered_content text",
      "__reordered_n integer",
      "id uuid not null",
      "_tag_content electric.tag",
      "_tag_n electric.tag",
    ]);
    assert.deepEqual(await columns(sql, "electric.tombstone__public__items"), [
      "id uuid not null",
      "content text",
      "n integer",
    ]);
    const ident = await sql`
      SELECT relname, relreplident FROM pg_class
       WHERE relname IN ('shadow__public__items', 'tombstone__public__items') ORDER BY relname`;
    assert.deepEqual(ident.map((r) => [r.relname, r.relreplident]), [
      ["shadow__public__items", "f"],
      ["tombstone__public__items", "d"],
    ]);
    const pks = await sql`
      SELECT conrelid::regclass::text AS rel, pg_get_constraintdef(oid) AS def FROM pg_constraint
       WHERE contype = 'p' AND conrelid IN ('electric.shadow__public__items'::regclass,
                                            'electric.tombstone__public__items'::regclass)
       ORDER BY 1`;
    assert.deepEqual(pks.map((r) => r.def), ["PRIMARY KEY (id)", "PRIMARY KEY (id)"]);
  });
});

test("install creates the triggers of §3.4 with their timing, level and enable mode", async () => {
  await withDatabase(ITEMS, async (sql) => {
    const rows = await sql`
      SELECT tgrelid::regclass::text AS rel, tgname, tgenabled, tgdeferrable, tginitdeferred,
             tgconstraint <> 0 AS is_constraint, pg_get_triggerdef(oid) AS def
        FROM pg_trigger WHERE NOT tgisinternal
         AND tgrelid IN ('items'::regclass, 'electric.shadow__public__items'::regclass)
       ORDER BY 1, 2`;
    const summary = rows.map((r) => {
      const def = String(r.def);
      const timing = def.match(/ (BEFORE|AFTER) (.*?) ON /)!.slice(1).join(" ");
      const level = def.includes("FOR EACH ROW") ? "row" : "statement";
      const mode = r.tgenabled === "A" ? "ALWAYS" : r.tgenabled === "O" ? "ORIGIN" : r.tgenabled;
      return `${r.rel} ${r.tgname}: ${timing}, ${level}, ${mode}` +
        (r.is_constraint ? `, deferrable=${r.tgdeferrable} deferred=${r.tginitdeferred}` : "");
    });
    assert.deepEqual(summary, [
      "electric.shadow__public__items postgres_write__write_resolved_tags: AFTER UPDATE, row, ORIGIN, deferrable=true deferred=true",
      "electric.shadow__public__items satellite_write__resolve_observed_tags: BEFORE UPDATE, row, ALWAYS",
      "electric.shadow__public__items satellite_write__upsert_rows: BEFORE INSERT, row, ALWAYS",
      "items as_first__save_deleted_rows_to_tombstone_table: AFTER DELETE, row, ALWAYS",
      "items postgres_write__delete_generate_shadow_rows: BEFORE DELETE, row, ORIGIN",
      "items postgres_write__upsert_generate_shadow_rows: BEFORE INSERT OR UPDATE, row, ORIGIN",
      "items satellite_write__save_operation_for_reordering: BEFORE INSERT OR UPDATE, row, ALWAYS",
      "items send_self_and_references_on_insert: AFTER INSERT, statement, ALWAYS",
      "items send_self_and_references_on_update: AFTER UPDATE, statement, ALWAYS",
    ]);
    const transition = rows.filter((r) => String(r.def).includes("REFERENCING NEW TABLE"));
    assert.equal(transition.length, 2, "statement triggers see the new rows as a transition table");
    const functions = await sql`
      SELECT proname FROM pg_proc WHERE pronamespace = 'electric'::regnamespace
         AND proname LIKE '%\\_\\_\\_public\\_\\_items' ORDER BY proname`;
    assert.deepEqual(functions.map((f) => f.proname), [
      "create_shadow_row_from_upsert___public__items",
      "generate_tombstone_entry___public__items",
      "perform_reordered_op___public__items",
      "reorder_main_op___public__items",
      "resolve_observed_tags___public__items",
      "send_self_and_references___public__items",
      "send_self_trigger___public__items",
      "shadow_insert_to_upsert___public__items",
      "update_shadow_row_from_delete___public__items",
      "write_correct_max_tag___public__items",
    ]);
  });
});

test("routines and installation can be run again", async () => {
  await withDatabase(ITEMS, async (sql) => {
    await sql`INSERT INTO items VALUES (${ID}, 'a', 1)`;
    await sql.unsafe(SHADOW_ROUTINES_SQL);
    await sql`CALL electric.install_shadow_objects('public', 'items')`;
    await sql`CALL electric.reinstall_shadow_functions('public', 'items')`;
    await sql`CALL electric.reinstall_all_shadow_functions()`;
    const [{ count }] = await sql`
      SELECT count(*)::int AS count FROM pg_trigger WHERE tgrelid = 'items'::regclass AND NOT tgisinternal`;
    assert.equal(count, 6);
    await sql`UPDATE items SET n = 2`;
    assert.equal((await shadowOf(sql))._resolved, true);
  });
});

test("the effective replication role prefers electric.session_replication_role", async () => {
  await withDatabase("", async (sql) => {
    await sql.begin(async (tx) => {
      const [a] = await tx`SELECT electric.__session_replication_role() AS role`;
      await tx`SET LOCAL electric.session_replication_role = 'replica'`;
      const [b] = await tx`SELECT electric.__session_replication_role() AS role`;
      await tx`SET LOCAL electric.session_replication_role = ''`;
      const [c] = await tx`SELECT electric.__session_replication_role() AS role`;
      assert.deepEqual([a.role, b.role, c.role], ["origin", "replica", "origin"]);
    });
  });
});

test("a Postgres insert tags the row and every column with the transaction's start (ms, NULL source)", async () => {
  await withDatabase(ITEMS, async (sql) => {
    const started = await sql.begin(async (tx) => {
      await tx`INSERT INTO items VALUES (${ID}, 'a', 1)`;
      const [row] = await tx`
        SELECT date_trunc('milliseconds', transaction_timestamp()) AS ts,
               current_setting('electric.current_transaction_max_tag') AS max_tag`;
      assert.match(row.max_tag, /^\(".*",\)$/, "the transaction's tag is stored");
      return row.ts as Date;
    });
    const shadow = await shadowOf(sql);
    const expected = { ms: started.getTime(), source: null };
    assert.deepEqual(shadow.tags, [expected]);
    assert.deepEqual([shadow.tag, shadow.content_tag, shadow.n_tag], [
      expected,
      expected,
      expected,
    ]);
    const [precise] = await sql`
      SELECT bool_and((t).timestamp = date_trunc('milliseconds', (t).timestamp)) AS ms
        FROM electric.shadow__public__items, unnest(_tags) t`;
    assert.equal(precise.ms, true);
  });
});

test("a Postgres update re-tags only the modified columns at commit", async () => {
  await withDatabase(ITEMS, async (sql) => {
    await sql`INSERT INTO items VALUES (${ID}, 'a', 1)`;
    const before = await shadowOf(sql);
    await sql`SELECT pg_sleep(0.01)`;
    await sql.begin(async (tx) => {
      await tx`UPDATE items SET content = 'b', n = n WHERE id = ${ID}`;
      const mid = await tx`
        SELECT _resolved, _modified_columns_bit_mask AS mask FROM electric.shadow__public__items`;
      assert.deepEqual([mid[0]._resolved, mid[0].mask], [false, [true, false]]);
    });
    const after = await shadowOf(sql);
    assert.equal(after._resolved, true);
    assert.deepEqual(after._modified_columns_bit_mask, [false, false]);
    assert.notDeepEqual(after.content_tag, before.content_tag);
    assert.deepEqual(after.n_tag, before.n_tag, "an unchanged column keeps its tag");
    assert.deepEqual(after.tags, [after.content_tag]);
    assert.deepEqual(after.tag, after.content_tag);
    assert.equal(after.content_tag.source, null);
  });
});

test("several updates of a row in one transaction resolve to one tag", async () => {
  await withDatabase(ITEMS, async (sql) => {
    await sql`INSERT INTO items VALUES (${ID}, 'a', 1)`;
    await sql.begin(async (tx) => {
      await tx`UPDATE items SET content = 'b' WHERE id = ${ID}`;
      await tx`UPDATE items SET n = 2 WHERE id = ${ID}`;
    });
    const shadow = await shadowOf(sql);
    assert.deepEqual(shadow.tags, [shadow.tag]);
    assert.deepEqual([shadow.content_tag, shadow.n_tag], [shadow.tag, shadow.tag]);

    // The next transaction starts from a clean mask: only its own modification is re-tagged.
    await sql`SELECT pg_sleep(0.01)`;
    await sql`UPDATE items SET n = 3 WHERE id = ${ID}`;
    const next = await shadowOf(sql);
    assert.deepEqual(next.content_tag, shadow.content_tag);
    assert.notDeepEqual(next.n_tag, shadow.n_tag);
  });
});

test("a Postgres delete empties the tag set and keeps the row in the tombstone table", async () => {
  await withDatabase(ITEMS, async (sql) => {
    await sql`INSERT INTO items VALUES (${ID}, 'a', 1)`;
    await sql`UPDATE items SET n = 7`;
    await sql`DELETE FROM items WHERE id = ${ID}`;
    const shadow = await shadowOf(sql);
    assert.equal(shadow.tags, null, "no live tags");
    assert.equal(shadow._is_a_delete_operation, true);
    assert.equal(shadow._resolved, true);
    assert.equal(shadow.tag.source, null);
    const tomb = await sql`SELECT id, content, n FROM electric.tombstone__public__items`;
    assert.deepEqual(tomb.map((r) => ({ ...r })), [{ id: ID, content: "a", n: 7 }]);

    await sql`INSERT INTO items VALUES (${ID}, 'again', 2)`;
    const back = await shadowOf(sql);
    assert.equal(back._is_a_delete_operation, false);
    assert.deepEqual(back.tags, [back.tag]);
    assert.deepEqual([back.content_tag, back.n_tag], [back.tag, back.tag]);
  });
});

test("rows from before installation get a shadow row when Postgres first writes them", async () => {
  await withDatabase(
    `CREATE TABLE items (id uuid PRIMARY KEY, content text, n int4);
     INSERT INTO items VALUES ('${ID}', 'old', 1);
     CALL electric.install_shadow_objects('public', 'items');`,
    async (sql) => {
      assert.equal((await sql`SELECT * FROM electric.shadow__public__items`).length, 0);
      await sql`UPDATE items SET n = 2`;
      const shadow = await shadowOf(sql);
      assert.deepEqual(shadow.tags, [shadow.tag]);
      assert.deepEqual([shadow.content_tag, shadow.n_tag], [shadow.tag, shadow.tag]);
    },
  );
});

test("mixed-case table and column names work for Postgres writes", async () => {
  await withDatabase(
    `CREATE TABLE "Accounts" ("Id" int4 PRIMARY KEY, "userId" text, "Balance" numeric(10, 2));
     CALL electric.install_shadow_objects('public', 'Accounts');`,
    async (sql) => {
      await sql`INSERT INTO "Accounts" VALUES (1, 'u1', 10)`;
      await sql`UPDATE "Accounts" SET "userId" = 'u2'`;
      await sql`DELETE FROM "Accounts"`;
      assert.deepEqual(await columns(sql, `electric."shadow__public__Accounts"`), [
        "_tags electric.tag[]",
        "_last_modified bigint",
        "_is_a_delete_operation boolean",
        "_tag electric.tag",
        "_observed_tags electric.tag[]",
        "_modified_columns_bit_mask boolean[]",
        "_resolved boolean",
        "_currently_reordering boolean",
        "__reordered_userId text",
        "__reordered_Balance numeric(10,2)",
        "Id integer not null",
        "_tag_userId electric.tag",
        "_tag_Balance electric.tag",
      ]);
      const tomb = await sql`SELECT * FROM electric."tombstone__public__Accounts"`;
      assert.deepEqual(tomb.map((r) => ({ ...r })), [{ Id: 1, userId: "u2", Balance: "10.00" }]);
    },
  );
});

test("an application role can write electrified tables but not call the row writer", async () => {
  await withDatabase(ITEMS, async (sql) => {
    const role = `shadow_app_${Math.random().toString(36).slice(2, 10)}`;
    // Schema usage is granted so that the only privilege missing below is EXECUTE.
    await sql.unsafe(
      `CREATE ROLE ${role}; GRANT ALL ON items TO ${role}; GRANT USAGE ON SCHEMA electric TO ${role}`,
    );
    try {
      await sql.begin(async (tx) => {
        await tx.unsafe(`SET LOCAL ROLE ${role}`);
        await tx`INSERT INTO items VALUES (${ID}, 'a', 1)`;
        await tx`UPDATE items SET n = 2`;
        await tx`DELETE FROM items`;
      });
      assert.equal((await sql`SELECT * FROM electric.tombstone__public__items`).length, 1);
      await assert.rejects(
        sql.begin(async (tx) => {
          await tx.unsafe(`SET LOCAL ROLE ${role}`);
          await tx`SELECT electric.perform_reordered_op___public__items(NULL)`;
        }),
        (error: { code?: string }) => error.code === "42501", // insufficient_privilege
      );
    } finally {
      await sql.unsafe(`DROP OWNED BY ${role}; DROP ROLE ${role}`);
    }
  });
});
