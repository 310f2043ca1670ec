/**
 * The exact DDL text captured for each form the service captures (postgres-side.md §3.3, §4.1,
 * §5.1): electrification (enums, table, constraints, indexes), ADD COLUMN, CREATE INDEX and
 * DROP INDEX run directly (event-trigger guard) and through the migrations proxy, and what it
 * becomes for clients in both dialects. Names in `public` are unqualified, others qualified,
 * whatever the caller's search path.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import postgres from "postgres";
import { buildEntry } from "../../src/migrations/mod.ts";
import { EMPTY_SCHEMA, migrationSqlFile, type SchemaModel } from "../../src/schema/mod.ts";
import { bootstrapElectricSchema, ensurePublication } from "../../src/storage/mod.ts";
import { freshDatabase } from "../helpers/pg_cluster.ts";
import { type ProxyHarness, startProxy } from "./proxy_harness.ts";

type Db = Awaited<ReturnType<typeof freshDatabase>>;
let db: Db;
let sql: postgres.Sql;

before(async () => {
  db = await freshDatabase();
  sql = postgres(db.url, { onnotice: () => {}, max: 2 });
  await bootstrapElectricSchema(sql, { ddlGuard: true });
  await ensurePublication(sql);
});

after(async () => {
  await sql.end();
  await db.drop();
});

async function capturedSince(id: number): Promise<string[]> {
  const rows = await sql`SELECT query FROM electric.ddl_commands WHERE id > ${id} ORDER BY id`;
  return rows.map((r) => r.query as string);
}

async function lastId(): Promise<number> {
  const [row] = await sql`SELECT coalesce(max(id), 0)::int AS id FROM electric.ddl_commands`;
  return row.id;
}

/** Runs `statements` in one transaction and returns what it captured. */
async function capture(statements: string): Promise<string[]> {
  const from = await lastId();
  await sql.begin((tx) => tx.unsafe(statements));
  return await capturedSince(from);
}

const ITEMS_TABLE = [
  "CREATE TABLE items (",
  "    id uuid NOT NULL,",
  "    content character varying NOT NULL,",
  "    c colour NOT NULL,",
  "    m other.mood,",
  "    s size,",
  "    c2 colour,",
  "    parent_id bigint NOT NULL,",
  "    a_parent bigint,",
  '    "Mixed Case" text,',
  "    n integer,",
  "    CONSTRAINT items_pkey PRIMARY KEY (id),",
  "    CONSTRAINT items_a_parent_fkey FOREIGN KEY (a_parent) REFERENCES parents(id) ON UPDATE RESTRICT,",
  "    CONSTRAINT items_parent_id_fkey FOREIGN KEY (parent_id) REFERENCES parents(id) ON DELETE CASCADE",
  ");",
  "",
  'CREATE INDEX "Items Mixed" ON items USING btree ("Mixed Case", n);',
  "",
  "CREATE UNIQUE INDEX items_lower ON items USING btree (lower((content)::text));",
  "",
  "CREATE INDEX items_n_idx ON items USING btree (n DESC) WHERE (n > 0);",
].join("\n");

describe("electrify", () => {
  test("a table with a primary key only", async () => {
    const ddl = await capture(`
      CREATE TABLE parents (id int8 PRIMARY KEY);
      CALL electric.electrify('parents');`);
    assert.deepEqual(ddl, [
      "CREATE TABLE parents (\n    id bigint NOT NULL,\n    CONSTRAINT parents_pkey PRIMARY KEY (id)\n);",
    ]);
  });

  test("enums in column order, NOT NULL, primary key then foreign keys, indexes", async () => {
    const ddl = await capture(`
      CREATE SCHEMA other;
      CREATE TYPE size AS ENUM ('small', 'large');
      CREATE TYPE other.mood AS ENUM ('ok', 'sad');
      CREATE TYPE colour AS ENUM ('red', 'green');
      CREATE TABLE items (
        id uuid PRIMARY KEY, content varchar NOT NULL, c colour NOT NULL, m other.mood, s size,
        c2 colour, parent_id int8 NOT NULL REFERENCES parents (id) ON DELETE CASCADE,
        a_parent int8 REFERENCES parents (id) ON UPDATE RESTRICT, "Mixed Case" text, n int4);
      CREATE INDEX items_n_idx ON items (n DESC) WHERE n > 0;
      CREATE UNIQUE INDEX items_lower ON items (lower(content));
      CREATE INDEX "Items Mixed" ON items ("Mixed Case", n);
      CALL electric.electrify('items');`);
    assert.deepEqual(ddl, [
      "CREATE TYPE colour AS ENUM ('red', 'green');",
      "CREATE TYPE other.mood AS ENUM ('ok', 'sad');",
      "CREATE TYPE size AS ENUM ('small', 'large');",
      ITEMS_TABLE,
    ]);
  });

  test("the text does not depend on the caller's search path", async () => {
    for (const [i, path] of ["''", "other, pg_catalog", "other, public"].entries()) {
      const ddl = await capture(`
        SET LOCAL search_path = ${path};
        CREATE TABLE public.path_${i} (id int8 PRIMARY KEY, c public.colour,
                                       p int8 REFERENCES public.parents (id));
        CALL electric.electrify('public.path_${i}');`);
      assert.deepEqual(ddl, [
        "CREATE TYPE colour AS ENUM ('red', 'green');",
        `CREATE TABLE path_${i} (\n    id bigint NOT NULL,\n    c colour,\n    p bigint,\n` +
        `    CONSTRAINT path_${i}_pkey PRIMARY KEY (id),\n` +
        `    CONSTRAINT path_${i}_p_fkey FOREIGN KEY (p) REFERENCES parents(id)\n);`,
      ], path);
    }
  });

  test("a public name that a pg_catalog one would hide stays qualified", async () => {
    const ddl = await capture(`
      CREATE TYPE public.name AS ENUM ('a', 'b');
      CREATE TABLE hidden (id int8 PRIMARY KEY, v public.name);
      CALL electric.electrify('hidden');`);
    assert.deepEqual(ddl, [
      "CREATE TYPE public.name AS ENUM ('a', 'b');",
      "CREATE TABLE hidden (\n    id bigint NOT NULL,\n    v public.name,\n" +
      "    CONSTRAINT hidden_pkey PRIMARY KEY (id)\n);",
    ]);
  });

  test("names outside public are qualified (generator called directly)", async () => {
    await sql.unsafe(`
      CREATE TABLE other.p (id int8 PRIMARY KEY);
      CREATE TABLE other.t (id int8 PRIMARY KEY, p int8 REFERENCES other.p (id), m other.mood);
      CREATE INDEX t_m_idx ON other.t (m);`);
    const [row] = await sql`SELECT electric.__table_ddl('other.t') AS ddl`;
    assert.equal(
      row.ddl,
      "CREATE TABLE other.t (\n    id bigint NOT NULL,\n    p bigint,\n    m other.mood,\n" +
        "    CONSTRAINT t_pkey PRIMARY KEY (id),\n" +
        "    CONSTRAINT t_p_fkey FOREIGN KEY (p) REFERENCES other.p(id)\n);\n\n" +
        "CREATE INDEX t_m_idx ON other.t USING btree (m);",
    );
  });
});

describe("DDL run directly (event-trigger guard)", () => {
  test("ADD COLUMN, one statement per column", async () => {
    assert.deepEqual(await capture("ALTER TABLE items ADD COLUMN extra int8 NOT NULL"), [
      "ALTER TABLE items ADD COLUMN extra bigint NOT NULL;",
    ]);
    assert.deepEqual(
      await capture("ALTER TABLE public.items ADD COLUMN a text, ADD COLUMN b timestamptz"),
      [
        "ALTER TABLE items ADD COLUMN a text;",
        "ALTER TABLE items ADD COLUMN b timestamp with time zone;",
      ],
    );
  });

  test("CREATE INDEX, named and unnamed", async () => {
    assert.deepEqual(await capture("CREATE INDEX items_extra_idx ON public.items (extra)"), [
      "CREATE INDEX items_extra_idx ON items USING btree (extra);",
    ]);
    assert.deepEqual(await capture("CREATE UNIQUE INDEX ON items (a, b DESC) WHERE a <> ''"), [
      "CREATE UNIQUE INDEX items_a_b_idx ON items USING btree (a, b DESC) WHERE (a <> ''::text);",
    ]);
  });

  test("DROP INDEX", async () => {
    assert.deepEqual(await capture("DROP INDEX items_extra_idx"), [
      "DROP INDEX items_extra_idx;",
    ]);
    assert.deepEqual(await capture('DROP INDEX public."Items Mixed"'), [
      'DROP INDEX "Items Mixed";',
    ]);
  });

  test("ALTER TYPE … ADD VALUE is not a captured form (none in 0.12)", async () => {
    assert.deepEqual(await capture("ALTER TYPE colour ADD VALUE 'blue'"), []);
  });
});

describe("what clients receive", () => {
  test("served text per dialect, and the model's names", async () => {
    const rows = await sql`
      SELECT v.version, min(d.txid::text)::int8 AS txid, array_agg(d.query ORDER BY d.id) AS statements
        FROM electric.ddl_commands d JOIN electric.migration_versions v USING (txid, txts)
       GROUP BY v.version ORDER BY min(d.id)`;
    let model: SchemaModel = EMPTY_SCHEMA;
    const postgresql: string[] = [];
    const sqlite: string[] = [];
    for (const row of rows) {
      const built = await buildEntry(
        model,
        { version: row.version, txid: BigInt(row.txid), statements: row.statements },
        () => 1,
      );
      assert.ok(built.ok);
      model = built.entry.model;
      postgresql.push(migrationSqlFile(built.entry.ops.postgresql));
      sqlite.push(migrationSqlFile(built.entry.ops.sqlite));
      if (row.statements.includes(ITEMS_TABLE)) {
        const table = built.entry.ops.postgresql.at(-1)!.table!;
        assert.equal(table.name, "items");
        assert.deepEqual(
          table.columns.filter((c) => ["c", "m", "s"].includes(c.name)).map((c) => c.pgType.name),
          ["public.colour", "other.mood", "public.size"],
        );
        assert.deepEqual(table.fks.map((fk) => fk.pkTable), ["parents", "parents"]);
        const enums = built.entry.ops.postgresql.slice(0, 3).map((op) => op.stmts[0].sql);
        assert.deepEqual(enums, [
          "CREATE TYPE colour AS ENUM ('red', 'green')",
          "CREATE TYPE other.mood AS ENUM ('ok', 'sad')",
          "CREATE TYPE size AS ENUM ('small', 'large')",
        ]);
        assert.deepEqual(
          built.entry.ops.sqlite.slice(0, 3).map((op) => [op.stmts, op.enumType?.name]),
          [[[], "colour"], [[], "mood"], [[], "size"]],
        );
      }
    }
    const items = postgresql[1];
    assert.equal(
      items,
      "CREATE TYPE colour AS ENUM ('red', 'green');\n\n" +
        "CREATE TYPE other.mood AS ENUM ('ok', 'sad');\n\n" +
        "CREATE TYPE size AS ENUM ('small', 'large');\n\n" +
        ITEMS_TABLE,
    );
    assert.equal(
      sqlite[1],
      [
        'CREATE TABLE "items" (',
        '  "id" TEXT NOT NULL,',
        '  "content" TEXT NOT NULL,',
        '  "c" TEXT NOT NULL,',
        '  "m" TEXT,',
        '  "s" TEXT,',
        '  "c2" TEXT,',
        '  "parent_id" INTEGER NOT NULL,',
        '  "a_parent" INTEGER,',
        '  "Mixed Case" TEXT,',
        '  "n" INTEGER,',
        '  CONSTRAINT "items_a_parent_fkey" FOREIGN KEY ("a_parent") REFERENCES "parents" ("id") ON UPDATE RESTRICT,',
        '  CONSTRAINT "items_parent_id_fkey" FOREIGN KEY ("parent_id") REFERENCES "parents" ("id") ON DELETE CASCADE,',
        '  CONSTRAINT "items_pkey" PRIMARY KEY ("id")',
        ");",
        "",
        'CREATE INDEX "Items Mixed" ON "items" ("Mixed Case" ASC, "n" ASC);',
        "",
        'CREATE UNIQUE INDEX "items_lower" ON "items" (lower(CAST("content" AS TEXT)) ASC);',
        "",
        'CREATE INDEX "items_n_idx" ON "items" ("n" DESC) WHERE "n" > 0;',
      ].join("\n"),
    );
    const tail = (n: number) => postgresql.slice(-n);
    assert.deepEqual(tail(6), [
      "ALTER TABLE items ADD COLUMN extra bigint NOT NULL;",
      "ALTER TABLE items ADD COLUMN a text;\n\n" +
      "ALTER TABLE items ADD COLUMN b timestamp with time zone;",
      "CREATE INDEX items_extra_idx ON items USING btree (extra);",
      "CREATE UNIQUE INDEX items_a_b_idx ON items USING btree (a, b DESC) WHERE (a <> ''::text);",
      "", // DROP INDEX does not reach clients
      "",
    ]);
    assert.deepEqual(sqlite.slice(-6), [
      'ALTER TABLE "items" ADD COLUMN "extra" INTEGER NOT NULL;',
      'ALTER TABLE "items" ADD COLUMN "a" TEXT;\n\nALTER TABLE "items" ADD COLUMN "b" TEXT;',
      'CREATE INDEX "items_extra_idx" ON "items" ("extra" ASC);',
      `CREATE UNIQUE INDEX "items_a_b_idx" ON "items" ("a" ASC, "b" DESC) WHERE "a" <> '';`,
      "",
      "",
    ]);
    const itemsModel = model.tables.find((t) => t.name === "items")!;
    assert.deepEqual(itemsModel.indexes.map((i) => i.name), [
      "items_lower",
      "items_n_idx",
      "items_a_b_idx",
    ]);
  });
});

describe("through the migrations proxy", () => {
  let h: ProxyHarness;
  before(async () => {
    h = await startProxy({ dbUrl: db.url });
  });
  after(async () => {
    await h.stop();
  });

  test("ENABLE ELECTRIC captures the same text; ADD COLUMN and CREATE INDEX the client's", async () => {
    const client = h.client();
    const from = await lastId();
    await client.unsafe("CREATE TYPE flavour AS ENUM ('sweet', 'sour')");
    await client.unsafe("CREATE TABLE proxied (id int8 PRIMARY KEY, f flavour NOT NULL)");
    await client.unsafe("ALTER TABLE proxied ENABLE ELECTRIC");
    await client.unsafe("ALTER TABLE proxied ADD COLUMN note text");
    await client.unsafe("CREATE INDEX proxied_note_idx ON proxied (note)");
    await client.unsafe("DROP INDEX proxied_note_idx");
    assert.deepEqual(await capturedSince(from), [
      "CREATE TYPE flavour AS ENUM ('sweet', 'sour');",
      "CREATE TABLE proxied (\n    id bigint NOT NULL,\n    f flavour NOT NULL,\n" +
      "    CONSTRAINT proxied_pkey PRIMARY KEY (id)\n);",
      "ALTER TABLE proxied ADD COLUMN note text",
      "CREATE INDEX proxied_note_idx ON proxied (note)",
      "DROP INDEX proxied_note_idx",
    ]);
  });
});

describe("bootstrap", () => {
  test("an installation with the earlier generator gets this one at its next start", async () => {
    await sql.unsafe(`
      CREATE OR REPLACE FUNCTION electric.__table_ddl(rel regclass) RETURNS text
      LANGUAGE sql STABLE SET search_path = pg_catalog AS $$ SELECT 'old'::text $$;`);
    const [before] = await sql`SELECT electric.__table_ddl('public.parents') AS ddl`;
    assert.equal(before.ddl, "old");
    await bootstrapElectricSchema(sql, { ddlGuard: true });
    const [after] = await sql`SELECT electric.__table_ddl('public.parents') AS ddl`;
    assert.match(after.ddl, /^CREATE TABLE parents \(\n/);
  });
});
