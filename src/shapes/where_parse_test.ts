import { test } from "node:test";
import assert from "node:assert/strict";
import type { SchemaModel, TableModel } from "../schema/mod.ts";
import { parseWhere } from "./where_parse.ts";
import { evaluateWhere } from "./where_eval.ts";
import { whereToSql } from "./where_sql.ts";

const TABLE: TableModel = {
  schema: "public",
  name: "items",
  oid: 0,
  columns: [
    ["id", "uuid"],
    ["n", "int4"],
    ["title", "text"],
    ["flag", "bool"],
    ["data", "jsonb"],
    ["c", "public.colour"],
    ["at", "timestamptz"],
  ].map(([name, type]) => ({ name, type: { name: type, array: [], size: [] }, notNull: false })),
  primaryKey: ["id"],
  primaryKeyName: "items_pkey",
  foreignKeys: [],
  indexes: [],
};
const MODEL: SchemaModel = {
  version: "1",
  tables: [TABLE],
  enums: [{ schema: "public", name: "colour", values: ["red", "green"] }],
};

const REFUSED: [string, RegExp][] = [
  ["n = 1", /^unknown reference n - did you mean `this\.n`\?$/],
  ["this.missing = 1", /^unknown reference this\.missing$/],
  ["other.n = 1", /^unknown reference other\.n$/],
  ["this.n = 1; DELETE FROM items", /single expression/],
  ["this.n = 1 ORDER BY 1", /single expression/],
  ["this.n = 1 GROUP BY 1", /single expression/],
  ["this.n = 1 LIMIT 1", /single expression/],
  ["true UNION SELECT 1", /single expression/],
  ["this.n IN (SELECT 1)", /Subqueries/],
  ["EXISTS (SELECT 1)", /Subqueries/],
  ["this.at < now()", /now\(\) is not supported/],
  ["this.at < CURRENT_TIMESTAMP", /not supported/],
  ["count(*) > 1", /not supported/],
  ["random() > 0.5", /not supported/],
  ["this.n = $1", /Parameters/],
  ["this.n", /expects type bool, got int4/],
  ["this.title = 1", /Invalid input syntax|not supported/],
  ["this.n = 'abc'", /Invalid input syntax for type int4: "abc"/],
  ["this.n = '1.5'", /Invalid input syntax for type int4/],
  ["this.c = 'blue'", /Invalid input syntax for type public\.colour: "blue"/],
  ["this.c < 'red'", /Operator < is not supported for type public\.colour/],
  ["this.flag > false", /Operator > is not supported for type bool/],
  ["this.data = '{}'", /not supported/],
  ["this.at > 'today'", /Invalid input syntax for type timestamptz/],
  ["this.n::int4[] IS NULL", /array/],
  ["this.title::varchar(3) = 'a'", /Type modifiers/],
  ["this.title ~ 'a'", /Operator ~ is not supported/],
  ["this.title SIMILAR TO 'a'", /not supported/],
  ["this.n + 1", /expects type bool/],
  ["'1' + '2' = 3", /not unique/],
  ["this.n / 1.5 > 1", /Division of numeric/],
  ["this.title || this.n = 'a'", /only supported on text/],
  ["lower(this.n) = 'a'", /only supported on text/],
  ["this.title LIKE 'a' ESCAPE 'ab'", /Invalid escape string/],
  ["CASE WHEN true THEN true END", /not supported/],
  ["this.n = ", /Invalid where clause/],
  ["this.title::int4 = 1", /Cannot cast type text to int4/],
];

for (const [clause, message] of REFUSED) {
  test(`refuses ${clause}`, async () => {
    const result = await parseWhere(clause, TABLE, MODEL);
    assert.equal(result.ok, false);
    if (!result.ok) assert.match(result.message, message);
  });
}

const EVALUATED: [string, Record<string, string | null>, boolean][] = [
  ["this.n > 1", { n: "2" }, true],
  ["this.n > 1", { n: null }, false],
  ["this.n > 1 OR this.title = 'x'", { n: null, title: "x" }, true],
  ["NOT (this.n > 1)", { n: null }, false],
  ["this.n / 0 = 1 OR true", { n: "1" }, false],
  ["this.title LIKE 'a\\%'", { title: "a%" }, true],
  ["this.title LIKE 'a\\'", { title: "a" }, false],
  ["this.title ILIKE 'ÄB%'", { title: "äbc" }, false],
  ["this.title ILIKE 'AB%'", { title: "abc" }, true],
  ["this.at > '2024-01-01'", { at: "2024-01-01 00:00:00.000001+00" }, true],
  ["this.at = '2024-01-01 02:00+02'", { at: "2024-01-01 00:00:00+00" }, true],
  ["this.c = 'red'", { c: "red" }, true],
  ["this.flag", { flag: "t" }, true],
  ["this.flag IS NOT TRUE", { flag: null }, true],
  ["this.id = '{A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11}'", {
    id: "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
  }, true],
];

for (const [clause, record, expected] of EVALUATED) {
  test(`evaluates ${clause} on ${JSON.stringify(record)}`, async () => {
    const result = await parseWhere(clause, TABLE, MODEL);
    assert.ok(result.ok, result.ok ? "" : result.message);
    if (result.ok) assert.equal(evaluateWhere(result.expr, record), expected);
  });
}

test("rendered SQL carries constants only as parameters", async () => {
  const result = await parseWhere(
    "this.title = 'x''); DROP TABLE items; --' OR this.n IN (1, 2)",
    TABLE,
    MODEL,
  );
  assert.ok(result.ok);
  if (!result.ok) return;
  const params: unknown[] = [];
  const sql = whereToSql(result.expr, "this", params);
  assert.equal(
    sql,
    `((("this"."title") COLLATE "C" = ($1::text::text)) OR ((("this"."n") = ($2::text::int4)) OR (("this"."n") = ($3::text::int4))))`,
  );
  assert.deepEqual(params, ["x'); DROP TABLE items; --", "1", "2"]);
});

test("clauses nested thousands deep or longer than the limit are refused, not a stack overflow", async () => {
  const deep = [
    `${"(this.n = 1 AND ".repeat(5000)}true${")".repeat(5000)}`,
    `${"NOT ".repeat(5000)}this.n = 1`,
    `this.n = ${"- ".repeat(5000)}this.n`,
    `this.n = ${"(1 + ".repeat(3000)}1${")".repeat(3000)}`,
  ];
  for (const clause of deep) {
    const result = await parseWhere(clause, TABLE, MODEL);
    assert.equal(result.ok, false, clause.slice(0, 40));
    if (!result.ok) assert.match(result.message, /^Invalid where clause/);
  }
  const long = await parseWhere(
    `this.n = 1 OR ${"this.n = 2 OR ".repeat(6000)} false`,
    TABLE,
    MODEL,
  );
  assert.equal(long.ok, false);
  if (!long.ok) assert.match(long.message, /longer than/);
  // Ordinary nesting is still fine, and redundant parentheses are no nesting at all.
  for (
    const clause of [
      `${"(this.n = 1 AND ".repeat(20)}true${")".repeat(20)}`,
      `${"(".repeat(5000)}this.n = 1${")".repeat(5000)}`,
    ]
  ) {
    assert.equal((await parseWhere(clause, TABLE, MODEL)).ok, true, clause.slice(0, 40));
  }
});
