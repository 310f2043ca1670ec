/**
 * Electrification and DDL capture on a real Postgres: `CALL electric.electrify(...)`, its
 * validation errors, migration versions, and the event-trigger guard for DDL run directly.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import postgres from "postgres";
import { bootstrapElectricSchema, ensurePublication } from "../../src/storage/mod.ts";
import { freshDatabase } from "../helpers/pg_cluster.ts";

type Db = Awaited<ReturnType<typeof freshDatabase>>;
let db: Db;
let sql: postgres.Sql;
const notices: string[] = [];

before(async () => {
  db = await freshDatabase();
  sql = postgres(db.url, { onnotice: (n) => notices.push(n.message), max: 2 });
  await bootstrapElectricSchema(sql, { ddlGuard: true });
  await ensurePublication(sql);
});

after(async () => {
  await sql.end();
  await db.drop();
});

async function errorOf(query: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await query;
  } catch (error) {
    const e = error as { code: string; message: string };
    return { code: e.code, message: e.message };
  }
  assert.fail("expected the statement to fail");
}

async function captured(): Promise<string[]> {
  const rows = await sql`SELECT query FROM electric.ddl_commands ORDER BY id`;
  return rows.map((r) => r.query);
}

describe("electrify", () => {
  test("a valid table is electrified with capture, shadow state and publication", async () => {
    await sql.unsafe(`
      CREATE TYPE colour AS ENUM ('red', 'green');
      CREATE TABLE items (id uuid PRIMARY KEY, content text NOT NULL, n int4, c colour);
      CREATE INDEX items_n_idx ON items (n);
      CALL electric.electrify('items');`);
    const [row] =
      await sql`SELECT schema_name, table_name, oid = 'public.items'::regclass AS same_oid
                              FROM electric.electrified`;
    assert.deepEqual({ ...row }, { schema_name: "public", table_name: "items", same_oid: true });
    const [identity] =
      await sql`SELECT relreplident FROM pg_class WHERE oid = 'public.items'::regclass`;
    assert.equal(identity.relreplident, "f");
    const shadow = await sql`SELECT to_regclass('electric.shadow__public__items') IS NOT NULL AS s,
                                    to_regclass('electric.tombstone__public__items') IS NOT NULL AS t`;
    assert.deepEqual({ ...shadow[0] }, { s: true, t: true });
    const members = await sql`SELECT schemaname || '.' || tablename AS t FROM pg_publication_tables
                               WHERE pubname = 'electric_publication'`;
    const names = members.map((m) => m.t);
    assert.ok(names.includes("public.items"));
    assert.ok(names.includes("electric.shadow__public__items"));
    const ddl = await captured();
    assert.equal(ddl.length, 2);
    assert.equal(ddl[0], "CREATE TYPE colour AS ENUM ('red', 'green');");
    assert.equal(
      ddl[1],
      "CREATE TABLE items (\n    id uuid NOT NULL,\n    content text NOT NULL,\n    n integer,\n" +
        "    c colour,\n    CONSTRAINT items_pkey PRIMARY KEY (id)\n);\n\n" +
        "CREATE INDEX items_n_idx ON items USING btree (n);",
    );
    const versions = await sql`SELECT version, priority FROM electric.migration_versions`;
    assert.equal(versions.length, 1);
    assert.match(versions[0].version, /^\d{14}_\d{3}$/);
    assert.ok(notices.some((n) => n === "Electrify table public.items"));
  });

  test("electrifying again only raises a notice", async () => {
    const before = (await captured()).length;
    await sql`CALL electric.electrify('public.items')`;
    assert.ok(notices.includes("table public.items is already electrified"));
    assert.equal((await captured()).length, before);
  });

  test("names resolve as SQL: schema-qualified, two arguments, quoted mixed case", async () => {
    await sql.unsafe(`CREATE TABLE "MixedCase" ("Id" int8 PRIMARY KEY, "userId" text);
                      CREATE TABLE two_args (id int8 PRIMARY KEY);`);
    await sql`CALL electric.electrify('public."MixedCase"')`;
    await sql`CALL electric.electrify('public', 'two_args')`;
    const rows = await sql`SELECT table_name FROM electric.electrified ORDER BY id`;
    assert.deepEqual(rows.map((r) => r.table_name), ["items", "MixedCase", "two_args"]);
  });

  test("an unknown table is Postgres's usual error", async () => {
    const e = await errorOf(sql`CALL electric.electrify('nope')`);
    assert.equal(e.code, "42P01");
  });

  test("validation failures name every offending column", async () => {
    await sql.unsafe(`
      CREATE SCHEMA other;
      CREATE TABLE other.t (id int8 PRIMARY KEY);
      CREATE TABLE no_pk (id int8);
      CREATE TYPE shape AS ENUM ('1circle', '_square', 'hello world', 'ok');
      CREATE TABLE bad_types (id int8 PRIMARY KEY, a character(1), b character(11), c varchar(11), d timetz, e shape, f int4[]);
      CREATE TABLE with_defaults (id int8 PRIMARY KEY, a text DEFAULT 'x', b int8 GENERATED ALWAYS AS IDENTITY);
      CREATE TABLE with_checks (id int8 PRIMARY KEY, a text UNIQUE, b int4 CHECK (b > 0));
      CREATE TABLE plain_parent (id int8 PRIMARY KEY);
      CREATE TABLE orphan_fk (id int8 PRIMARY KEY, p int8 REFERENCES plain_parent (id));
      CREATE VIEW a_view AS SELECT 1 AS x;`);
    assert.match(
      (await errorOf(sql`CALL electric.electrify('no_pk')`)).message,
      /Cannot electrify public\.no_pk because it doesn't have a PRIMARY KEY\./,
    );
    assert.match(
      (await errorOf(sql`CALL electric.electrify('other.t')`)).message,
      /only tables in the default `public` schema can be electrified/,
    );
    const types = (await errorOf(sql`CALL electric.electrify('bad_types')`)).message;
    assert.match(
      types,
      /types not supported by Electric:\n\n {2}a character\(1\)\n {2}b character\(11\)\n {2}c character varying\(11\)\n {2}d time with time zone\n {2}e public\.shape \(enum type public\.shape contains unsupported values '1circle', '_square', 'hello world'\)\n {2}f integer\[\]/,
    );
    assert.match(
      (await errorOf(sql`CALL electric.electrify('with_defaults')`)).message,
      /DEFAULT expressions[^]*\n {2}a\n {2}b$/,
    );
    assert.match(
      (await errorOf(sql`CALL electric.electrify('with_checks')`)).message,
      /CHECK, UNIQUE, EXCLUDE[^]*\n {2}b\n {2}a$/,
    );
    assert.match(
      (await errorOf(sql`CALL electric.electrify('orphan_fk')`)).message,
      /reference tables that are not electrified:\n\n {2}orphan_fk_p_fkey references public\.plain_parent/,
    );
    assert.match(
      (await errorOf(sql`CALL electric.electrify('a_view')`)).message,
      /public\.a_view is not an ordinary table/,
    );
    const rows =
      await sql`SELECT count(*)::int AS n FROM electric.electrified WHERE table_name IN ('no_pk', 'bad_types', 'with_defaults', 'with_checks', 'orphan_fk')`;
    assert.equal(rows[0].n, 0, "nothing was electrified");
  });

  test("a child referencing an electrified parent is accepted", async () => {
    await sql.unsafe(`CREATE TABLE parents (id int8 PRIMARY KEY);
                      CREATE TABLE children (id int8 PRIMARY KEY, parent_id int8 NOT NULL REFERENCES parents (id) ON DELETE CASCADE);
                      CALL electric.electrify('parents');
                      CALL electric.electrify('children');`);
    const ddl = await captured();
    assert.ok(
      ddl.some((q) =>
        q.includes(
          "    CONSTRAINT children_pkey PRIMARY KEY (id),\n" +
            "    CONSTRAINT children_parent_id_fkey FOREIGN KEY (parent_id) REFERENCES parents(id) ON DELETE CASCADE\n);",
        )
      ),
    );
  });

  test("disabling is refused with EX001", async () => {
    const e = await errorOf(sql`CALL electric.disable('items')`);
    assert.deepEqual(e, { code: "EX001", message: "ELECTRIC DISABLE is currently unsupported" });
  });
});

describe("migration versions", () => {
  test("electric.migration_version names the transaction's migration; reuse fails", async () => {
    await sql.begin(async (tx) => {
      await tx`CALL electric.migration_version('20230504114018')`;
      await tx`CREATE TABLE m (id uuid PRIMARY KEY)`;
      await tx`CALL electric.electrify('m')`;
    });
    const [row] = await sql`SELECT v.version, v.priority FROM electric.migration_versions v
                              JOIN electric.ddl_commands d USING (txid, txts)
                             WHERE d.query LIKE 'CREATE TABLE m %'`;
    assert.deepEqual({ ...row }, { version: "20230504114018", priority: 32767 });
    const e = await errorOf(sql.begin(async (tx) => {
      await tx`CALL electric.migration_version('20230504114018')`;
      await tx`CREATE TABLE m2 (id uuid PRIMARY KEY)`;
      await tx`CALL electric.electrify('m2')`;
    }));
    assert.equal(e.code, "23505");
  });

  test("several tables electrified in one transaction share one version", async () => {
    await sql.begin(async (tx) => {
      await tx.unsafe(
        `CREATE TABLE a1 (id int8 PRIMARY KEY); CREATE TABLE a2 (id int8 PRIMARY KEY);`,
      );
      await tx`CALL electric.electrify('a1')`;
      await tx`CALL electric.electrify('a2')`;
    });
    const rows = await sql`SELECT DISTINCT v.version FROM electric.migration_versions v
                             JOIN electric.ddl_commands d USING (txid, txts)
                            WHERE d.query ~ '^CREATE TABLE a[12] '`;
    assert.equal(rows.length, 1);
  });
});

describe("DDL run directly on electrified tables", () => {
  test("ADD COLUMN is captured and extends the shadow state", async () => {
    await sql`ALTER TABLE items ADD COLUMN extra int8`;
    const ddl = await captured();
    assert.equal(ddl.at(-1), "ALTER TABLE items ADD COLUMN extra bigint;");
    const cols =
      await sql`SELECT attname FROM pg_attribute WHERE attrelid = 'electric.shadow__public__items'::regclass
                            AND attname IN ('_tag_extra', '__reordered_extra')`;
    assert.equal(cols.length, 2);
  });

  test("CREATE INDEX is captured", async () => {
    await sql`CREATE INDEX items_content_idx ON items (content)`;
    assert.equal(
      (await captured()).at(-1),
      "CREATE INDEX items_content_idx ON items USING btree (content);",
    );
  });

  test("DROP INDEX of an electrified table's index is captured, of another table's is not", async () => {
    await sql`CREATE INDEX items_n_extra_idx ON items (n)`;
    await sql`CREATE TABLE not_synced (id int4 PRIMARY KEY, v text)`;
    await sql`CREATE INDEX not_synced_v_idx ON not_synced (v)`;
    const before = (await captured()).length;
    await sql`DROP INDEX not_synced_v_idx`;
    assert.equal((await captured()).length, before);
    await sql`DROP INDEX items_n_extra_idx`;
    assert.deepEqual((await captured()).slice(before), ["DROP INDEX items_n_extra_idx;"]);
  });

  test("changes that cannot sync are refused and leave the table unchanged", async () => {
    const before = (await captured()).length;
    const cases: [string, string, RegExp][] = [
      [
        "ALTER TABLE items DROP COLUMN content",
        "EX010",
        /Cannot drop column "content" of electrified table "public"."items"/,
      ],
      [
        "ALTER TABLE items RENAME COLUMN content TO body",
        "EX010",
        /Cannot drop or rename column "content"/,
      ],
      ["ALTER TABLE items ALTER COLUMN n TYPE int8", "EX009", /Cannot change type of column "n"/],
      ["ALTER TABLE items ALTER COLUMN n SET NOT NULL", "EX007", /Cannot alter column "n"/],
      ["ALTER TABLE items ALTER COLUMN n SET DEFAULT 1", "EX007", /Cannot alter column "n"/],
      [
        "ALTER TABLE items ADD COLUMN v varchar(10)",
        "EX005",
        /Cannot electrify column of type "character varying\(10\)"/,
      ],
      [
        "ALTER TABLE items ADD COLUMN d text DEFAULT ''",
        "EX006",
        /Cannot electrify column with DEFAULT clause/,
      ],
      ["ALTER TABLE items ADD COLUMN p int8 REFERENCES parents (id)", "EX011", /FOREIGN KEY/],
      ["ALTER TABLE items ADD CONSTRAINT u UNIQUE (content)", "EX007", /CHECK, UNIQUE/],
      [
        "ALTER TABLE items RENAME TO things",
        "EX002",
        /Cannot rename electrified table "public"."items"/,
      ],
      ["DROP TABLE children", "EX100", /Cannot DROP Electrified table "public"."children"/],
      ["TRUNCATE items", "EX100", /Cannot TRUNCATE electrified table "public"."items"/],
    ];
    for (const [statement, code, message] of cases) {
      const e = await errorOf(sql.unsafe(statement));
      assert.equal(e.code, code, statement);
      assert.match(e.message, message, statement);
    }
    assert.equal((await captured()).length, before, "nothing captured");
    const cols =
      await sql`SELECT count(*)::int AS n FROM pg_attribute WHERE attrelid = 'public.items'::regclass AND attnum > 0 AND NOT attisdropped`;
    assert.equal(cols[0].n, 5);
  });

  test("tables that are not electrified are left alone", async () => {
    await sql.unsafe(`CREATE TABLE free (id int8 PRIMARY KEY, a text);
                      ALTER TABLE free DROP COLUMN a;
                      ALTER TABLE free ADD COLUMN b text DEFAULT 'x';
                      DROP TABLE free;`);
  });

  test("the guard can be switched off per session", async () => {
    await sql.begin(async (tx) => {
      await tx`SET LOCAL electric.ddl_guard = off`;
      await tx`ALTER TABLE two_args ADD COLUMN z text DEFAULT 'x'`;
    });
  });
});
