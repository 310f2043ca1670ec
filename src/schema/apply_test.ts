import { test } from "node:test";
import assert from "node:assert/strict";
import { applyMigration, type MigrationStatementResult } from "./apply.ts";
import { EMPTY_SCHEMA, findTable, type SchemaModel } from "./model.ts";
import { satOpMigrateFor } from "./sat_op_migrate.ts";

const oids = { tableOid: (_s: string, name: string) => (name === "fish" ? 16400 : 16500) };

async function apply(statements: string[], model: SchemaModel = EMPTY_SCHEMA) {
  const out = await applyMigration(model, "20240501123456_789", statements, oids);
  if (!out.ok) throw new Error(out.error.message);
  return out;
}

/** The SQLite text of every statement of every captured text, concatenated. */
function sqliteOf(results: MigrationStatementResult[][]): string[] {
  return results.map((r) => r.flatMap((s) => s.sqlite).join(""));
}

const FISH = "CREATE TABLE public.fish (id int8 PRIMARY KEY)";

test("§11 item 24: a table with a column-level primary key", async () => {
  const out = await apply([FISH]);
  assert.deepEqual(sqliteOf(out.results), [
    'CREATE TABLE "fish" (\n  "id" INTEGER NOT NULL,\n  CONSTRAINT "fish_pkey" PRIMARY KEY ("id")\n);\n',
  ]);
  assert.equal(out.model.version, "20240501123456_789");
  assert.deepEqual(findTable(out.model, "public", "fish"), {
    schema: "public",
    name: "fish",
    oid: 16400,
    columns: [{ name: "id", type: { name: "int8", array: [], size: [] }, notNull: true }],
    primaryKey: ["id"],
    primaryKeyName: "fish_pkey",
    foreignKeys: [],
    indexes: [],
  });
  assert.deepEqual(satOpMigrateFor("v", out.results[0], "sqlite")?.table, {
    name: "fish",
    columns: [{ name: "id", sqliteType: "INTEGER", pgType: { name: "int8", array: [], size: [] } }],
    fks: [],
    pks: ["id"],
  });
});

test("§5.3 / §11 item 25: foreign keys come before the primary key, parents unqualified", async () => {
  const out = await apply([
    FISH,
    "CREATE TABLE public.front (id int8 PRIMARY KEY, frog_id int8 NOT NULL REFERENCES public.fish (id))",
  ]);
  assert.equal(
    sqliteOf(out.results)[1],
    'CREATE TABLE "front" (\n' +
      '  "id" INTEGER NOT NULL,\n' +
      '  "frog_id" INTEGER NOT NULL,\n' +
      '  CONSTRAINT "front_frog_id_fkey" FOREIGN KEY ("frog_id") REFERENCES "fish" ("id"),\n' +
      '  CONSTRAINT "front_pkey" PRIMARY KEY ("id")\n' +
      ");\n",
  );
  assert.deepEqual(satOpMigrateFor("v", out.results[1], "sqlite")?.table?.fks, [
    { fkCols: ["frog_id"], pkTable: "fish", pkCols: ["id"] },
  ]);
});

test("foreign keys are ordered by their column lists and render their actions", async () => {
  const out = await apply([
    "CREATE TABLE p (a int, b int, CONSTRAINT p_pk PRIMARY KEY (a, b))",
    "CREATE TABLE q (id int PRIMARY KEY)",
    `CREATE TABLE c (
       id int,
       z int REFERENCES q ON DELETE SET NULL,
       a int, b int,
       x int CONSTRAINT named_fk REFERENCES q(id) ON UPDATE CASCADE ON DELETE RESTRICT,
       PRIMARY KEY (id),
       FOREIGN KEY (a, b) REFERENCES p (a, b) ON DELETE CASCADE ON UPDATE SET DEFAULT,
       FOREIGN KEY (a) REFERENCES q (id) ON UPDATE NO ACTION
     )`,
  ]);
  assert.equal(
    sqliteOf(out.results)[2],
    'CREATE TABLE "c" (\n' +
      '  "id" INTEGER NOT NULL,\n' +
      '  "z" INTEGER,\n' +
      '  "a" INTEGER,\n' +
      '  "b" INTEGER,\n' +
      '  "x" INTEGER,\n' +
      '  CONSTRAINT "c_a_fkey" FOREIGN KEY ("a") REFERENCES "q" ("id"),\n' +
      '  CONSTRAINT "c_a_b_fkey" FOREIGN KEY ("a", "b") REFERENCES "p" ("a", "b") ON DELETE CASCADE ON UPDATE SET DEFAULT,\n' +
      '  CONSTRAINT "named_fk" FOREIGN KEY ("x") REFERENCES "q" ("id") ON DELETE RESTRICT ON UPDATE CASCADE,\n' +
      '  CONSTRAINT "c_z_fkey" FOREIGN KEY ("z") REFERENCES "q" ("id") ON DELETE SET NULL,\n' +
      '  CONSTRAINT "c_pkey" PRIMARY KEY ("id")\n' +
      ");\n",
  );
  assert.equal(
    sqliteOf(out.results)[0],
    'CREATE TABLE "p" (\n  "a" INTEGER NOT NULL,\n  "b" INTEGER NOT NULL,\n' +
      '  CONSTRAINT "p_pk" PRIMARY KEY ("a", "b")\n);\n',
  );
});

test("the text electrify generates parses and translates (§3.3)", async () => {
  const out = await apply([
    "CREATE TYPE public.colour AS ENUM (\n    'red',\n    'green'\n);\n" +
    "CREATE TABLE items (\n    id uuid NOT NULL,\n    content character varying NOT NULL,\n" +
    "    colour colour,\n    at timestamp with time zone,\n" +
    "    CONSTRAINT items_pkey PRIMARY KEY (id)\n);\n" +
    "CREATE INDEX items_content_idx ON public.items USING btree (content);\n" +
    "CREATE UNIQUE INDEX items_at_idx ON public.items USING btree (at DESC) " +
    "WHERE (colour = 'red'::colour);",
  ]);
  assert.deepEqual(out.results[0].map((r) => r.kind), [
    "create_enum",
    "create_table",
    "create_index",
    "create_index",
  ]);
  assert.equal(
    sqliteOf(out.results)[0],
    'CREATE TABLE "items" (\n  "id" TEXT NOT NULL,\n  "content" TEXT NOT NULL,\n' +
      '  "colour" TEXT,\n  "at" TEXT,\n  CONSTRAINT "items_pkey" PRIMARY KEY ("id")\n);\n' +
      'CREATE INDEX "items_content_idx" ON "items" ("content" ASC);\n' +
      `CREATE UNIQUE INDEX "items_at_idx" ON "items" ("at" DESC) WHERE "colour" = 'red';\n`,
  );
  const items = findTable(out.model, "public", "items");
  assert.deepEqual(items?.columns.map((c) => c.type.name), [
    "uuid",
    "varchar",
    "public.colour",
    "timestamptz",
  ]);
  assert.deepEqual(items?.indexes, [
    { name: "items_content_idx", unique: false, columns: [{ name: "content", descending: false }] },
    {
      name: "items_at_idx",
      unique: true,
      columns: [{ name: "at", descending: true }],
      where: "(colour = 'red'::colour)",
    },
  ]);
  assert.deepEqual(out.model.enums, [{
    schema: "public",
    name: "colour",
    values: ["red", "green"],
  }]);
  const op = satOpMigrateFor("v", out.results[0], "sqlite");
  assert.deepEqual(op?.stmts.map((s) => s.type), ["CREATE_TABLE", "CREATE_INDEX", "CREATE_INDEX"]);
  assert.equal(op?.table?.name, "items");
});

/** What electrify and the DDL guard captured before names in `public` were left unqualified. */
const QUALIFIED_CAPTURE = [
  ["CREATE TABLE public.parents (\n    id bigint NOT NULL,\n    CONSTRAINT parents_pkey PRIMARY KEY (id)\n);"],
  [
    "CREATE TYPE public.colour AS ENUM ('red', 'green');",
    "CREATE TYPE other.mood AS ENUM ('ok', 'sad');",
    "CREATE TABLE public.items (\n    id uuid NOT NULL,\n    c public.colour NOT NULL,\n" +
    "    m other.mood,\n    parent_id bigint,\n" +
    "    CONSTRAINT items_parent_id_fkey FOREIGN KEY (parent_id) REFERENCES public.parents(id) ON DELETE CASCADE,\n" +
    "    CONSTRAINT items_pkey PRIMARY KEY (id)\n);\n\n" +
    "CREATE UNIQUE INDEX items_c_idx ON public.items USING btree (c DESC) WHERE (c = 'red'::public.colour);",
  ],
  ["ALTER TABLE public.items ADD COLUMN n bigint NOT NULL;"],
  ["CREATE INDEX items_n_idx ON public.items USING btree (n);"],
  ["DROP INDEX public.items_n_idx;"],
];

/** The same captures as they are now (client_ddl_sql.ts). */
const CLIENT_CAPTURE = [
  ["CREATE TABLE parents (\n    id bigint NOT NULL,\n    CONSTRAINT parents_pkey PRIMARY KEY (id)\n);"],
  [
    "CREATE TYPE colour AS ENUM ('red', 'green');",
    "CREATE TYPE other.mood AS ENUM ('ok', 'sad');",
    "CREATE TABLE items (\n    id uuid NOT NULL,\n    c colour NOT NULL,\n" +
    "    m other.mood,\n    parent_id bigint,\n" +
    "    CONSTRAINT items_pkey PRIMARY KEY (id),\n" +
    "    CONSTRAINT items_parent_id_fkey FOREIGN KEY (parent_id) REFERENCES parents(id) ON DELETE CASCADE\n);\n\n" +
    "CREATE UNIQUE INDEX items_c_idx ON items USING btree (c DESC) WHERE (c = 'red'::colour);",
  ],
  ["ALTER TABLE items ADD COLUMN n bigint NOT NULL;"],
  ["CREATE INDEX items_n_idx ON items USING btree (n);"],
  ["DROP INDEX items_n_idx;"],
];

async function translateVersions(versions: string[][]) {
  let model = EMPTY_SCHEMA;
  const out = [];
  for (const statements of versions) {
    const applied = await apply(statements, model);
    model = applied.model;
    out.push(applied.results.map((r) => {
      const sqlite = satOpMigrateFor("v", r, "sqlite");
      const postgres = satOpMigrateFor("v", r, "postgresql");
      return { sqlite, table: postgres?.table, enumType: postgres?.enumType };
    }));
  }
  return { out, model };
}

test("unqualified names in public translate exactly as the earlier qualified text", async () => {
  const before = await translateVersions(QUALIFIED_CAPTURE);
  const now = await translateVersions(CLIENT_CAPTURE);
  assert.deepEqual(now.out, before.out);
  // Index texts are kept as written; only the enum cast in the predicate differs.
  const where = (m: SchemaModel) => findTable(m, "public", "items")?.indexes[0].where;
  assert.equal(where(before.model), "(c = 'red'::public.colour)");
  assert.equal(where(now.model), "(c = 'red'::colour)");
  const strip = (m: SchemaModel) => JSON.parse(JSON.stringify(m).replaceAll("::public.", "::"));
  assert.deepEqual(strip(now.model), strip(before.model));
  const items = now.out[1][2];
  assert.deepEqual(items.table?.columns.map((c) => c.pgType.name), [
    "uuid",
    "public.colour",
    "other.mood",
    "int8",
  ]);
  assert.deepEqual(items.table?.fks, [{
    fkCols: ["parent_id"],
    pkTable: "parents",
    pkCols: ["id"],
  }]);
  assert.deepEqual(now.out[1].slice(0, 2).map((o) => o.sqlite?.enumType?.name), ["colour", "mood"]);
  assert.deepEqual(items.sqlite?.stmts.map((s) => s.sql), [
    'CREATE TABLE "items" (\n  "id" TEXT NOT NULL,\n  "c" TEXT NOT NULL,\n  "m" TEXT,\n' +
    '  "parent_id" INTEGER,\n' +
    '  CONSTRAINT "items_parent_id_fkey" FOREIGN KEY ("parent_id") REFERENCES "parents" ("id") ON DELETE CASCADE,\n' +
    '  CONSTRAINT "items_pkey" PRIMARY KEY ("id")\n);\n',
    `CREATE UNIQUE INDEX "items_c_idx" ON "items" ("c" DESC) WHERE "c" = 'red';\n`,
  ]);
  assert.deepEqual(now.out.slice(2).map((v) => v.map((o) => o.sqlite?.stmts[0]?.sql)), [
    ['ALTER TABLE "items" ADD COLUMN "n" INTEGER NOT NULL;\n'],
    ['CREATE INDEX "items_n_idx" ON "items" ("n" ASC);\n'],
    [undefined],
  ]);
});

test("§11 item 26: type mapping in a table", async () => {
  const out = await apply([
    "CREATE TYPE mood AS ENUM ('ok')",
    `CREATE TABLE IF NOT EXISTS t (id uuid PRIMARY KEY, v varchar, ts timestamp, b boolean,
       j jsonb, f double precision, r real, by bytea, d date, tm time, s smallint, i integer,
       m mood, txt text)`,
  ]);
  const table = satOpMigrateFor("v", out.results[1], "sqlite")?.table;
  assert.deepEqual(table?.columns.map((c) => [c.name, c.sqliteType, c.pgType.name]), [
    ["id", "TEXT", "uuid"],
    ["v", "TEXT", "varchar"],
    ["ts", "TEXT", "timestamp"],
    ["b", "INTEGER", "bool"],
    ["j", "TEXT_JSON", "jsonb"],
    ["f", "REAL", "float8"],
    ["r", "REAL", "float4"],
    ["by", "BLOB", "bytea"],
    ["d", "TEXT", "date"],
    ["tm", "TEXT", "time"],
    ["s", "INTEGER", "int2"],
    ["i", "INTEGER", "int4"],
    ["m", "TEXT", "public.mood"],
    ["txt", "TEXT", "text"],
  ]);
});

test("ADD COLUMN: one statement per clause, the table after the change", async () => {
  const base = await apply([FISH]);
  const out = await apply([
    "ALTER TABLE fish ADD COLUMN name text NOT NULL, ADD born date, ALTER COLUMN id SET NOT NULL",
    "ALTER TABLE public.fish ADD COLUMN IF NOT EXISTS born date",
    "ALTER TABLE nowhere ADD COLUMN x text",
  ], base.model);
  assert.deepEqual(sqliteOf(out.results), [
    'ALTER TABLE "fish" ADD COLUMN "name" TEXT NOT NULL;\n' +
    'ALTER TABLE "fish" ADD COLUMN "born" TEXT;\n',
    "",
    "",
  ]);
  assert.deepEqual(out.results[0][0].stmtTypes, ["ALTER_ADD_COLUMN", "ALTER_ADD_COLUMN"]);
  assert.deepEqual(out.results[0][0].table?.columns.map((c) => c.name), ["id", "name", "born"]);
  assert.equal(out.results[1][0].warning, "Columns already present: born");
  assert.equal(out.results[2][0].kind, "ignored");
  assert.deepEqual(findTable(out.model, "public", "fish")?.columns.map((c) => c.notNull), [
    true,
    true,
    false,
  ]);
});

test("CREATE INDEX variants translate to SQLite (§5.3)", async () => {
  const base = await apply([
    'CREATE TABLE items (id int PRIMARY KEY, x text, y int, "Mixed" text)',
  ]);
  const cases: [string, string][] = [
    ["CREATE INDEX ix ON items (x)", 'CREATE INDEX "ix" ON "items" ("x" ASC);\n'],
    [
      "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS ix ON public.items USING btree (x DESC, y ASC)",
      'CREATE UNIQUE INDEX IF NOT EXISTS "ix" ON "items" ("x" DESC, "y" ASC);\n',
    ],
    [
      "CREATE INDEX ix ON items USING btree (y NULLS FIRST) WHERE ((y > 1) AND (x IS NOT NULL))",
      'CREATE INDEX "ix" ON "items" ("y" ASC) WHERE ("y" > 1) AND ("x" IS NOT NULL);\n',
    ],
    [
      "CREATE INDEX ix ON items (x) WHERE x LIKE 'a%' OR y IN (1, 2) OR x::text = 'b'",
      `CREATE INDEX "ix" ON "items" ("x" ASC) WHERE ("x" LIKE 'a%') OR ("y" IN (1, 2)) OR (CAST("x" AS TEXT) = 'b');\n`,
    ],
    [
      "CREATE INDEX ON items (x, y)",
      'CREATE INDEX "items_x_y_idx" ON "items" ("x" ASC, "y" ASC);\n',
    ],
    [
      'CREATE INDEX ON items ("Mixed")',
      'CREATE INDEX "items_Mixed_idx" ON "items" ("Mixed" ASC);\n',
    ],
    [
      "CREATE INDEX ON items USING btree (lower((x)::text) DESC, (y + 1))",
      'CREATE INDEX "items_lower_expr_idx" ON "items" (lower(CAST("x" AS TEXT)) DESC, ("y" + 1) ASC);\n',
    ],
  ];
  for (const [sql, expected] of cases) {
    const out = await apply([sql], base.model);
    assert.deepEqual(sqliteOf(out.results), [expected], sql);
    assert.deepEqual(out.results[0][0].postgres, [sql]);
    assert.equal(satOpMigrateFor("v", out.results[0], "sqlite")?.table, undefined);
  }
});

test("unnamed indexes get the next free Postgres name", async () => {
  const out = await apply([
    "CREATE TABLE items (id int PRIMARY KEY, x text)",
    "CREATE INDEX ON items (x)",
    "CREATE INDEX ON items (x)",
    "CREATE INDEX ON items (x, x)",
  ]);
  assert.deepEqual(findTable(out.model, "public", "items")?.indexes.map((i) => i.name), [
    "items_x_idx",
    "items_x_idx1",
    "items_x_x1_idx",
  ]);
});

test("DROP INDEX leaves the model without the index and propagates nothing", async () => {
  const base = await apply([
    "CREATE TABLE items (id int PRIMARY KEY, x text); CREATE INDEX items_x_idx ON items (x);",
    "CREATE INDEX other ON items (id)",
  ]);
  const out = await apply(["DROP INDEX IF EXISTS public.items_x_idx, missing"], base.model);
  assert.deepEqual(findTable(out.model, "public", "items")?.indexes.map((i) => i.name), ["other"]);
  assert.deepEqual(out.results, [[{
    kind: "drop_index",
    sqlite: [],
    postgres: [],
    stmtTypes: [],
  }]]);
  assert.equal(satOpMigrateFor("v", out.results[0], "sqlite"), undefined);
  assert.equal(satOpMigrateFor("v", out.results[0], "postgresql"), undefined);
});

test("statements the model does not track are ignored, not errors", async () => {
  const out = await apply([
    "SELECT 1; ALTER TABLE items OWNER TO bob",
    "CREATE INDEX ix ON not_electrified (x)",
  ]);
  assert.deepEqual(out.results.flat().map((r) => r.kind), ["ignored", "ignored", "ignored"]);
  assert.ok(out.results.flat().every((r) => r.warning));
  assert.equal(satOpMigrateFor("v", out.results[0], "sqlite"), undefined);
});

test("captured text that does not parse fails the version", async () => {
  const out = await applyMigration(EMPTY_SCHEMA, "1", ["CREATE TABLEX"], oids);
  assert.equal(out.ok, false);
  assert.equal(!out.ok && out.error.code, "SYNTAX_ERROR");
});

test("a re-captured enum replaces the earlier one", async () => {
  const out = await apply([
    "CREATE TYPE colour AS ENUM ('red')",
    "CREATE TYPE public.colour AS ENUM ('red', 'blue')",
  ]);
  assert.deepEqual(out.model.enums, [{
    schema: "public",
    name: "colour",
    values: ["red", "blue"],
  }]);
  assert.deepEqual(out.results[1][0].enumType, out.model.enums[0]);
});

test("the input model is not changed", async () => {
  const base = await apply([FISH]);
  const before = JSON.stringify(base.model);
  await apply(["ALTER TABLE fish ADD COLUMN x text", "CREATE INDEX ON fish (x)"], base.model);
  assert.equal(JSON.stringify(base.model), before);
});
