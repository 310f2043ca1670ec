/**
 * The where-clause evaluator against Postgres itself: for every clause and every row, the
 * in-process result must equal what Postgres computes for the SQL `whereToSql` renders (an
 * error in Postgres must be "not in shape" in-process), and, unless a case says otherwise,
 * what Postgres computes for the client's clause text as written.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import postgres from "postgres";
import { SESSION_PARAMETERS } from "../../src/storage/mod.ts";
import type { SchemaModel, TableModel } from "../../src/schema/mod.ts";
import { evaluateWhere, parseWhere, whereToSql } from "../../src/shapes/mod.ts";
import { freshDatabase } from "../helpers/pg_cluster.ts";

type Db = Awaited<ReturnType<typeof freshDatabase>>;
let db: Db;
let sql: postgres.Sql;
let rows: Record<string, string | null>[] = [];

const COLUMNS: [string, string][] = [
  ["id", "int4"],
  ["i2", "int2"],
  ["i4", "int4"],
  ["i8", "int8"],
  ["f4", "float4"],
  ["f8", "float8"],
  ["b", "bool"],
  ["t", "text"],
  ["v", "varchar"],
  ["u", "uuid"],
  ["d", "date"],
  ["tm", "time"],
  ["ts", "timestamp"],
  ["tz", "timestamptz"],
  ["c", "public.colour"],
  ["j", "jsonb"],
];

const TABLE: TableModel = {
  schema: "public",
  name: "t",
  oid: 0,
  columns: COLUMNS.map(([name, type]) => ({
    name,
    type: { name: type, array: [], size: [] },
    notNull: name === "id",
  })),
  primaryKey: ["id"],
  primaryKeyName: "t_pkey",
  foreignKeys: [],
  indexes: [],
};

const MODEL: SchemaModel = {
  version: "1",
  tables: [TABLE],
  enums: [{ schema: "public", name: "colour", values: ["red", "green", "blue"] }],
};

const ROWS = `
  (1, 1, 10, 100, 1.5, 2.25, true, 'hello', 'World', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
   '2024-01-15', '10:30:00', '2024-01-15 10:30:00', '2024-01-15 10:30:00+00', 'red', '{"a":1}'),
  (2, -32768, 2147483647, 9223372036854775807, 0.1, 0.1, false, E'Hello%_\\\\', 'ÄÖü straße',
   'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A12', '1999-12-31', '23:59:59.999999',
   '2000-01-01 00:00:00', '1999-12-31 23:00:00-05', 'green', NULL),
  (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (4, 0, -1, -9223372036854775808, 'NaN', 'Infinity', true, '', 'abc',
   '00000000-0000-0000-0000-000000000000', 'infinity', '00:00:00', '-infinity', 'infinity',
   'blue', '[]'),
  (5, 32767, 0, 0, '-Infinity', '-0', false, 'a_b%c', 'ABC', 'ffffffff-ffff-ffff-ffff-ffffffffffff',
   '0044-03-15 BC', '24:00:00', '0044-03-15 12:00:00 BC', '2024-06-30 23:59:59.5+02', 'red', 'null'),
  (6, 7, 7, 7, 3.4028235e38, 1e308, NULL, 'emoji 😀 x', '😀', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
   '2024-02-29', '12:00', '2024-02-29 12:00', '2024-02-29 12:00+00', NULL, '1'),
  (7, -7, -2147483648, 3, 1, -1.5, true, 'HELLO', 'hello', NULL, '2000-01-01', '00:00:00.000001',
   '2000-01-01 00:00:00.000001', '2000-01-01 00:00:00+00', 'green', '{}'),
  (8, 2, 3, 4, 0.30000001, 0.30000000000000004, false, 'Straße', 'STRASSE', NULL, '1970-01-01',
   '13:00', '1970-01-01 00:00:00', '1970-01-01 00:00:00+00', 'blue', NULL)`;

before(async () => {
  db = await freshDatabase();
  sql = postgres(db.url, { max: 1, onnotice: () => {}, connection: { ...SESSION_PARAMETERS } });
  await sql.unsafe(`
    CREATE TYPE colour AS ENUM ('red', 'green', 'blue');
    CREATE TABLE t (${
    COLUMNS.map(([n, t]) => `${n} ${t === "public.colour" ? "colour" : t}`)
      .join(", ")
  }, PRIMARY KEY (id));
    INSERT INTO t VALUES ${ROWS};`);
  const select = COLUMNS.map(([n]) => `${n}::text AS ${n}`).join(", ");
  rows = (await sql.unsafe(`SELECT ${select} FROM t ORDER BY id`)).map((r) => ({ ...r }));
});

after(async () => {
  await sql.end();
  await db.drop();
});

/** `raw: false`: Postgres on the text as written differs by design (collation, ...). */
interface Case {
  clause: string;
  raw?: boolean;
}

const CASES: (string | Case)[] = [
  // integers, mixed widths, numeric constants, overflow
  "this.i4 = 10",
  "this.i4 <> 10",
  "this.i2 < this.i4",
  "this.i8 >= 100",
  "this.i8 > 9223372036854775806",
  "this.i4 = 2147483647",
  "this.i4 > 2147483648",
  "this.i4 = 1.0",
  "this.i4 > 1.5",
  "this.i4 < -0.5",
  "this.i2 = '1'",
  "this.i4 + 1 > 10",
  "this.i4 + 1 < 0",
  "this.i2 + this.i2 > 0",
  "this.i2 * 2 > 0",
  "this.i4 * this.i4 > 100",
  "this.i8 * 2 > 0",
  "this.i8 - 1 < 0",
  "this.i4 / 3 = 3",
  "this.i4 / -2 = -5",
  "-this.i4 = -10",
  "-this.i2 > 0",
  "this.i4 % 3 = 1",
  "this.i4 % -3 = -1",
  "this.i4 / this.i2 > 0",
  "this.i4 + 1.5 > 11",
  "this.i4 * 0.1 = 1",
  "this.i4 - 0.25 < 10",
  "+this.i4 = 10",
  "this.i4 IN (10, 0, -1)",
  "this.i4 NOT IN (10, 0)",
  "this.i4 NOT IN (10, NULL)",
  "this.i4 IN (10, NULL)",
  "this.i4 BETWEEN 0 AND 10",
  "this.i4 NOT BETWEEN 0 AND 10",
  "this.i8 = this.i4",
  "this.i4 IS DISTINCT FROM 10",
  "this.i4 IS NOT DISTINCT FROM NULL",
  "this.i4 IS DISTINCT FROM this.i2",
  // floats
  "this.f4 = 1.5",
  "this.f4 = 0.1",
  "this.f8 = 0.1",
  "this.f4 > 0.1",
  "this.f4 = this.f8",
  "this.f4 > 1",
  "this.f8 > 1e307",
  "this.f8 < 0",
  "this.f8 = 0",
  "this.f8 = 'Infinity'",
  "this.f4 = 'NaN'",
  "this.f4 > 1e38",
  "this.f8 + this.f4 > 3",
  "this.f8 * 2 > 1",
  "this.f8 * 1e308 > 0",
  "this.f8 / 2 < 1.2",
  "this.f8 / 0 > 1",
  "this.f4 * this.f4 > 1",
  "this.f4 + this.f4 = 3",
  "this.f4 + this.i4 > 10",
  "-this.f8 < 0",
  "this.f8 = 0.30000000000000004",
  "this.f4 = 0.30000001",
  "this.f4 < this.i4",
  "this.f8 IN (0.1, 2.25)",
  "this.i8 = 9.223372036854775807e18",
  "this.i8 < 1e19",
  // booleans
  "this.b",
  "NOT this.b",
  "this.b = true",
  "this.b <> 't'",
  "this.b = 'yes'",
  "this.b IS TRUE",
  "this.b IS NOT TRUE",
  "this.b IS FALSE",
  "this.b IS NOT FALSE",
  "this.b IS NULL",
  "this.b AND this.i4 > 0",
  "this.b OR this.i4 > 0",
  "NOT (this.b OR this.i4 > 5)",
  "this.b IS DISTINCT FROM false",
  "true",
  "'t'",
  // text, LIKE, ILIKE, lower, upper, concat
  "this.t = 'hello'",
  "this.t <> 'hello'",
  { clause: "this.t < 'hello'", raw: false },
  { clause: "this.t >= 'a'", raw: false },
  { clause: "this.t > this.v", raw: false },
  { clause: "this.v < 'Z'", raw: false },
  "this.v = 'ABC'",
  "this.t = this.v",
  "this.t IN ('hello', 'HELLO', '')",
  "this.t LIKE 'hel%'",
  "this.t LIKE '%l_o'",
  "this.t LIKE 'H%'",
  "this.t NOT LIKE 'h%'",
  "this.t LIKE '%\\%%'",
  "this.t LIKE '%\\_%'",
  "this.t LIKE 'a#_b%' ESCAPE '#'",
  "this.t LIKE 'a_b#%c' ESCAPE '#'",
  "this.t LIKE 'hel%' ESCAPE ''",
  "this.t LIKE '%😀%'",
  "this.t LIKE 'emoji _ x'",
  "this.t LIKE '%\\'",
  "this.t ILIKE 'HELLO'",
  "this.t ILIKE 'h%'",
  "this.t NOT ILIKE '%LL%'",
  { clause: "this.v ILIKE '%STRASSE%'", raw: false },
  { clause: "this.v ILIKE 'äöü%'", raw: false },
  "this.t ~~ 'hel%'",
  "this.t !~~* 'HEL%'",
  { clause: "lower(this.t) = 'hello'", raw: false },
  { clause: "upper(this.v) = 'WORLD'", raw: false },
  { clause: "lower(this.v) = 'äöü straße'", raw: false },
  { clause: "upper(this.t) = 'STRASSE'", raw: false },
  "this.t || 'x' = 'hellox'",
  "this.t || this.v = 'helloWorld'",
  "'a' || 'b' = 'ab'",
  "this.t || NULL IS NULL",
  "this.t IS NOT NULL",
  "this.t = ''",
  "this.t LIKE this.v",
  "this.t LIKE '%' || 'l' || '%'",
  "length(this.t) > 1",
  // uuid
  "this.u = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'",
  "this.u = 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A12'",
  "this.u = '{a0eebc999c0b4ef8bb6d6bb9bd380a11}'",
  "this.u > 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'",
  "this.u < '10000000-0000-0000-0000-000000000000'",
  "this.u IN ('00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff')",
  "this.u::text LIKE 'a0ee%'",
  // dates and times
  "this.d = '2024-01-15'",
  "this.d > '2000-01-01'",
  "this.d < '2000-01-01'",
  "this.d = 'infinity'",
  "this.d > '0044-03-14 BC'",
  "this.d = '2024-02-29'::date",
  "this.d <= this.ts",
  "this.d < '2024-01-15 10:00'::timestamp",
  "this.tm > '12:00'",
  "this.tm = '24:00:00'",
  "this.tm < '00:00:00.000002'",
  "this.tm >= '23:59:59.999999'",
  "this.ts > '2000-01-01'",
  "this.ts = '2000-01-01 00:00:00.000001'",
  "this.ts = '2024-01-15T10:30:00'",
  "this.ts < '1000-01-01'",
  "this.ts > '-infinity'",
  "this.ts::date = '2024-02-29'",
  "this.tz > '2024-01-01T00:00:00Z'",
  "this.tz = '2000-01-01 04:00:00+00'",
  "this.tz = '1999-12-31 23:00:00-05'",
  "this.tz = '2024-06-30 21:59:59.5Z'",
  "this.tz < '2000-01-01 00:00:00+01'",
  "this.tz = 'infinity'",
  "this.tz IN ('1970-01-01 00:00:00+00', '2024-02-29 12:00:00+00')",
  // enums
  "this.c = 'red'",
  "this.c <> 'green'",
  "this.c IN ('red', 'blue')",
  "this.c IS NULL",
  "this.c = 'red'::colour",
  "this.c::text = 'red'",
  // jsonb: only NULL tests
  "this.j IS NULL",
  "this.j IS NOT NULL",
  // casts
  "this.i2::int8 = 1",
  "this.i8::int4 = 100",
  "this.i4::int2 = 10",
  "this.f8::int4 = 2",
  "this.f4::int4 = 2",
  "this.f8::float4 = 0.1",
  "this.i4::float8 / 4 = 2.5",
  "this.i4::text = '10'",
  "this.b::text = 'true'",
  "(this.i4 * 1.5)::int4 = 15",
  "CAST(this.i4 AS bigint) > 5",
  "this.i4 = '10'::int8",
  // NULL handling
  "this.i4 = NULL",
  "NULL",
  "this.i4 > 0 OR NULL",
  "this.i4 > 0 AND NULL",
  "NOT (this.i4 = NULL)",
  "(this.i4 > 5) IS TRUE",
  "(this.i4 > 5) IS NOT FALSE",
  "(this.i4 > 5) IS UNKNOWN",
];

function caseOf(c: string | Case): Case {
  return typeof c === "string" ? { clause: c } : c;
}

async function postgresResult(where: string, params: unknown[], id: string): Promise<boolean> {
  try {
    const [row] = await sql.unsafe(
      `SELECT (${where}) IS TRUE AS r FROM t AS this WHERE id = ${Number(id)}`,
      params as never[],
    );
    return row.r as boolean;
  } catch {
    return false; // an error: not in shape
  }
}

describe("where clauses evaluate like Postgres", () => {
  for (const entry of CASES) {
    const c = caseOf(entry);
    test(c.clause, async () => {
      const parsed = await parseWhere(c.clause, TABLE, MODEL);
      if (!parsed.ok) {
        // Refusals are checked in the unit tests; here a refusal is only allowed when
        // Postgres fails on the clause too, or the case lists a function outside the subset.
        let fails = false;
        try {
          await sql.unsafe(`SELECT (${c.clause}) IS TRUE FROM t AS this`);
        } catch {
          fails = true;
        }
        assert.ok(fails || /not supported/.test(parsed.message), parsed.message);
        return;
      }
      const params: unknown[] = [];
      const rendered = whereToSql(parsed.expr, "this", params);
      for (const row of rows) {
        const ours = evaluateWhere(parsed.expr, row);
        const theirs = await postgresResult(rendered, params, row.id!);
        assert.equal(ours, theirs, `row ${row.id}: rendered ${rendered} ${JSON.stringify(params)}`);
        if (c.raw !== false) {
          const raw = await postgresResult(c.clause, [], row.id!);
          assert.equal(ours, raw, `row ${row.id}: clause as written`);
        }
      }
    });
  }
});
