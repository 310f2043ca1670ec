/**
 * Shadow machinery, client side (postgres-side.md §8.3, §8.4, §8.6): client changes applied as
 * the two-insert protocol in a session with `electric.session_replication_role = replica`, and
 * their observable consequences, including a column added after installation. Longer than
 * most files: the two-insert helper and the §8.4 cases it serves are kept together.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import postgres from "postgres";
import { bootstrapElectricSchema } from "../../src/storage/mod.ts";
import { SHADOW_ROUTINES_SQL } from "../../src/storage/shadow/mod.ts";
import type { TableModel } from "../../src/schema/mod.ts";
import {
  type ClientChange as WriterChange,
  type ClientTransaction as WriterTransaction,
  clientTransactionSql,
} from "../../src/writes/mod.ts";
import { freshDatabase } from "../helpers/pg_cluster.ts";
import { mergeState, pgType } from "../helpers/shadow_state.ts";

interface Tag {
  ms: number;
  /** Client id, or null for Postgres. */
  source: string | null;
}

interface ClientChange {
  table: string;
  kind: "insert" | "update" | "delete" | "compensation";
  /** The full row (the old row for deletes); only the key matters for compensations. */
  row: Record<string, unknown>;
  tag: Tag;
  observed?: Tag[];
  /** Columns an update modified. */
  modified?: string[];
}

interface Ctx {
  sql: postgres.Sql;
  /** One connection whose effective replication role is `replica`, like the direct writer. */
  writer: postgres.Sql;
}

const SCHEMA = `
  CREATE TABLE items (id uuid PRIMARY KEY, content text, n int4, "userId" text);
  CALL electric.install_shadow_objects('public', 'items');
  CREATE TABLE parents (id int4 PRIMARY KEY, name text NOT NULL);
  CREATE TABLE children (id int4 PRIMARY KEY, parent_id int4 NOT NULL REFERENCES parents (id), label text);
  CALL electric.install_shadow_objects('public', 'parents');
  CALL electric.install_shadow_objects('public', 'children');`;

async function withDatabase(body: (ctx: Ctx) => Promise<void>) {
  const db = await freshDatabase();
  const sql = postgres(db.url, { onnotice: () => {}, max: 2 });
  const writer = postgres(db.url, { onnotice: () => {}, max: 1 });
  try {
    await bootstrapElectricSchema(sql);
    await sql.unsafe(SHADOW_ROUTINES_SQL);
    await sql.unsafe(SCHEMA);
    await writer`SET electric.session_replication_role = 'replica'`;
    await body({ sql, writer });
  } finally {
    await writer.end({ timeout: 1 });
    await sql.end({ timeout: 1 });
    await db.drop();
  }
}

const ID = "00000000-0000-4000-8000-000000000001";
const NOW = Date.now() - Date.now() % 1000;
const at = (seconds: number, source = "client-a"): Tag => ({ ms: NOW + seconds * 1000, source });

/** Postgres form of a tag: `("<ISO timestamp>","<source>")`, NULL source as an empty field. */
function tagText(tag: Tag): string {
  return `("${new Date(tag.ms).toISOString()}",${tag.source === null ? "" : `"${tag.source}"`})`;
}

function tagArrayText(tags: Tag[]): string {
  const quoted = tags.map((t) => `"${tagText(t).replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`);
  return `{${quoted.join(",")}}`;
}

/** §8.6 literal encoding. */
function literal(value: unknown): string {
  if (value === null || value === undefined) return "NULL";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") return String(value);
  return `'${String(value).replaceAll("'", "''")}'`;
}

const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;

async function liveColumns(sql: postgres.Sql | postgres.TransactionSql, relation: string) {
  const rows = await sql`
    SELECT a.attname, coalesce(a.attnum = ANY (c.conkey), false) AS is_pk
      FROM pg_attribute a
      LEFT JOIN pg_constraint c ON c.conrelid = a.attrelid AND c.contype = 'p'
     WHERE a.attrelid = ${relation}::regclass AND a.attnum > 0 AND NOT a.attisdropped
     ORDER BY a.attnum`;
  return rows.map((r) => ({ name: r.attname as string, isPk: r.is_pk as boolean }));
}

/**
 * One client transaction as the direct writer applies it: per change, an insert of the row
 * into the user table, then an insert into the shadow table naming every column, NULL except
 * the key, `_tag`, `_is_a_delete_operation`, `_observed_tags` and the modified-columns bitmask.
 */
async function applyClientTransaction(writer: postgres.Sql, changes: ClientChange[]) {
  await writer.begin(async (tx) => {
    const [{ role }] = await tx`SELECT electric.__session_replication_role() AS role`;
    assert.equal(role, "replica");
    for (const change of changes) {
      const columns = await liveColumns(tx, ident(change.table));
      const values = columns.map((c) =>
        change.kind === "compensation" && !c.isPk ? null : change.row[c.name] ?? null
      );
      await tx.unsafe(
        `INSERT INTO public.${ident(change.table)} (${
          columns.map((c) => ident(c.name)).join(", ")
        }) ` +
          `VALUES (${values.map(literal).join(", ")})`,
      );
      const mask = columns.filter((c) => !c.isPk).map((c) =>
        change.kind === "insert" || (change.kind === "update" && change.modified!.includes(c.name))
      );
      const shadow = `electric.${ident(`shadow__public__${change.table}`)}`;
      const shadowColumns = await liveColumns(tx, shadow);
      const shadowValues = shadowColumns.map(({ name, isPk }) => {
        if (isPk) return literal(change.row[name]);
        switch (name) {
          case "_tag":
            return literal(tagText(change.tag));
          case "_is_a_delete_operation":
            return literal(change.kind === "delete");
          case "_observed_tags":
            return literal(tagArrayText(change.observed ?? []));
          case "_modified_columns_bit_mask":
            return literal(`{${mask.map((m) => (m ? "t" : "f")).join(",")}}`);
          default:
            return "NULL";
        }
      });
      await tx.unsafe(
        `INSERT INTO ${shadow} (${shadowColumns.map((c) => ident(c.name)).join(", ")}) ` +
          `VALUES (${shadowValues.join(", ")})`,
      );
    }
  });
}

function parseTag(value: { timestamp: string; source_id: string | null } | null): Tag | null {
  return value === null ? null : { ms: Date.parse(value.timestamp), source: value.source_id };
}

/** `_tags` and every `_tag_<column>` of one shadow row. */
async function shadowState(sql: postgres.Sql, table: string, key: string | number) {
  const shadow = `electric.${ident(`shadow__public__${table}`)}`;
  const [row] = await sql.unsafe(`SELECT to_jsonb(s) AS row FROM ${shadow} s WHERE s.id = $1`, [
    key,
  ]);
  if (row === undefined) return undefined;
  const json = row.row as Record<string, unknown>;
  const columns: Record<string, Tag | null> = {};
  for (const [name, value] of Object.entries(json)) {
    if (name.startsWith("_tag_")) columns[name.slice(5)] = parseTag(value as never);
  }
  const leftovers = Object.entries(json).filter(([name, value]) =>
    (name.startsWith("__reordered_") || name === "_observed_tags" ||
      name === "_currently_reordering") && value !== null
  );
  assert.deepEqual(leftovers, [], "parked values and inputs are cleared after resolution");
  return { tags: ((json._tags ?? []) as never[]).map((t) => parseTag(t)!), columns };
}

async function item(sql: postgres.Sql) {
  const rows = await sql`SELECT content, n, "userId" FROM items WHERE id = ${ID}`;
  return rows.length === 0 ? undefined : { ...rows[0] };
}

test("a client insert creates the row; the row and every column carry the client's tag", async () => {
  await withDatabase(async ({ sql, writer }) => {
    const row = { id: ID, content: "it's", n: 1, userId: "u1" };
    await applyClientTransaction(writer, [{ table: "items", kind: "insert", row, tag: at(1) }]);
    assert.deepEqual(await item(sql), { content: "it's", n: 1, userId: "u1" });
    assert.deepEqual(await shadowState(sql, "items", ID), {
      tags: [at(1)],
      columns: { content: at(1), n: at(1), userId: at(1) },
    });
  });
});

test("concurrent updates of different columns both win (per-column LWW)", async () => {
  await withDatabase(async ({ sql, writer }) => {
    const row = { id: ID, content: "a", n: 1, userId: "u1" };
    await applyClientTransaction(writer, [{ table: "items", kind: "insert", row, tag: at(1) }]);
    const b = at(2, "client-b");
    const c = at(3, "client-c");
    await applyClientTransaction(writer, [
      {
        table: "items",
        kind: "update",
        row: { ...row, content: "b" },
        tag: b,
        observed: [at(1)],
        modified: ["content"],
      },
    ]);
    await applyClientTransaction(writer, [
      {
        table: "items",
        kind: "update",
        row: { ...row, n: 3 },
        tag: c,
        observed: [at(1)],
        modified: ["n"],
      },
    ]);
    assert.deepEqual(await item(sql), { content: "b", n: 3, userId: "u1" });
    assert.deepEqual(await shadowState(sql, "items", ID), {
      tags: [b, c],
      columns: { content: b, n: c, userId: at(1) },
    });
  });
});

test("an update older than the column's tag changes nothing, yet the row is rewritten", async () => {
  await withDatabase(async ({ sql, writer }) => {
    const row = { id: ID, content: "new", n: 1, userId: "u1" };
    await applyClientTransaction(writer, [{ table: "items", kind: "insert", row, tag: at(5) }]);
    const [before] = await sql`SELECT xmin::text FROM items`;
    const old = at(1, "client-b");
    await applyClientTransaction(writer, [
      {
        table: "items",
        kind: "update",
        row: { ...row, content: "old" },
        tag: old,
        modified: ["content"],
      },
    ]);
    assert.deepEqual(await item(sql), { content: "new", n: 1, userId: "u1" });
    const state = await shadowState(sql, "items", ID);
    assert.deepEqual(state?.columns.content, at(5));
    assert.deepEqual(state?.tags, [at(5), old]);
    const [after] = await sql`SELECT xmin::text FROM items`;
    assert.notEqual(after.xmin, before.xmin, "an update with unchanged values reaches the stream");
  });
});

test("a delete that observed every tag removes the row and fills the tombstone", async () => {
  await withDatabase(async ({ sql, writer }) => {
    const row = { id: ID, content: "a", n: 1, userId: "u1" };
    await applyClientTransaction(writer, [{ table: "items", kind: "insert", row, tag: at(1) }]);
    await applyClientTransaction(writer, [
      {
        table: "items",
        kind: "update",
        row: { ...row, n: 2 },
        tag: at(2, "client-b"),
        modified: ["n"],
      },
    ]);
    await applyClientTransaction(writer, [
      {
        table: "items",
        kind: "delete",
        row: { ...row, n: 2 },
        tag: at(3),
        observed: [at(1), at(2, "client-b")],
      },
    ]);
    assert.equal(await item(sql), undefined);
    const state = await shadowState(sql, "items", ID);
    assert.deepEqual(state?.tags, []);
    const tomb = await sql`SELECT content, n, "userId" FROM electric.tombstone__public__items`;
    assert.deepEqual(tomb.map((r) => ({ ...r })), [{ content: "a", n: 2, userId: "u1" }]);
  });
});

test("a delete that missed a concurrent update leaves the row (add-wins)", async () => {
  await withDatabase(async ({ sql, writer }) => {
    const row = { id: ID, content: "a", n: 1, userId: "u1" };
    await applyClientTransaction(writer, [{ table: "items", kind: "insert", row, tag: at(1) }]);
    const b = at(2, "client-b");
    await applyClientTransaction(writer, [
      {
        table: "items",
        kind: "update",
        row: { ...row, content: "b" },
        tag: b,
        observed: [at(1)],
        modified: ["content"],
      },
    ]);
    await applyClientTransaction(writer, [
      { table: "items", kind: "delete", row, tag: at(3), observed: [at(1)] },
    ]);
    assert.deepEqual(await item(sql), { content: "b", n: 1, userId: "u1" });
    assert.deepEqual((await shadowState(sql, "items", ID))?.tags, [b]);
    assert.equal((await sql`SELECT * FROM electric.tombstone__public__items`).length, 0);
  });
});

test("an update that did not observe a delete resurrects the row from the tombstone", async () => {
  await withDatabase(async ({ sql, writer }) => {
    await sql`INSERT INTO items VALUES (${ID}, 'original', 1, 'u1')`;
    const observed = await onlyPostgresTag(sql);
    await sql`UPDATE items SET n = 2`;
    await sql`DELETE FROM items`;
    const tag = at(60);
    await applyClientTransaction(writer, [{
      table: "items",
      kind: "update",
      row: { id: ID, content: "client", n: 1, userId: "u1" },
      tag,
      observed: [observed],
      modified: ["content"],
    }]);
    assert.deepEqual(await item(sql), { content: "client", n: 2, userId: "u1" });
    assert.deepEqual((await shadowState(sql, "items", ID))?.tags, [tag]);
  });
});

/** The single tag of the item's shadow row, as a client would have observed it. */
async function onlyPostgresTag(sql: postgres.Sql): Promise<Tag> {
  const state = await shadowState(sql, "items", ID);
  assert.equal(state?.tags.length, 1);
  assert.equal(state.tags[0].source, null);
  return state.tags[0];
}

test("an insert of an existing key acts as an update of every column", async () => {
  await withDatabase(async ({ sql, writer }) => {
    const row = { id: ID, content: "a", n: 1, userId: "u1" };
    await applyClientTransaction(writer, [{ table: "items", kind: "insert", row, tag: at(2) }]);
    const older = { id: ID, content: "older", n: 0, userId: "u0" };
    await applyClientTransaction(writer, [
      { table: "items", kind: "insert", row: older, tag: at(1, "client-b") },
    ]);
    assert.deepEqual(await item(sql), { content: "a", n: 1, userId: "u1" });
    const newer = { id: ID, content: "newer", n: 3, userId: "u3" };
    await applyClientTransaction(writer, [
      { table: "items", kind: "insert", row: newer, tag: at(3, "client-c") },
    ]);
    assert.deepEqual(await item(sql), { content: "newer", n: 3, userId: "u3" });
    assert.deepEqual((await shadowState(sql, "items", ID))?.tags, [
      at(2),
      at(1, "client-b"),
      at(3, "client-c"),
    ]);
  });
});

test("a compensation resurrects a concurrently deleted parent and keeps an existing one", async () => {
  await withDatabase(async ({ sql, writer }) => {
    await sql`INSERT INTO parents VALUES (1, 'deleted parent'), (2, 'live parent')`;
    await sql`DELETE FROM parents WHERE id = 1`;
    const [live] = await sql`SELECT xmin::text FROM parents WHERE id = 2`;
    const tag = at(10);
    await applyClientTransaction(writer, [
      { table: "parents", kind: "compensation", row: { id: 1 }, tag },
      { table: "children", kind: "insert", row: { id: 10, parent_id: 1, label: "x" }, tag },
      { table: "parents", kind: "compensation", row: { id: 2 }, tag },
      { table: "children", kind: "insert", row: { id: 20, parent_id: 2, label: "y" }, tag },
    ]);
    const parents = await sql`SELECT id, name, xmin::text FROM parents ORDER BY id`;
    assert.deepEqual(parents.map((p) => [p.id, p.name]), [[1, "deleted parent"], [
      2,
      "live parent",
    ]]);
    assert.notEqual(parents[1].xmin, live.xmin, "an existing row is rewritten with its own values");
    const children = await sql`SELECT id, parent_id FROM children ORDER BY id`;
    assert.deepEqual(children.map((c) => [c.id, c.parent_id]), [[10, 1], [20, 2]]);
    const one = await shadowState(sql, "parents", 1);
    assert.deepEqual(one?.tags, [tag]);
    assert.notDeepEqual(one?.columns.name, tag, "a compensation modifies no column");
    assert.equal((await shadowState(sql, "parents", 2))?.tags.length, 2);
  });
});

test("a Postgres write concurrent with a future-dated client write wins", async () => {
  await withDatabase(async ({ sql, writer }) => {
    await sql`INSERT INTO items VALUES (${ID}, 'original', 1, 'u1')`;
    const future = at(3600);
    await sql.begin(async (tx) => {
      await tx`SELECT 1`; // the transaction (and its start time) begins before the client write
      await applyClientTransaction(writer, [{
        table: "items",
        kind: "update",
        row: { id: ID, content: "client", n: 1, userId: "u1" },
        tag: future,
        modified: ["content"],
      }]);
      await tx`UPDATE items SET content = 'postgres' WHERE id = ${ID}`;
    });
    assert.deepEqual(await item(sql), { content: "postgres", n: 1, userId: "u1" });
    const state = await shadowState(sql, "items", ID);
    assert.deepEqual(state?.columns.content, { ms: future.ms, source: null });
    assert.deepEqual(state?.tags, [{ ms: future.ms, source: null }]);

    // Another client write with the same timestamp, not having seen it, loses the tie.
    await applyClientTransaction(writer, [{
      table: "items",
      kind: "update",
      row: { id: ID, content: "tie", n: 1, userId: "u1" },
      tag: { ms: future.ms, source: "client-z" },
      modified: ["content"],
    }]);
    assert.equal((await item(sql))?.content, "postgres");
  });
});

test("after shadow_add_column, client and Postgres writes handle the new column", async () => {
  await withDatabase(async ({ sql, writer }) => {
    const row = { id: ID, content: "a", n: 1, userId: "u1" };
    await applyClientTransaction(writer, [{ table: "items", kind: "insert", row, tag: at(5) }]);
    await sql`ALTER TABLE items ADD COLUMN "Extra" varchar(20)`;
    await sql`CALL electric.shadow_add_column('public', 'items', 'Extra', 'varchar(20)')`;
    const shadowCols = await liveColumns(sql, "electric.shadow__public__items");
    assert.deepEqual(shadowCols.slice(-2).map((c) => c.name), ["__reordered_Extra", "_tag_Extra"]);
    const tombCols = await liveColumns(sql, "electric.tombstone__public__items");
    assert.deepEqual(tombCols.map((c) => c.name), ["id", "content", "n", "userId", "Extra"]);
    assert.equal((await shadowState(sql, "items", ID))?.columns.Extra, null);

    // An unset column tag counts as lowest: an older client write still sets the new column.
    const b = at(1, "client-b");
    await applyClientTransaction(writer, [{
      table: "items",
      kind: "update",
      row: { ...row, content: "ignored", Extra: "x" },
      tag: b,
      modified: ["content", "Extra"],
    }]);
    const [after] = await sql`SELECT content, "Extra" FROM items`;
    assert.deepEqual({ ...after }, { content: "a", Extra: "x" });
    assert.deepEqual((await shadowState(sql, "items", ID))?.columns.Extra, b);

    await sql`UPDATE items SET "Extra" = 'pg'`;
    const state = await shadowState(sql, "items", ID);
    assert.equal(state?.columns.Extra?.source, null);
    assert.deepEqual(state?.columns.content, at(5));

    await applyClientTransaction(writer, [
      { table: "items", kind: "delete", row, tag: at(7), observed: state!.tags },
    ]);
    const [tomb] = await sql`SELECT "Extra" FROM electric.tombstone__public__items`;
    assert.equal(tomb.Extra, "pg");
    await applyClientTransaction(writer, [{
      table: "items",
      kind: "update",
      row: { ...row, n: 9 },
      tag: at(8),
      observed: [at(5)],
      modified: ["n"],
    }]);
    const [back] = await sql`SELECT content, n, "Extra" FROM items`;
    assert.deepEqual({ ...back }, { content: "a", n: 9, Extra: "pg" });
  });
});

// ---- The direct writer's statements (src/writes/statements.ts): consecutive changes to one
// table share multi-row inserts; the outcome must be that of one insert pair per change.

const ITEMS_MODEL: TableModel = {
  schema: "public",
  name: "items",
  oid: 0,
  columns: [
    { name: "id", type: pgType("uuid"), notNull: true },
    { name: "content", type: pgType("text"), notNull: false },
    { name: "n", type: pgType("int4"), notNull: false },
    { name: "userId", type: pgType("text"), notNull: false },
  ],
  primaryKey: ["id"],
  primaryKeyName: "items_pkey",
  foreignKeys: [],
  indexes: [],
};

const PARENTS_MODEL: TableModel = {
  ...ITEMS_MODEL,
  name: "parents",
  columns: [
    { name: "id", type: pgType("int4"), notNull: true },
    { name: "name", type: pgType("text"), notNull: true },
  ],
  primaryKeyName: "parents_pkey",
};

const CHILDREN_MODEL: TableModel = {
  ...ITEMS_MODEL,
  name: "children",
  columns: [
    { name: "id", type: pgType("int4"), notNull: true },
    { name: "parent_id", type: pgType("int4"), notNull: true },
    { name: "label", type: pgType("text"), notNull: false },
  ],
  primaryKeyName: "children_pkey",
};

function writerChange(
  table: TableModel,
  kind: WriterChange["kind"],
  record: Record<string, string | null>,
  options: { modified?: string[]; observed?: Tag[] } = {},
): WriterChange {
  const values = table.columns.map((c) => c.name).filter((c) => !table.primaryKey.includes(c));
  return {
    kind,
    table,
    record,
    modified: new Set(kind === "insert" ? values : kind === "update" ? options.modified : []),
    present: new Set(Object.keys(record)),
    observedTags: (options.observed ?? []).map((t) => `${t.source ?? "postgres_1"}@${t.ms}`),
  };
}

test("grouped direct-writer statements resolve exactly like one insert pair per change", async () => {
  const ids = [1, 2, 3, 4].map((i) => `abcdef00-0000-4000-8000-00000000000${i}`);
  const first: WriterTransaction = {
    clientId: "client-a",
    lsn: new Uint8Array([1]),
    commitTimestampMs: BigInt(NOW + 1000),
    changes: [
      writerChange(ITEMS_MODEL, "insert", { id: ids[0], content: "a", n: "1", userId: "u" }),
      writerChange(ITEMS_MODEL, "insert", { id: ids[1], content: "b", n: "2", userId: "u" }),
      // The same row again in the run, in another spelling of its key.
      writerChange(ITEMS_MODEL, "update", { id: ids[0].toUpperCase(), content: "a2", n: "1" }, {
        modified: ["content"],
      }),
      writerChange(ITEMS_MODEL, "insert", { id: ids[2], content: "c", n: "3" }),
      writerChange(PARENTS_MODEL, "insert", { id: "1", name: "p1" }),
      writerChange(PARENTS_MODEL, "insert", { id: "2", name: "p2" }),
      writerChange(CHILDREN_MODEL, "insert", { id: "10", parent_id: "1", label: "x" }),
      writerChange(CHILDREN_MODEL, "insert", { id: "20", parent_id: "2", label: null }),
    ],
  };
  const second: WriterTransaction = {
    clientId: "client-b",
    lsn: new Uint8Array([2]),
    // Later than the Postgres writes of the setup, so the resurrection wins its column.
    commitTimestampMs: BigInt(NOW + 3_600_000),
    changes: [
      writerChange(ITEMS_MODEL, "delete", { id: ids[1], content: "b", n: "2", userId: "u" }, {
        observed: [at(1)],
      }),
      writerChange(ITEMS_MODEL, "update", { id: ids[2], n: "30" }, { modified: ["n"] }),
      writerChange(ITEMS_MODEL, "update", { id: ids[3], content: "resurrected?", n: "4" }, {
        modified: ["content"],
      }),
      writerChange(ITEMS_MODEL, "delete", { id: ids[0], content: "a2", n: "1", userId: "u" }, {
        observed: [at(1)],
      }),
      writerChange(PARENTS_MODEL, "compensation", { id: "1" }),
      writerChange(PARENTS_MODEL, "compensation", { id: "2" }),
      writerChange(CHILDREN_MODEL, "update", { id: "10", parent_id: "2", label: "moved" }, {
        modified: ["parent_id", "label"],
      }),
    ],
  };
  const results: unknown[] = [];
  // Grouped and set-based where possible (what the writer sends); grouped through the
  // triggers only; one insert pair per change.
  for (const [grouped, setBased] of [[true, true], [true, false], [false, false]]) {
    await withDatabase(async ({ sql, writer }) => {
      await sql`INSERT INTO items VALUES (${ids[3]}, 'before', 0, 'u0')`;
      await sql`DELETE FROM items WHERE id = ${ids[3]}`;
      for (const tx of [first, second]) {
        const parts = grouped ? [tx] : tx.changes.map((change) => ({ ...tx, changes: [change] }));
        const text = parts.map((part) => {
          const built = clientTransactionSql(part, { setBased });
          assert.ok(built.ok);
          return built.sql;
        }).join("\n");
        if (grouped) {
          assert.match(text, /VALUES \([^;]*\), \(/, "changes share multi-row statements");
        }
        if (setBased) assert.match(text, /'merged'/, "some runs are merged set-based");
        await writer.begin((t) => t.unsafe(text));
      }
      results.push(await mergeState(sql, ["items", "parents", "children"]));
    });
  }
  assert.deepEqual(results[0], results[2]);
  assert.deepEqual(results[1], results[2]);
  const state = results[0] as Record<string, { r: Record<string, unknown> }[]>;
  assert.deepEqual(state.items.map((row) => [row.r.content, row.r.n]), [
    ["resurrected?", 0],
    ["c", 30],
  ]);
});

test("a client update of a row from before installation updates it in place", async () => {
  await withDatabase(async ({ sql, writer }) => {
    await sql`CREATE TABLE legacy (id int4 PRIMARY KEY, a text, b text)`;
    await sql`INSERT INTO legacy VALUES (1, 'a', 'b')`;
    await sql`CALL electric.install_shadow_objects('public', 'legacy')`;
    await writer.begin(async (tx) => {
      await tx`INSERT INTO legacy VALUES (1, 'client', 'ignored')`;
      await tx`INSERT INTO electric.shadow__public__legacy (id, _tag, _is_a_delete_operation, _observed_tags, _modified_columns_bit_mask)
               VALUES (1, ${tagText(at(1))}, false, '{}', '{t,f}')`;
    });
    assert.deepEqual((await sql`SELECT a, b FROM legacy`).map((r) => ({ ...r })), [
      { a: "client", b: "b" },
    ]);
  });
});

test("a table whose primary key is deferrable takes client writes", async () => {
  await withDatabase(async ({ sql, writer }) => {
    await sql`CREATE TABLE deferred (id int4 PRIMARY KEY DEFERRABLE INITIALLY DEFERRED, a text)`;
    await sql`CALL electric.install_shadow_objects('public', 'deferred')`;
    for (const [value, second] of [["first", 1], ["second", 2]] as const) {
      await writer.begin(async (tx) => {
        await tx`INSERT INTO deferred VALUES (1, ${value})`;
        await tx`INSERT INTO electric.shadow__public__deferred (id, _tag, _is_a_delete_operation, _observed_tags, _modified_columns_bit_mask)
                 VALUES (1, ${tagText(at(second))}, false, '{}', '{t}')`;
      });
    }
    assert.deepEqual((await sql`SELECT id, a FROM deferred`).map((r) => ({ ...r })), [
      { id: 1, a: "second" },
    ]);
  });
});
