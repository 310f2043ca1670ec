import { test } from "node:test";
import assert from "node:assert/strict";
import type { IndexStmt, Node } from "@pgsql/types";
import { parseStatements } from "./parse.ts";
import { sqliteExpr } from "./sqlite_expr.ts";

async function predicate(where: string): Promise<Node> {
  const out = await parseStatements(`CREATE INDEX i ON t (x) WHERE ${where}`);
  assert.ok(out.ok);
  return ((out.statements[0].ast as { IndexStmt: IndexStmt }).IndexStmt.whereClause) as Node;
}

test("index predicates render as SQLite expressions", async () => {
  const cases: [string, string | undefined][] = [
    ["x = 1", '"x" = 1'],
    ["(x > 1.5)", '"x" > 1.5'],
    ["x <> 'it''s'", `"x" <> 'it''s'`],
    ["NOT (x IS NULL)", 'NOT ("x" IS NULL)'],
    ["a AND (b OR c)", '"a" AND ("b" OR "c")'],
    ["x BETWEEN 1 AND 2", '"x" BETWEEN 1 AND 2'],
    ["x NOT IN (1, 2)", '"x" NOT IN (1, 2)'],
    ["x ILIKE 'a%'", `"x" LIKE 'a%'`],
    ["x NOT LIKE 'a%'", `"x" NOT LIKE 'a%'`],
    ["x IS DISTINCT FROM y", '"x" IS NOT "y"'],
    ["flag = 't'::boolean", '"flag" = 1'],
    ["flag = true", '"flag" = 1'],
    ["c = 'red'::colour", `"c" = 'red'`],
    ["n = '5'::integer", `"n" = CAST('5' AS INTEGER)`],
    ["ts > CURRENT_TIMESTAMP", '"ts" > current_timestamp'],
    ["coalesce(a, b) IS NOT NULL", 'coalesce("a", "b") IS NOT NULL'],
    ["-x < 0", '(-"x") < 0'],
    ["x = ANY (ARRAY[1, 2])", undefined],
    ["x IN (SELECT 1)", undefined],
  ];
  for (const [where, expected] of cases) {
    assert.equal(sqliteExpr(await predicate(where)), expected, where);
  }
});
