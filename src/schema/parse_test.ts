import { test } from "node:test";
import assert from "node:assert/strict";
import { parseStatements } from "./parse.ts";

test("statements keep their own text, without the terminating semicolon", async () => {
  const cases: [string, string[]][] = [
    ["CREATE TABLE a (b int)", ["CREATE TABLE a (b int)"]],
    ["CREATE TABLE a (b int);", ["CREATE TABLE a (b int)"]],
    [
      "CREATE TYPE public.colour AS ENUM ('red','green');\nCREATE TABLE é (\n  c colour\n);\n\n" +
      "CREATE INDEX é_c_idx ON public.é USING btree (c);  \n",
      [
        "CREATE TYPE public.colour AS ENUM ('red','green')",
        "CREATE TABLE é (\n  c colour\n)",
        "CREATE INDEX é_c_idx ON public.é USING btree (c)",
      ],
    ],
    ["SELECT ';'; SELECT 2", ["SELECT ';'", "SELECT 2"]],
    ["", []],
    ["  ;  ", []],
  ];
  for (const [input, expected] of cases) {
    const out = await parseStatements(input);
    assert.ok(out.ok, input);
    assert.deepEqual(out.statements.map((s) => s.sql), expected, input);
  }
});

test("the AST is the libpg_query node of each statement", async () => {
  const out = await parseStatements("CREATE TABLE a (b int); DROP INDEX x");
  assert.ok(out.ok);
  assert.deepEqual(out.statements.map((s) => Object.keys(s.ast as object)), [
    ["CreateStmt"],
    ["DropStmt"],
  ]);
});

test("syntax errors are values with a 1-based position", async () => {
  const cases: [string, string, number | undefined][] = [
    ["CREATE TABLEX", 'syntax error at or near "TABLEX"', 8],
    ["SELECT 1; CREATE TABLE (", 'syntax error at or near "("', 24],
    ["SELECT 'unterminated", 'unterminated quoted string at or near "\'unterminated"', 8],
    ["CREATE TABLE t (", "syntax error at end of input", 17],
  ];
  for (const [input, message, position] of cases) {
    const out = await parseStatements(input);
    assert.deepEqual(out, { ok: false, error: { code: "SYNTAX_ERROR", message, position } });
  }
});
