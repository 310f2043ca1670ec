import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { parseSql } from "../parse_sql.ts";
import { KNOWN_QUERIES } from "./queries.ts";
import { isVersionQuery, outputKeys, queryForKeys, recognise } from "./recognise.ts";

const FIXTURE = new URL("../../../tests/fixtures/prisma_4_8_1_introspection.json", import.meta.url);
const fixture = JSON.parse(readFileSync(FIXTURE, "utf8")) as {
  queries: { id: string; sql: string; params: string }[];
};

async function keysOf(sql: string): Promise<string[] | undefined> {
  const parsed = await parseSql(sql, false, { quick: false });
  assert.ok(parsed.ok, sql);
  assert.equal(parsed.statements.length, 1);
  const statement = parsed.statements[0];
  return statement.kind === "sql" ? outputKeys(statement.ast) : undefined;
}

test("output keys: alias, dotted column reference, or empty for other expressions", async () => {
  assert.deepEqual(
    await keysOf(
      "SELECT a AS x, oid.namespace, info.t, b, EXISTS(SELECT 1), version(), 1::int AS n, s.* FROM t",
    ),
    ["x", "oid.namespace", "info.t", "b", "", "", "n", "s.*"],
  );
  assert.deepEqual(await keysOf('SELECT con.oid AS "con_id" FROM c'), ["con_id"]);
  assert.equal(await keysOf("INSERT INTO t VALUES (1)"), undefined);
  assert.equal(await keysOf("SELECT 1 UNION SELECT 2"), undefined);
});

test("every Prisma 4.8.1 introspection query is recognised", async () => {
  for (const { id, sql } of fixture.queries) {
    const parsed = await parseSql(sql, false, { quick: false });
    assert.ok(parsed.ok, id);
    const query = recognise(sql, parsed.statements);
    assert.equal(query?.id, id, `${id}: ${sql}`);
  }
});

test("the known queries have distinct keys and one column per key", () => {
  const seen = new Set<string>();
  for (const query of KNOWN_QUERIES) {
    const key = query.keys.join("|");
    assert.ok(!seen.has(key), query.id);
    seen.add(key);
    assert.equal(query.columns.length, query.keys.length, query.id);
    assert.equal(queryForKeys(query.keys), query);
  }
});

test("the version query is told by its text; other statements are not recognised", async () => {
  assert.ok(isVersionQuery("SELECT version()"));
  assert.ok(isVersionQuery("  select VERSION( ) ;"));
  assert.ok(isVersionQuery("SELECT version() AS v, 1")); // by its text, as §3.10 says
  assert.ok(!isVersionQuery("SELECT 1, version()"));
  for (const sql of ["SELECT 1", "SELECT * FROM items", "SET search_path = x", "BEGIN"]) {
    const parsed = await parseSql(sql, false, { quick: false });
    assert.equal(recognise(sql, parsed.ok ? parsed.statements : undefined), undefined, sql);
  }
  assert.equal(recognise("SELECT a AS namespace_name FROM x; SELECT 1", undefined), undefined);
});
