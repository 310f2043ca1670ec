import { test } from "node:test";
import assert from "node:assert/strict";
import { applyMigration } from "./apply.ts";
import { EMPTY_SCHEMA } from "./model.ts";
import { deserializeSchema, readSchema, SchemaFormatError, serializeSchema } from "./serialize.ts";

test("a model survives serialization as JSON", async () => {
  const out = await applyMigration(EMPTY_SCHEMA, "20240101", [
    "CREATE TYPE colour AS ENUM ('red')",
    "CREATE TABLE p (id int PRIMARY KEY)",
    "CREATE TABLE c (id int PRIMARY KEY, p int REFERENCES p ON DELETE CASCADE, k colour)",
    "CREATE UNIQUE INDEX ON c (lower(k::text)) WHERE p > 0",
    "CREATE INDEX ON c (p DESC)",
  ], { tableOid: (_s, n) => (n === "p" ? 10 : 11) });
  assert.ok(out.ok);
  const stored = JSON.parse(JSON.stringify(serializeSchema(out.model)));
  assert.deepEqual(deserializeSchema(stored), out.model);
  assert.deepEqual(deserializeSchema(serializeSchema(EMPTY_SCHEMA)), EMPTY_SCHEMA);
});

test("malformed stored schemas are reported, not guessed", () => {
  const cases: [unknown, RegExp][] = [
    [null, /Stored schema is not readable/],
    [{ format: 99, version: null, tables: [], enums: [] }, /format/],
    [{ format: 1, version: null, tables: [{ name: "x" }], enums: [] }, /tables\.0/],
  ];
  for (const [json, message] of cases) {
    const read = readSchema(json);
    assert.equal(read.ok, false);
    assert.match(!read.ok ? read.error.message : "", message);
    assert.throws(() => deserializeSchema(json), SchemaFormatError);
  }
});
