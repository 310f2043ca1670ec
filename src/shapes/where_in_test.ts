import assert from "node:assert/strict";
import { test } from "node:test";
import { evaluate } from "./where_eval.ts";
import { arrayLiteral, whereToSql } from "./where_sql.ts";
import type { ScalarType, WhereExpr } from "./where_types.ts";

const inList = (domain: ScalarType, values: string[]): WhereExpr => ({
  op: "in",
  type: "bool",
  arg: { op: "column", type: domain, name: "v" },
  values,
  domain,
});

test("in: a set lookup with the domain's equality, NULL for a NULL argument", () => {
  const ints = inList("int4", ["1", "2", "30"]);
  assert.equal(evaluate(ints, { v: "30" }), true);
  assert.equal(evaluate(ints, { v: "+2" }), true);
  assert.equal(evaluate(ints, { v: "3" }), false);
  assert.equal(evaluate(ints, { v: null }), null);
  const uuids = inList("uuid", ["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"]);
  assert.equal(evaluate(uuids, { v: "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11" }), true);
  const floats = inList("float8", ["0", "NaN"]);
  assert.equal(evaluate(floats, { v: "-0" }), true);
  assert.equal(evaluate(floats, { v: "NaN" }), true);
  const decimals = inList("numeric", ["1.50"]);
  assert.equal(evaluate(decimals, { v: "1.5" }), true);
  assert.equal(evaluate(decimals, { v: "1.51" }), false);
});

test("in: one array parameter in SQL, text under the C collation", () => {
  const params: unknown[] = [];
  assert.equal(
    whereToSql(inList("text", ['a"b', "c\\d"]), "t", params),
    `(("t"."v") COLLATE "C" = ANY($1::text::text[]))`,
  );
  assert.deepEqual(params, [`{"a\\"b","c\\\\d"}`]);
  assert.equal(arrayLiteral([]), "{}");
});
