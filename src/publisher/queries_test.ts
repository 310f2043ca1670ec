import { test } from "node:test";
import assert from "node:assert/strict";
import type { PublishedTable } from "./catalog.ts";
import {
  attributesAnswer,
  classifyQuery,
  identifySystemAnswer,
  normaliseQuery,
  publicationTablesAnswer,
  relationInfoAnswer,
} from "./queries.ts";

test("normalisation collapses unquoted whitespace and strips trailing semicolons", () => {
  assert.equal(normaliseQuery("  SELECT\n\t1 ,  2 ;; "), "SELECT 1 , 2");
  assert.equal(normaliseQuery("SELECT 'a  b',\n\"x  y\"  ;"), "SELECT 'a  b', \"x  y\"");
  assert.equal(normaliseQuery("IDENTIFY_SYSTEM;"), "IDENTIFY_SYSTEM");
});

// The query texts a Postgres subscriber sends to a publisher it sees as version 0.
test("the subscriber's queries are recognised in the form libpq sends them", () => {
  assert.deepEqual(classifyQuery("SELECT pg_catalog.set_config('search_path', '', false);"), {
    tag: "set_search_path",
  });
  assert.deepEqual(
    classifyQuery(
      "SELECT DISTINCT t.schemaname, t.tablename \n  FROM pg_catalog.pg_publication_tables t\n" +
        " WHERE t.pubname IN ('electric_publication')",
    ),
    { tag: "publication_tables", publications: ["electric_publication"] },
  );
  assert.deepEqual(
    classifyQuery(
      "SELECT c.oid, c.relreplident, c.relkind  FROM pg_catalog.pg_class c  INNER JOIN " +
        "pg_catalog.pg_namespace n        ON (c.relnamespace = n.oid) WHERE n.nspname = " +
        "'electric'   AND c.relname = 'it''s'",
    ),
    { tag: "relation_info", schema: "electric", table: "it's" },
  );
  assert.deepEqual(
    classifyQuery(
      "SELECT a.attname,       a.atttypid,       a.attnum = ANY(i.indkey)  FROM " +
        "pg_catalog.pg_attribute a  LEFT JOIN pg_catalog.pg_index i       ON (i.indexrelid = " +
        "pg_get_replica_identity_index(16385)) WHERE a.attnum > 0::pg_catalog.int2   AND NOT " +
        "a.attisdropped   AND a.attrelid = 16385 ORDER BY a.attnum",
    ),
    { tag: "attributes", relationOid: 16385 },
  );
  assert.deepEqual(classifyQuery("IDENTIFY_SYSTEM"), { tag: "identify_system" });
  assert.deepEqual(classifyQuery("BEGIN READ ONLY ISOLATION LEVEL REPEATABLE READ"), {
    tag: "begin",
  });
  assert.deepEqual(classifyQuery("COMMIT"), { tag: "commit" });
  assert.deepEqual(classifyQuery('DROP_REPLICATION_SLOT "postgres_1" WAIT'), {
    tag: "drop_replication_slot",
  });
  assert.deepEqual(
    classifyQuery("CREATE_REPLICATION_SLOT \"s\" LOGICAL pgoutput (SNAPSHOT 'use')"),
    {
      tag: "create_replication_slot",
    },
  );
  assert.deepEqual(
    classifyQuery(
      "START_REPLICATION SLOT \"postgres_1\" LOGICAL 1/A0 (proto_version '1', " +
        "publication_names '\"electric_publication\"')",
    ),
    {
      tag: "start_replication",
      slot: "postgres_1",
      startLsn: 0x1000000a0n,
      options: { proto_version: "1", publication_names: '"electric_publication"' },
    },
  );
  assert.deepEqual(classifyQuery("START_REPLICATION SLOT s LOGICAL 0/0"), {
    tag: "start_replication",
    slot: "s",
    startLsn: 0n,
    options: {},
  });
  assert.equal(classifyQuery("SELECT 1").tag, "unknown");
  assert.equal(classifyQuery("START_REPLICATION SLOT s PHYSICAL 0/0").tag, "unknown");
});

const TABLES: PublishedTable[] = [
  {
    schema: "public",
    name: "items",
    oid: 16400,
    columns: [
      { name: "id", typeOid: 23, typeModifier: -1 },
      { name: "label", typeOid: 1043, typeModifier: 14 },
    ],
  },
  {
    schema: "electric",
    name: "acknowledged_client_lsns",
    oid: 16300,
    columns: [{ name: "client_id", typeOid: 25, typeModifier: -1 }],
  },
];

const decoder = new TextDecoder();

function rows(messages: ReturnType<typeof publicationTablesAnswer>) {
  return messages.flatMap((m) =>
    m.type === "DataRow" ? [m.values.map((v) => v === null ? null : decoder.decode(v))] : []
  );
}

test("answers: publication tables, relation info, attributes, IDENTIFY_SYSTEM", () => {
  const tables = publicationTablesAnswer(TABLES);
  assert.deepEqual(
    tables[0].type === "RowDescription" && tables[0].fields.map((f) => [f.name, f.typeOid]),
    [["schemaname", 19], ["tablename", 19]],
  );
  assert.deepEqual(rows(tables), [["public", "items"], ["electric", "acknowledged_client_lsns"]]);
  assert.deepEqual(tables.at(-1), { type: "CommandComplete", tag: "SELECT 2" });

  assert.deepEqual(rows(relationInfoAnswer(TABLES[0])), [["16400", "f", "f"]]);
  assert.deepEqual(relationInfoAnswer(undefined).at(-1), {
    type: "CommandComplete",
    tag: "SELECT 0",
  });
  assert.deepEqual(rows(attributesAnswer(TABLES[0])), [["id", "23", "t"], ["label", "1043", "t"]]);

  const identify = identifySystemAnswer("7123", "electric");
  assert.deepEqual(
    identify[0].type === "RowDescription" && identify[0].fields.map((f) => [f.name, f.typeOid]),
    [["systemid", 25], ["timeline", 23], ["xlogpos", 25], ["dbname", 25]],
  );
  assert.deepEqual(rows(identify), [["7123", "1", "0/1", "electric"]]);
  assert.deepEqual(identify.at(-1), { type: "CommandComplete", tag: "IDENTIFY_SYSTEM" });
});
