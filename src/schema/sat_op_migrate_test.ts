import { test } from "node:test";
import assert from "node:assert/strict";
import { applyMigration } from "./apply.ts";
import { EMPTY_SCHEMA } from "./model.ts";
import { migrationSqlFile, type SatOpMigrateData, satOpMigrateFor } from "./sat_op_migrate.ts";

async function results(statements: string[]) {
  const out = await applyMigration(EMPTY_SCHEMA, "7", statements, { tableOid: () => 1 });
  if (!out.ok) throw new Error(out.error.message);
  return out.results;
}

test("§11 item 27: an enum reaches SQLite clients as enum_type without statements", async () => {
  const [r] = await results(["CREATE TYPE public.colour AS ENUM ('red', 'green')"]);
  assert.deepEqual(satOpMigrateFor("7", r, "sqlite"), {
    version: "7",
    stmts: [],
    enumType: { name: "colour", values: ["red", "green"] },
  });
  assert.deepEqual(satOpMigrateFor("7", r, "postgresql"), {
    version: "7",
    stmts: [{
      type: "CREATE_ENUM_TYPE",
      sql: "CREATE TYPE public.colour AS ENUM ('red', 'green')",
    }],
    enumType: { name: "colour", values: ["red", "green"] },
  });
});

test("the postgresql dialect passes each statement's captured text", async () => {
  const rs = await results([
    "CREATE TABLE items (id int PRIMARY KEY, x text);\nCREATE INDEX ON items (x);",
    "ALTER TABLE items ADD COLUMN y int, ADD COLUMN z int",
    "DROP INDEX items_x_idx",
  ]);
  const ops = rs.map((r) => satOpMigrateFor("7", r, "postgresql"));
  assert.deepEqual(ops[0]?.stmts, [
    { type: "CREATE_TABLE", sql: "CREATE TABLE items (id int PRIMARY KEY, x text)" },
    { type: "CREATE_INDEX", sql: "CREATE INDEX ON items (x)" },
  ]);
  assert.equal(ops[0]?.table?.name, "items");
  assert.deepEqual(ops[1]?.stmts, [
    { type: "ALTER_ADD_COLUMN", sql: "ALTER TABLE items ADD COLUMN y int, ADD COLUMN z int" },
  ]);
  assert.deepEqual(ops[1]?.table?.columns.map((c) => c.name), ["id", "x", "y", "z"]);
  assert.equal(ops[2], undefined);
});

test("the sqlite dialect sends translations with their statement types", async () => {
  const rs = await results([
    "CREATE TABLE items (id int PRIMARY KEY, x text)",
    "ALTER TABLE items ADD COLUMN y int, ADD COLUMN z int",
    "CREATE INDEX ix ON items (x)",
  ]);
  const ops = rs.map((r) => satOpMigrateFor("7", r, "sqlite"));
  assert.deepEqual(ops.map((o) => o?.stmts.map((s) => s.type)), [
    ["CREATE_TABLE"],
    ["ALTER_ADD_COLUMN", "ALTER_ADD_COLUMN"],
    ["CREATE_INDEX"],
  ]);
  assert.deepEqual(ops[2], {
    version: "7",
    stmts: [{ type: "CREATE_INDEX", sql: 'CREATE INDEX "ix" ON "items" ("x" ASC);\n' }],
  });
});

test("migration.sql: trimmed, semicolon-terminated, blank-line separated", () => {
  const op = (...sql: string[]): SatOpMigrateData => ({
    version: "1",
    stmts: sql.map((s) => ({ type: "CREATE_TABLE", sql: s })),
  });
  const cases: [SatOpMigrateData[], string][] = [
    [[], ""],
    [[op()], ""],
    [[op('CREATE TABLE "a" (\n  "id" TEXT\n);\n')], 'CREATE TABLE "a" (\n  "id" TEXT\n);'],
    [
      [op("CREATE TABLE a (id int)  \n"), op("CREATE INDEX x ON a (id);")],
      "CREATE TABLE a (id int);\n\nCREATE INDEX x ON a (id);",
    ],
    [[op("A;\n", "B")], "A;\n\nB;"],
  ];
  for (const [ops, expected] of cases) assert.equal(migrationSqlFile(ops), expected);
});
