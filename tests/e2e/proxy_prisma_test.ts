/**
 * The proxy's other modes inside the running service (proxy-http-auth-config.md §3.10–3.11):
 * as user `prisma`, every introspection query Prisma 4.8.1's `db pull` sends (the fixture
 * `tests/fixtures/prisma_4_8_1_introspection.json`) is replayed over the wire with the
 * extended protocol and binary results, and answered from the electrified schema only; a
 * `prisma_migrate_shadow_db…` database is reached as itself, with DDLX acknowledged and never
 * run and nothing captured; user `transparent` is relayed untouched.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import postgres from "postgres";
import {
  type BackendMessage,
  encodeStartup,
  type FieldDescription,
  PROTOCOL_3_0,
} from "../../src/pgwire/wire.ts";
import { encodeNameArray } from "../../src/proxy/prisma/mod.ts";
import { databaseUrl } from "../helpers/pg_cluster.ts";
import { type ProxyService, startProxyService } from "../helpers/proxy_service.ts";
import type { ServiceProcess } from "../helpers/service_process.ts";
import {
  bookAuthorKey,
  COLOUR_ROWS,
  columnRow,
  indexRow,
  primaryKeyRow,
} from "../helpers/prisma_rows.ts";
import { waitFor } from "../helpers/wait.ts";
import { PROXY_PASSWORD, summary, WireClient } from "../integration/proxy_harness.ts";

const FIXTURE = new URL("../fixtures/prisma_4_8_1_introspection.json", import.meta.url);
const queries = (JSON.parse(readFileSync(FIXTURE, "utf8")) as {
  queries: { id: string; sql: string; params: "none" | "name" | "name[]" }[];
}).queries;

let proxy: ProxyService;
let db: ProxyService["db"];
let sql: postgres.Sql;
let proxyPort: number;
let service: ServiceProcess;

function proxyClient(user: string, database: string): postgres.Sql {
  return postgres(
    `postgresql://${user}:${PROXY_PASSWORD}@127.0.0.1:${proxyPort}/${database}?sslmode=disable`,
    { max: 1, onnotice: () => {}, fetch_types: false },
  );
}

before(async () => {
  proxy = await startProxyService();
  ({ db, sql, proxyPort, service } = proxy);
  const electric = proxyClient("postgres", "electric");
  try {
    await electric.unsafe(`
      CREATE TYPE colour AS ENUM ('red', 'green', 'blue');
      CREATE TABLE authors (id uuid PRIMARY KEY, name varchar NOT NULL);
      CREATE TABLE books (
        id int8 PRIMARY KEY,
        title text,
        pages int4,
        rank int2 NOT NULL,
        published timestamptz,
        colour colour,
        author_id uuid NOT NULL REFERENCES authors (id) ON DELETE CASCADE
      );
      ALTER TABLE authors ENABLE ELECTRIC;
      ALTER TABLE books ENABLE ELECTRIC;
    `).simple();
    await electric.unsafe("CREATE UNIQUE INDEX books_title_idx ON books (title DESC)").simple();
  } finally {
    await electric.end();
  }
  // Not electrified, with what electrification refuses: it must stay invisible.
  await sql.unsafe(`
    CREATE TABLE ledger (
      id int4 PRIMARY KEY,
      code varchar(12) UNIQUE,
      amount numeric(10,2) DEFAULT 0 CHECK (amount >= 0),
      tags text[],
      author_id uuid REFERENCES authors (id)
    )`);
});

after(() => proxy.stop());

async function prismaSession(): Promise<WireClient> {
  return await WireClient.open(proxyPort, "prisma");
}

interface Answer {
  fields: FieldDescription[];
  params: number[];
  rows: unknown[][];
  messages: string[];
}

/** Decodes a binary value by its type OID (§3.10: bool 1 byte, ints big-endian, text UTF-8). */
function decodeBinary(value: Uint8Array | null, typeOid: number): unknown {
  if (value === null) return null;
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  switch (typeOid) {
    case 16:
      assert.equal(value.length, 1);
      return value[0] === 1;
    case 21:
      assert.equal(value.length, 2);
      return view.getInt16(0);
    case 23:
      assert.equal(value.length, 4);
      return view.getInt32(0);
    case 26:
      assert.equal(value.length, 4);
      return view.getUint32(0);
    default:
      return new TextDecoder().decode(value);
  }
}

/** Parse/Describe/Sync, then Bind (binary `$1`, binary results)/Execute/Sync, as Prisma does. */
async function ask(
  client: WireClient,
  name: string,
  query: { sql: string; params: string },
): Promise<Answer> {
  client.send(
    { type: "Parse", name, sql: query.sql, paramTypes: [] },
    { type: "Describe", kind: "S", name },
    { type: "Sync" },
  );
  const described = await client.untilReady();
  const messages = summary(described);
  const params = described.find((m) => m.type === "ParameterDescription") as
    | { types: number[] }
    | undefined;
  const rowDescription = described.find((m) => m.type === "RowDescription") as
    | { fields: FieldDescription[] }
    | undefined;
  if (!rowDescription) return { fields: [], params: [], rows: [], messages };
  const bound = query.params === "none"
    ? []
    : [query.params === "name" ? new TextEncoder().encode("public") : encodeNameArray(["public"])];
  client.send(
    {
      type: "Bind",
      portal: "",
      statement: name,
      paramFormats: bound.map(() => 1),
      params: bound,
      resultFormats: [1],
    },
    { type: "Execute", portal: "", maxRows: 0 },
    { type: "Sync" },
  );
  const executed = await client.untilReady();
  messages.push(...summary(executed));
  const rows = executed
    .filter((m): m is Extract<BackendMessage, { type: "DataRow" }> => m.type === "DataRow")
    .map((m) => m.values.map((v, i) => decodeBinary(v, rowDescription.fields[i].typeOid)));
  return { fields: rowDescription.fields, params: params?.types ?? [], rows, messages };
}

const fieldTypes = (a: Answer) => a.fields.map((f) => `${f.name}:${f.typeOid}`);

test("Prisma 4.8.1 introspection is answered from the electrified schema", async () => {
  const client = await prismaSession();
  try {
    // The service learns the last migration from the replication stream: wait until the
    // introspection answers show its index.
    const indexQuery = queries.find((q) => q.id === "indexes_4_8")!;
    await waitFor(async () => {
      const a = await ask(client, "probe", indexQuery);
      client.send({ type: "Close", kind: "S", name: "probe" }, { type: "Sync" });
      await client.untilReady();
      return a.rows.some((r) => r[1] === "books_title_idx") ? a : undefined;
    }, { timeoutMs: 30_000, what: () => `the unique index\n${service.output().slice(-4000)}` });

    client.send({ type: "Query", sql: "SET NAMES 'UTF-8';" });
    assert.deepEqual(summary(await client.untilReady()), ["C:SET NAMES", "Z:I"]);

    const answers = new Map<string, Answer>();
    for (const [i, query] of queries.entries()) {
      const answer = await ask(client, `s${i}`, query);
      assert.deepEqual(answer.messages.slice(0, 4), [
        "ParseComplete",
        "ParameterDescription",
        "RowDescription",
        "Z:I",
      ], `${query.id}: ${answer.messages}`);
      assert.deepEqual(
        answer.messages.slice(-2),
        [`C:SELECT ${answer.rows.length}`, "Z:I"],
        query.id,
      );
      answers.set(query.id, answer);
    }

    const version = answers.get("version")!;
    assert.deepEqual(fieldTypes(version), ["version:25"]);
    assert.deepEqual(version.rows, [["PostgreSQL 14.9 Electric"]]);

    const nv = answers.get("namespace_version")!;
    assert.deepEqual(nv.params, [19]);
    assert.deepEqual(fieldTypes(nv), ["exists:16", "version:25", "numeric_version:23"]);
    assert.deepEqual(nv.rows, [[true, "PostgreSQL 14.9 Electric", 140009]]);

    const ns = answers.get("namespaces")!;
    assert.deepEqual(ns.params, [1003]);
    assert.deepEqual(ns.rows, [["public"]]);

    const tables = answers.get("tables_4_8")!;
    assert.deepEqual(fieldTypes(tables), ["table_name:19", "namespace:19"]);
    assert.deepEqual(tables.rows, [["authors", "public"], ["books", "public"]]);

    assert.deepEqual(answers.get("enums_4_8")!.rows, COLOUR_ROWS);
    assert.deepEqual(answers.get("views_4_8")!.rows, []);

    const columns = answers.get("columns_4_8")!;
    assert.deepEqual(fieldTypes(columns), [
      "namespace:19",
      "table_name:19",
      "column_name:19",
      "formatted_type:25",
      "numeric_precision:23",
      "numeric_scale:23",
      "numeric_precision_radix:23",
      "datetime_precision:23",
      "data_type:1043",
      "full_data_type:19",
      "column_default:25",
      "is_nullable:1043",
      "is_identity:1043",
      "character_maximum_length:23",
    ]);
    assert.deepEqual(columns.rows, [
      columnRow("authors", "id", { type: "uuid", nullable: "NO" }),
      columnRow("authors", "name", { type: "varchar", nullable: "NO" }),
      columnRow("books", "id", { type: "int8", nullable: "NO" }),
      columnRow("books", "title", { type: "text", nullable: "YES" }),
      columnRow("books", "pages", { type: "int4", nullable: "YES" }),
      columnRow("books", "rank", { type: "int2", nullable: "NO" }),
      columnRow("books", "published", { type: "timestamptz", nullable: "YES" }),
      columnRow("books", "colour", { type: "colour", nullable: "YES" }),
      columnRow("books", "author_id", { type: "uuid", nullable: "NO" }),
    ]);

    const fks = answers.get("foreign_keys_4_8")!;
    assert.deepEqual(fieldTypes(fks).slice(0, 1), ["con_id:26"]);
    assert.equal(fks.fields[8].typeOid, 21);
    assert.equal(fks.rows.length, 1, JSON.stringify(fks.rows));
    assert.equal(typeof fks.rows[0][0], "number");
    assert.deepEqual(fks.rows[0].slice(1), bookAuthorKey(7));

    const indexes = answers.get("indexes_4_8")!;
    assert.deepEqual(fieldTypes(indexes), [
      "namespace:19",
      "index_name:19",
      "table_name:19",
      "column_name:19",
      "is_unique:16",
      "is_primary_key:16",
      "column_index:23",
      "opclass:19",
      "opcdefault:16",
      "index_algo:19",
      "column_order:25",
    ]);
    assert.deepEqual(indexes.rows, [
      primaryKeyRow("authors", "uuid_ops"),
      primaryKeyRow("books", "int8_ops"),
      indexRow("books", "books_title_idx", {
        column: "title",
        unique: true,
        primary: false,
        opclass: "text_ops",
        order: "DESC",
      }),
    ]);

    // Nothing about the table that is not electrified, anywhere.
    for (const [id, answer] of answers) {
      assert.ok(!JSON.stringify(answer.rows).includes("ledger"), id);
    }

    // An unknown query: the spec's error, then the session goes on.
    client.send(
      { type: "Parse", name: "u", sql: "SELECT relname FROM pg_class", paramTypes: [] },
      { type: "Describe", kind: "S", name: "u" },
      { type: "Sync" },
    );
    const unknown = await client.untilReady();
    assert.deepEqual(summary(unknown), ["E:undefined", "Z:E"]);
    const fields = (unknown[0] as { fields: Record<string, string> }).fields;
    assert.match(fields.M, /^Unrecognised introspection query/);
    assert.equal(fields.q, "SELECT relname FROM pg_class");
    await waitFor(() => service.output().includes("Unrecognised introspection query"), {
      timeoutMs: 5_000,
      what: "the error logged",
    });
    client.send({ type: "Query", sql: "DEALLOCATE ALL" });
    assert.deepEqual(summary(await client.untilReady()), ["C:DEALLOCATE ALL", "Z:I"]);
  } finally {
    client.close();
  }
});

test("a shadow database is reached as itself; DDLX is acknowledged, not run, not captured", async () => {
  const shadow = `prisma_migrate_shadow_db_${randomBytes(4).toString("hex")}`;
  await sql.unsafe(`CREATE DATABASE "${shadow}"`);
  const direct = postgres(databaseUrl(db.url, shadow), { max: 1, onnotice: () => {} });
  const client = proxyClient("prisma", shadow);
  try {
    const before = await sql`select count(*)::int as n from electric.ddl_commands`;
    const wire = await WireClient.connect(proxyPort);
    try {
      wire.write(encodeStartup({
        type: "StartupMessage",
        protocolVersion: PROTOCOL_3_0,
        parameters: { user: "prisma", database: shadow, password: PROXY_PASSWORD },
      }));
      await wire.untilReady();
      wire.send({
        type: "Query",
        sql: `CREATE TABLE items (id uuid PRIMARY KEY, value text);
          ALTER TABLE items ENABLE ELECTRIC;
          CREATE INDEX items_value_idx ON items (value);
          ELECTRIC GRANT ALL ON items TO 'admin';`,
      });
      assert.deepEqual(summary(await wire.untilReady()), [
        "C:CREATE TABLE",
        "C:ELECTRIC ENABLE",
        "C:CREATE INDEX",
        "C:ELECTRIC GRANT",
        "Z:I",
      ]);
      wire.send({ type: "Query", sql: "BEGIN; ALTER TABLE items ENABLE ELECTRIC" });
      assert.deepEqual(summary(await wire.untilReady()), ["C:BEGIN", "C:ELECTRIC ENABLE", "Z:T"]);
      wire.send({ type: "Query", sql: "ALTER TABLE items ENABLE ELECTRIC;" });
      assert.deepEqual(summary(await wire.untilReady()), ["C:ELECTRIC ENABLE", "Z:T"]);
      wire.send({ type: "Query", sql: "COMMIT" });
      assert.deepEqual(summary(await wire.untilReady()), ["C:COMMIT", "Z:I"]);
    } finally {
      wire.close();
    }
    // The extended protocol too (postgres.js prepares unsafe queries).
    const extended = await client.unsafe("ALTER TABLE items ENABLE ELECTRIC");
    assert.equal(extended.command, "ELECTRIC ENABLE");
    // An electrified-table refusal of electric mode does not apply here: no validation.
    await client.unsafe("ALTER TABLE items ALTER COLUMN value SET DEFAULT 'x'").simple();

    const here = await direct`select current_database() as d, to_regclass('public.items') as t,
      to_regclass('public.items_value_idx') as i, to_regnamespace('electric') as e`;
    assert.deepEqual(here[0], { d: shadow, t: "items", i: "items_value_idx", e: null });
    const after = await sql`select count(*)::int as n from electric.ddl_commands`;
    assert.equal(after[0].n, before[0].n);
  } finally {
    await client.end();
    await direct.end();
    await sql`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${shadow}`;
    await sql.unsafe(`DROP DATABASE IF EXISTS "${shadow}"`);
  }
});

test("user transparent is relayed unchanged", async () => {
  const client = proxyClient("transparent", "electric");
  try {
    const [row] = await client`select current_database() as d`;
    assert.equal(row.d, db.name);
    // DDLX is not interpreted: Postgres itself refuses it.
    const error = await client.unsafe("ALTER TABLE authors ENABLE ELECTRIC").simple().then(
      () => undefined,
      (e: { code?: string }) => e.code,
    );
    assert.equal(error, "42601");
  } finally {
    await client.end();
  }
});

test("the start-up of a Prisma connection is relayed from the real server", async () => {
  const client = await WireClient.connect(proxyPort);
  try {
    client.write(encodeStartup({
      type: "StartupMessage",
      protocolVersion: PROTOCOL_3_0,
      parameters: { user: "prisma", database: "electric", password: PROXY_PASSWORD },
    }));
    const startup = await client.untilReady();
    assert.ok(
      startup.some((m) => m.type === "ParameterStatus" && m.name === "server_version"),
      summary(startup).join(" "),
    );
  } finally {
    client.close();
  }
});
