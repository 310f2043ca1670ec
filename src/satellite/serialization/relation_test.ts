import { test } from "node:test";
import assert from "node:assert/strict";
import { SatRelation_RelationType } from "../../gen/mod.ts";
import { relationFor } from "./mod.ts";
import { col, EVERYTHING, MODEL, table } from "./test_fixtures.ts";

test("relationFor: every type, enum unqualified, table order, OID as id", () => {
  const rel = relationFor(EVERYTHING, MODEL);
  assert.equal(rel.schemaName, "public");
  assert.equal(rel.tableName, "everything");
  assert.equal(rel.tableType, SatRelation_RelationType.TABLE);
  assert.equal(rel.relationId, 16400);
  assert.deepEqual(rel.columns.map((c) => [c.name, c.type]), [
    ["id", "uuid"],
    ["b", "bool"],
    ["i2", "int2"],
    ["i4", "int4"],
    ["i8", "int8"],
    ["f4", "float4"],
    ["f8", "float8"],
    ["s", "text"],
    ["v", "varchar"],
    ["d", "date"],
    ["tm", "time"],
    ["ts", "timestamp"],
    ["tz", "timestamptz"],
    ["j", "jsonb"],
    ["bin", "bytea"],
    ["colour", "colour"],
  ]);
});

test("relationFor: primary-key and nullable flags", () => {
  const t = table("pairs", [
    col("note", "text"),
    col("b", "int4", true),
    col("a", "int4"), // a PK column the model did not mark NOT NULL is still not nullable
    col("must", "text", true),
  ], ["a", "b"]);
  const rel = relationFor(t, MODEL);
  assert.deepEqual(rel.columns.map((c) => [c.name, c.primaryKey, c.isNullable]), [
    ["note", false, true],
    ["b", true, false],
    ["a", true, false],
    ["must", false, false],
  ]);
});

test("relationFor: an enum of another schema is named without its schema", () => {
  const model = { ...MODEL, enums: [{ schema: "app", name: "mood", values: ["ok"] }] };
  const rel = relationFor(table("m", [col("mood", "app.mood")], []), model);
  assert.equal(rel.columns[0].type, "mood");
});
