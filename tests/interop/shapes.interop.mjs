/**
 * Shapes with the real client: where clauses (initial data, live inserts, move-in and move-out
 * by UPDATE), include trees over a foreign key (both directions, parents followed
 * automatically), several clients on one shape, a large initial sync, and the values of every
 * supported column type as the client stores them in SQLite.
 * Runtime of the service: INTEROP_RUNTIME (deno | bun | binary).
 *
 * Every test creates and electrifies its own tables and its own clients, so a failure stays
 * local to one test. "X does not arrive" is checked with a marker: a later transaction that
 * does match the shape; transactions reach the client in commit order, so once the marker is
 * in SQLite, X would have been too.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import postgres from "postgres";
import {
  createClient,
  currentRuntime,
  defer,
  freshDatabase,
  startService,
  stopPostgres,
  waitFor,
} from "./harness/mod.mjs";

const runtime = currentRuntime();

/** @type {Awaited<ReturnType<typeof startService>>} */
let service;
/** @type {import("postgres").Sql} */
let sql;

const serviceOutput = () =>
  `--- service output (${runtime}) ---\n${
    service?.output() ?? "(not started)"
  }`;

before(async () => {
  defer("postgres", stopPostgres);
  const db = await freshDatabase();
  defer("database", () => db.drop());
  service = await startService({ databaseUrl: db.url, runtime });
  defer("service", () => service.stop());
  sql = postgres(db.url, { max: 4, onnotice: () => {} });
  defer("sql", () => sql.end({ timeout: 1 }));
}, { timeout: 90_000 });

/**
 * Creates tables (one DDL string each) and electrifies them in one transaction.
 * @param {string[]} ddl
 * @param {string[]} tables
 */
async function electrify(ddl, tables) {
  await sql.begin(async (tx) => {
    for (const statement of ddl) await tx.unsafe(statement);
    for (const table of tables) await tx.unsafe(`CALL electric.electrify('${table}')`);
  });
}

/**
 * A connected client whose SQLite already has `tables` (their migrations arrived).
 * @param {Parameters<typeof createClient>[0]["tables"]} tables
 * @param {{ userId?: string }} [options]
 */
async function connectedClient(tables, options = {}) {
  const client = await createClient({
    serviceUrl: service.url,
    tables,
    diagnostics: serviceOutput,
    ...options,
  });
  defer("client", () => client.close());
  await client.connect(10_000);
  const names = Object.keys(tables);
  await client.waitForRows(
    `SELECT name FROM sqlite_master WHERE type = 'table' AND name IN (${
      names.map((n) => `'${n}'`).join(", ")
    })`,
    (rows) => rows.length === names.length,
    10_000,
  );
  return client;
}

/** @param {Record<string, unknown>[]} rows */
const ids = (rows) => rows.map((r) => String(r.id)).sort();

// ---------------------------------------------------------------------------------------------
// 1. Where clauses

const WHERE_TABLES = {
  where_items: { fields: { id: "TEXT", value: "TEXT", n: "INT4" } },
};

test("where (startsWith → LIKE): initial data, live inserts, move-in and move-out", {
  timeout: 60_000,
}, async () => {
  await electrify([
    "CREATE TABLE where_items (id text PRIMARY KEY, value text, n int4)",
  ], ["where_items"]);
  await sql`INSERT INTO where_items (id, value, n) VALUES
    ('s1', 'sentinel one', 1), ('s2', 'sentinel two', 2),
    ('o1', 'other one', 3), ('o2', 'SENTINEL upper (LIKE is case-sensitive)', 4),
    ('o3', NULL, 5)`;

  const c = await connectedClient(WHERE_TABLES);
  await c.sync("where_items", { where: { value: { startsWith: "sentinel" } } });
  const initial = await c.query("SELECT id, value, n FROM where_items ORDER BY id");
  assert.deepEqual(initial, [
    { id: "s1", value: "sentinel one", n: 1 },
    { id: "s2", value: "sentinel two", n: 2 },
  ], "only the matching rows arrive initially");

  // Live: a non-matching insert, then a matching one in a later transaction.
  await sql`INSERT INTO where_items (id, value, n) VALUES ('o4', 'not a sentinel', 6)`;
  await sql`INSERT INTO where_items (id, value, n) VALUES ('s3', 'sentinel three', 7)`;
  await c.waitForRows("SELECT id FROM where_items WHERE id = 's3'", (r) => r.length === 1);
  assert.deepEqual(
    ids(await c.query("SELECT id FROM where_items")),
    ["s1", "s2", "s3"],
    "the non-matching live insert must not arrive",
  );

  // A transaction mixing a matching and a non-matching insert.
  await sql.begin(async (tx) => {
    await tx`INSERT INTO where_items (id, value, n) VALUES ('o5', 'nope', 8)`;
    await tx`INSERT INTO where_items (id, value, n) VALUES ('s4', 'sentinel four', 9)`;
  });
  await c.waitForRows("SELECT id FROM where_items WHERE id = 's4'", (r) => r.length === 1);
  assert.deepEqual(ids(await c.query("SELECT id FROM where_items")), ["s1", "s2", "s3", "s4"]);

  // Move-in: an UPDATE makes a row match.
  await sql`UPDATE where_items SET value = 'sentinel moved in', n = 30 WHERE id = 'o1'`;
  const movedIn = await c.waitForRows(
    "SELECT id, value, n FROM where_items WHERE id = 'o1'",
    (r) => r.length === 1,
  );
  assert.deepEqual(movedIn, [{ id: "o1", value: "sentinel moved in", n: 30 }]);

  // An update inside the shape stays an update.
  await sql`UPDATE where_items SET n = 31 WHERE id = 'o1'`;
  await c.waitForRows("SELECT n FROM where_items WHERE id = 'o1'", (r) => r[0]?.n === 31);

  // Move-out: an UPDATE makes a row stop matching; it disappears from SQLite (gone).
  await sql`UPDATE where_items SET value = 'no longer a sentinel' WHERE id = 's1'`;
  await c.waitForRows("SELECT id FROM where_items WHERE id = 's1'", (r) => r.length === 0);

  // Move-out to NULL.
  await sql`UPDATE where_items SET value = NULL WHERE id = 's2'`;
  await c.waitForRows("SELECT id FROM where_items WHERE id = 's2'", (r) => r.length === 0);

  // A row that moved out and is updated again while outside stays away; marker afterwards.
  await sql`UPDATE where_items SET n = 100 WHERE id = 's1'`;
  await sql`INSERT INTO where_items (id, value, n) VALUES ('s5', 'sentinel five', 10)`;
  await c.waitForRows("SELECT id FROM where_items WHERE id = 's5'", (r) => r.length === 1);

  // Delete of a row in the shape.
  await sql`DELETE FROM where_items WHERE id = 's3'`;
  await c.waitForRows("SELECT id FROM where_items WHERE id = 's3'", (r) => r.length === 0);

  const expected = await sql`SELECT id, value, n FROM where_items
                             WHERE value LIKE 'sentinel%' ORDER BY id`;
  assert.deepEqual(
    await c.query("SELECT id, value, n FROM where_items ORDER BY id"),
    [...expected].map((r) => ({ ...r })),
    "SQLite equals the Postgres rows of the shape",
  );
});

test("where (object filter on an int4: { n: { gt: 2 } }) and a raw string where", {
  timeout: 60_000,
}, async () => {
  await electrify([
    "CREATE TABLE where_nums (id text PRIMARY KEY, n int4, label text)",
  ], ["where_nums"]);
  await sql`INSERT INTO where_nums (id, n, label) VALUES
    ('a', 1, 'x'), ('b', 2, 'y'), ('c', 3, 'Zed'), ('d', 10, 'zulu'), ('e', NULL, 'zz')`;
  const tables = { where_nums: { fields: { id: "TEXT", n: "INT4", label: "TEXT" } } };

  const objectClient = await connectedClient(tables);
  await objectClient.sync("where_nums", { where: { n: { gt: 2 } } });
  assert.deepEqual(ids(await objectClient.query("SELECT id FROM where_nums")), ["c", "d"]);

  const rawClient = await connectedClient(tables);
  await rawClient.sync("where_nums", {
    where: "this.label ILIKE 'z%' AND this.n IS NOT NULL",
  });
  assert.deepEqual(ids(await rawClient.query("SELECT id FROM where_nums")), ["c", "d"]);

  await sql`INSERT INTO where_nums (id, n, label) VALUES ('f', 2, 'fff')`; // neither
  await sql`INSERT INTO where_nums (id, n, label) VALUES ('g', 50, 'other')`; // object only
  await sql`INSERT INTO where_nums (id, n, label) VALUES ('h', 51, 'ZOO')`; // both
  await objectClient.waitForRows("SELECT id FROM where_nums WHERE id = 'h'", (r) => r.length === 1);
  await rawClient.waitForRows("SELECT id FROM where_nums WHERE id = 'h'", (r) => r.length === 1);
  assert.deepEqual(ids(await objectClient.query("SELECT id FROM where_nums")), ["c", "d", "g", "h"]);
  assert.deepEqual(ids(await rawClient.query("SELECT id FROM where_nums")), ["c", "d", "h"]);

  // Move-in / move-out on the numeric predicate.
  await sql`UPDATE where_nums SET n = 3 WHERE id = 'a'`;
  await sql`UPDATE where_nums SET n = 2 WHERE id = 'd'`;
  await objectClient.waitForRows(
    "SELECT id FROM where_nums ORDER BY id",
    (r) => ids(r).join() === "a,c,g,h",
  );
  // d still matches the raw where (label ILIKE 'z%', n not NULL); a NULL n moves it out.
  await sql`UPDATE where_nums SET n = NULL WHERE id = 'd'`;
  await rawClient.waitForRows(
    "SELECT id FROM where_nums ORDER BY id",
    (r) => ids(r).join() === "c,h",
  );
  await objectClient.waitForRows(
    "SELECT id FROM where_nums ORDER BY id",
    (r) => ids(r).join() === "a,c,g,h",
  );
});

// ---------------------------------------------------------------------------------------------
// 2. Include trees

const BLOG_TABLES = {
  authors: { fields: { id: "TEXT", name: "TEXT" } },
  posts: {
    fields: { id: "TEXT", author_id: "TEXT", title: "TEXT" },
    foreignKeys: [{
      column: "author_id",
      table: "authors",
      field: "author",
      inverseField: "posts",
    }],
  },
};

let blogReady = false;
async function ensureBlog() {
  if (blogReady) return;
  await electrify([
    "CREATE TABLE authors (id text PRIMARY KEY, name text)",
    "CREATE TABLE posts (id text PRIMARY KEY, author_id text REFERENCES authors(id), title text)",
  ], ["authors", "posts"]);
  await sql`INSERT INTO authors (id, name) VALUES ('a1', 'Ada'), ('a2', 'Brian'), ('a3', 'Claude')`;
  await sql`INSERT INTO posts (id, author_id, title) VALUES
    ('p1', 'a1', 'Ada 1'), ('p2', 'a1', 'Ada 2'), ('p3', 'a2', 'Brian 1')`;
  blogReady = true;
}

test("include: posts with { author: true } delivers the posts and their authors", {
  timeout: 60_000,
}, async () => {
  await ensureBlog();
  const c = await connectedClient(BLOG_TABLES);
  await c.sync("posts", { include: { author: true } });
  assert.deepEqual(
    await c.query("SELECT id, author_id, title FROM posts ORDER BY id"),
    [
      { id: "p1", author_id: "a1", title: "Ada 1" },
      { id: "p2", author_id: "a1", title: "Ada 2" },
      { id: "p3", author_id: "a2", title: "Brian 1" },
    ],
  );
  assert.deepEqual(
    await c.query("SELECT id, name FROM authors ORDER BY id"),
    [{ id: "a1", name: "Ada" }, { id: "a2", name: "Brian" }],
    "exactly the referenced authors",
  );
});

test("include: authors (where id = 'a1') with { posts: true } delivers the children; live child inserts follow", {
  timeout: 60_000,
}, async () => {
  await ensureBlog();
  const c = await connectedClient(BLOG_TABLES);
  await c.sync("authors", { where: { id: "a1" }, include: { posts: true } });
  assert.deepEqual(ids(await c.query("SELECT id FROM authors")), ["a1"]);
  assert.deepEqual(ids(await c.query("SELECT id FROM posts")), ["p1", "p2"]);

  // A post of a2 (not synced) must not arrive; a post of a1 afterwards must.
  await sql`INSERT INTO posts (id, author_id, title) VALUES ('p-a2-live', 'a2', 'Brian live')`;
  await sql`INSERT INTO posts (id, author_id, title) VALUES ('p-a1-live', 'a1', 'Ada live')`;
  const live = await c.waitForRows(
    "SELECT id, author_id, title FROM posts WHERE id = 'p-a1-live'",
    (r) => r.length === 1,
  );
  assert.deepEqual(live, [{ id: "p-a1-live", author_id: "a1", title: "Ada live" }]);
  assert.deepEqual(ids(await c.query("SELECT id FROM posts")), ["p-a1-live", "p1", "p2"]);
  assert.deepEqual(ids(await c.query("SELECT id FROM authors")), ["a1"]);

  // A child re-pointed to an author outside the shape leaves (gone); re-pointed back, returns.
  await sql`UPDATE posts SET author_id = 'a2' WHERE id = 'p2'`;
  await c.waitForRows("SELECT id FROM posts WHERE id = 'p2'", (r) => r.length === 0);
  await sql`UPDATE posts SET author_id = 'a1' WHERE id = 'p2'`;
  await c.waitForRows("SELECT id, author_id FROM posts WHERE id = 'p2'", (r) => r[0]?.author_id === "a1");
});

test("include: posts alone (no include) also brings the referenced authors; a new post brings its author", {
  timeout: 60_000,
}, async () => {
  await ensureBlog();
  await sql`INSERT INTO authors (id, name) VALUES ('a4', 'Dora'), ('a5', 'Eve')`;
  const c = await connectedClient(BLOG_TABLES);
  await c.sync("posts", { where: { title: { startsWith: "Ada" } } });
  const posts = ids(await c.query("SELECT id FROM posts"));
  assert.ok(posts.includes("p1") && posts.includes("p2"), `posts: ${posts}`);
  assert.ok(!posts.includes("p3"), "Brian's post does not match the where clause");
  assert.deepEqual(
    ids(await c.query("SELECT id FROM authors")),
    ["a1"],
    "the parent of every synced post, and no other author",
  );

  // A new matching post of an author the client does not have: the author comes with it.
  await sql`INSERT INTO posts (id, author_id, title) VALUES ('p-a4', 'a4', 'Ada-style post by Dora')`;
  await c.waitForRows("SELECT id FROM posts WHERE id = 'p-a4'", (r) => r.length === 1);
  assert.deepEqual(
    await c.query("SELECT id, name FROM authors WHERE id = 'a4'"),
    [{ id: "a4", name: "Dora" }],
    "the referenced author arrives with (or before) the post",
  );
  assert.deepEqual(ids(await c.query("SELECT id FROM authors")), ["a1", "a4"]);
  // SQLite foreign-key integrity: no post without its author.
  assert.deepEqual(
    await c.query("SELECT p.id FROM posts p LEFT JOIN authors a ON a.id = p.author_id WHERE a.id IS NULL"),
    [],
  );
});

test("include: an author moving into the where clause brings its posts (move-in); moving out removes them", {
  timeout: 60_000,
}, async () => {
  await ensureBlog();
  await sql`INSERT INTO authors (id, name) VALUES ('m1', 'mover'), ('m2', 'keep: stays')`;
  await sql`INSERT INTO posts (id, author_id, title) VALUES
    ('mp1', 'm1', 'mover 1'), ('mp2', 'm1', 'mover 2'), ('mp3', 'm2', 'stays 1')`;
  const c = await connectedClient(BLOG_TABLES);
  await c.sync("authors", { where: { name: { startsWith: "keep:" } }, include: { posts: true } });
  assert.deepEqual(ids(await c.query("SELECT id FROM authors")), ["m2"]);
  assert.deepEqual(ids(await c.query("SELECT id FROM posts")), ["mp3"]);

  // Move-in: the author arrives in the transaction, its posts later as additional data.
  await sql`UPDATE authors SET name = 'keep: moved in' WHERE id = 'm1'`;
  await c.waitForRows("SELECT id FROM posts ORDER BY id", (r) => ids(r).join() === "mp1,mp2,mp3");
  assert.deepEqual(
    await c.query("SELECT id, name FROM authors ORDER BY id"),
    [{ id: "m1", name: "keep: moved in" }, { id: "m2", name: "keep: stays" }],
  );
  // A post added to the moved-in author streams live.
  await sql`INSERT INTO posts (id, author_id, title) VALUES ('mp4', 'm1', 'mover 4')`;
  await c.waitForRows("SELECT id FROM posts WHERE id = 'mp4'", (r) => r.length === 1);

  // Move-out: the author and every post only reachable through it disappear.
  await sql`UPDATE authors SET name = 'moved out' WHERE id = 'm1'`;
  await c.waitForRows("SELECT id FROM authors", (r) => ids(r).join() === "m2");
  await c.waitForRows("SELECT id FROM posts", (r) => ids(r).join() === "mp3");
});

test("include with a where clause on the child layer (OR): only matching children of synced parents", {
  timeout: 60_000,
}, async () => {
  await ensureBlog();
  await sql`INSERT INTO authors (id, name) VALUES ('n1', 'nested one'), ('n2', 'nested two')`;
  await sql`INSERT INTO posts (id, author_id, title) VALUES
    ('np1', 'n1', 'red'), ('np2', 'n1', 'blue'), ('np3', 'n1', 'green'),
    ('np4', 'n2', 'red'), ('np5', 'n2', 'blue')`;
  const c = await connectedClient(BLOG_TABLES);
  await c.sync("authors", {
    where: { id: "n1" },
    include: { posts: { where: "this.title = 'red' OR this.title = 'blue'" } },
  });
  assert.deepEqual(ids(await c.query("SELECT id FROM authors")), ["n1"]);
  assert.deepEqual(
    ids(await c.query("SELECT id FROM posts")),
    ["np1", "np2"],
    "red/blue posts of n1 only (not n2's: the OR must not escape the parent condition)",
  );
  // Live: a red post of n2 and a green post of n1 must not arrive; a blue post of n1 must.
  await sql`INSERT INTO posts (id, author_id, title) VALUES ('np6', 'n2', 'red')`;
  await sql`INSERT INTO posts (id, author_id, title) VALUES ('np7', 'n1', 'green')`;
  await sql`INSERT INTO posts (id, author_id, title) VALUES ('np8', 'n1', 'blue')`;
  await c.waitForRows("SELECT id FROM posts WHERE id = 'np8'", (r) => r.length === 1);
  assert.deepEqual(ids(await c.query("SELECT id FROM posts")), ["np1", "np2", "np8"]);
  // A child changing its title out of the child where clause leaves.
  await sql`UPDATE posts SET title = 'green' WHERE id = 'np2'`;
  await c.waitForRows("SELECT id FROM posts", (r) => ids(r).join() === "np1,np8");
});

// ---------------------------------------------------------------------------------------------
// 6. Several clients on one shape

test("three clients on the same shape each see an insert; one disconnecting does not affect the others", {
  timeout: 90_000,
}, async () => {
  await electrify(["CREATE TABLE shared_items (id text PRIMARY KEY, value text)"], ["shared_items"]);
  await sql`INSERT INTO shared_items (id, value) VALUES ('seed', 'seed')`;
  const tables = { shared_items: { fields: { id: "TEXT", value: "TEXT" } } };
  const clients = [];
  for (let i = 0; i < 3; i++) {
    const c = await connectedClient(tables, { userId: `user-${i}` });
    await c.sync("shared_items");
    clients.push(c);
  }
  for (const c of clients) {
    assert.deepEqual(await c.query("SELECT id, value FROM shared_items"), [{ id: "seed", value: "seed" }]);
  }

  await sql`INSERT INTO shared_items (id, value) VALUES ('one', 'first')`;
  await Promise.all(clients.map((c) =>
    c.waitForRows("SELECT id FROM shared_items WHERE id = 'one'", (r) => r.length === 1)
  ));

  const [leaver, ...stayers] = clients;
  leaver.electric.disconnect();
  await waitFor(() => !leaver.electric.isConnected, {
    timeoutMs: 5_000,
    what: "the disconnected client to report isConnected = false",
  });

  await sql`INSERT INTO shared_items (id, value) VALUES ('two', 'second')`;
  await sql`UPDATE shared_items SET value = 'first, updated' WHERE id = 'one'`;
  await Promise.all(stayers.map((c) =>
    c.waitForRows(
      "SELECT id, value FROM shared_items ORDER BY id",
      (r) => r.length === 3 && r.find((x) => x.id === "one")?.value === "first, updated",
    )
  ));
  assert.deepEqual(
    ids(await leaver.query("SELECT id FROM shared_items")),
    ["one", "seed"],
    "the disconnected client received nothing meanwhile",
  );

  // The client that left reconnects and catches up.
  await leaver.connect(10_000);
  await leaver.waitForRows(
    "SELECT id, value FROM shared_items ORDER BY id",
    (r) => r.length === 3 && r.find((x) => x.id === "one")?.value === "first, updated",
    15_000,
  );
  // And everyone still gets live changes.
  await sql`INSERT INTO shared_items (id, value) VALUES ('three', 'third')`;
  await Promise.all(clients.map((c) =>
    c.waitForRows("SELECT id FROM shared_items WHERE id = 'three'", (r) => r.length === 1)
  ));
});

// ---------------------------------------------------------------------------------------------
// 7. Many rows

test("initial sync of 5,000 rows arrives completely", { timeout: 90_000 }, async () => {
  await electrify(["CREATE TABLE many_rows (id int4 PRIMARY KEY, label text, amount float8)"], ["many_rows"]);
  await sql`INSERT INTO many_rows (id, label, amount)
            SELECT i, 'row ' || i || ' ' || repeat('x', i % 50), i / 4.0 FROM generate_series(1, 5000) AS i`;
  const c = await connectedClient({ many_rows: { fields: { id: "INT4", label: "TEXT", amount: "FLOAT8" } } });
  await c.sync("many_rows", {}, 60_000);
  const [summary] = await c.query(
    "SELECT count(*) AS n, count(DISTINCT id) AS d, min(id) AS lo, max(id) AS hi, sum(amount) AS total, sum(length(label)) AS chars FROM many_rows",
  );
  const [expected] = await sql`SELECT count(*)::int AS n, sum(amount)::float8 AS total,
                                      sum(length(label))::int AS chars FROM many_rows`;
  assert.deepEqual(summary, {
    n: 5000,
    d: 5000,
    lo: 1,
    hi: 5000,
    total: expected.total,
    chars: expected.chars,
  });
  // Live changes still flow after the big delivery.
  await sql`UPDATE many_rows SET label = 'changed' WHERE id = 4321`;
  await c.waitForRows("SELECT label FROM many_rows WHERE id = 4321", (r) => r[0]?.label === "changed");
});

// ---------------------------------------------------------------------------------------------
// 8. Column types

/**
 * Every supported type, read back from SQLite raw. Expectations (client 0.12.1 decoding,
 * satellite/client.js `deserializeColumnData` + sqliteEncoders, then better-sqlite3 storing
 * into the column affinity of the translated migration):
 * - uuid, text, varchar, enum, date, time, timestamp, timestamptz: TEXT exactly as Postgres
 *   prints it (DateStyle ISO, UTC), timestamptz with `+00` replaced by `Z`;
 * - int2, int4: `Number(text)` → INTEGER;
 * - int8: kept as text by the decoder, stored into an INTEGER column → INTEGER affinity
 *   converts it; read as text (`CAST(… AS TEXT)`) to avoid JS number precision loss;
 * - float4, float8: `Number(text)` → REAL (`Infinity`/`-Infinity` are REAL ±Inf); `NaN` is
 *   kept as the string "NaN" → TEXT (initial data; live transactions: NULL, see below); `-0`
 *   becomes REAL -0.0, which SQLite reads back as 0;
 * - bool: `t`/`f` → 1/0 INTEGER;
 * - jsonb: the JSON text as Postgres prints jsonb (normalised key order and spacing) → TEXT;
 * - bytea: raw bytes → BLOB (better-sqlite3 returns a Buffer);
 * - NULL → NULL in every column.
 */
test("column types: values read from Postgres land in SQLite as the client expects", {
  timeout: 60_000,
}, async () => {
  await electrify([
    "CREATE TYPE mood AS ENUM ('happy', 'sad', 'meh')",
    `CREATE TABLE typed (
      id uuid PRIMARY KEY,
      t text, v varchar, i2 int2, i4 int4, i8 int8, f4 float4, f8 float8, b bool,
      d date, tm time, ts timestamp, tstz timestamptz, j jsonb, bin bytea, m mood
    )`,
  ], ["typed"]);
  const ID_EDGE = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11";
  const ID_MIN = "00000000-0000-0000-0000-000000000001";
  const ID_NULL = "FFFFFFFF-FFFF-4FFF-BFFF-FFFFFFFFFFFF"; // upper case in, lower case out
  const ID_INF = "11111111-2222-3333-4444-555555555555";
  await sql.unsafe(`INSERT INTO typed VALUES
    ('${ID_EDGE}', 'it''s "quoted" – ünïcødé 🎉 \\ back', 'varchar ✓', 32767, 2147483647,
     9223372036854775807, 3.14, 1e+100, true, '2024-02-29', '23:59:59.999999',
     '2024-06-01 12:34:56.123456', '2024-06-01 12:34:56.654321+02', '{"b": [1, 2.5, null], "a": {"x": "y"}}',
     '\\x00ff0041000a', 'happy'),
    ('${ID_MIN}', '', '', -32768, -2147483648, -9223372036854775808, -1.5, -0, false,
     '0001-01-01', '00:00:00', '1970-01-01 00:00:00', '1970-01-01 00:00:00+00', '[]', '\\x', 'meh'),
    ('${ID_INF}', 'inf', 'inf', 0, 0, 0, 'Infinity', '-Infinity', true,
     '9999-12-31', '12:00:00.5', '2000-01-01 00:00:00.000001', '2000-01-01 00:00:00.5+00', '"just a string"', '\\x00', 'sad'),
    ('${ID_NULL}', NULL, NULL, NULL, NULL, NULL, 'NaN', 'NaN', NULL,
     NULL, NULL, NULL, NULL, NULL, NULL, NULL)`);

  const c = await connectedClient({
    typed: {
      fields: {
        id: "UUID",
        t: "TEXT",
        v: "VARCHAR",
        i2: "INT2",
        i4: "INT4",
        i8: "INT8",
        f4: "FLOAT4",
        f8: "FLOAT8",
        b: "BOOL",
        d: "DATE",
        tm: "TIME",
        ts: "TIMESTAMP",
        tstz: "TIMESTAMPTZ",
        j: "JSONB",
        bin: "BYTEA",
        m: "TEXT",
      },
    },
  });
  await c.sync("typed");
  // Live path as well: the same values inserted after the subscription.
  await sql.unsafe(`INSERT INTO typed SELECT
      ('b' || substr(id::text, 2))::uuid, t, v, i2, i4, i8, f4, f8, b, d, tm, ts, tstz, j, bin, m
    FROM typed`);
  await c.waitForRows("SELECT id FROM typed", (r) => r.length === 8);

  const rows = await c.query(`SELECT id, t, v, i2, i4, CAST(i8 AS TEXT) AS i8, typeof(i8) AS i8_type,
      f4, typeof(f4) AS f4_type, f8, typeof(f8) AS f8_type, b, d, tm, ts, tstz, j, bin, typeof(bin) AS bin_type, m
    FROM typed ORDER BY id`);
  const byId = Object.fromEntries(rows.map((r) => [String(r.id), r]));

  const edge = {
    t: `it's "quoted" – ünïcødé 🎉 \\ back`,
    v: "varchar ✓",
    i2: 32767,
    i4: 2147483647,
    i8: "9223372036854775807",
    i8_type: "integer",
    f4: 3.14,
    f4_type: "real",
    f8: 1e100,
    f8_type: "real",
    b: 1,
    d: "2024-02-29",
    tm: "23:59:59.999999",
    ts: "2024-06-01 12:34:56.123456",
    tstz: "2024-06-01 10:34:56.654321Z",
    j: '{"a": {"x": "y"}, "b": [1, 2.5, null]}',
    bin: Buffer.from([0x00, 0xff, 0x00, 0x41, 0x00, 0x0a]),
    bin_type: "blob",
    m: "happy",
  };
  const min = {
    t: "",
    v: "",
    i2: -32768,
    i4: -2147483648,
    i8: "-9223372036854775808",
    i8_type: "integer",
    f4: -1.5,
    f4_type: "real",
    f8: 0, // -0 arrives as the text "-0", Number("-0") = -0, SQLite reads REAL -0.0 back as 0
    f8_type: "real",
    b: 0,
    d: "0001-01-01",
    tm: "00:00:00",
    ts: "1970-01-01 00:00:00",
    tstz: "1970-01-01 00:00:00Z",
    j: "[]",
    bin: Buffer.alloc(0),
    bin_type: "blob",
    m: "meh",
  };
  const inf = {
    t: "inf",
    v: "inf",
    i2: 0,
    i4: 0,
    i8: "0",
    i8_type: "integer",
    f4: Infinity,
    f4_type: "real",
    f8: -Infinity,
    f8_type: "real",
    b: 1,
    d: "9999-12-31",
    tm: "12:00:00.5",
    ts: "2000-01-01 00:00:00.000001",
    tstz: "2000-01-01 00:00:00.5Z",
    j: '"just a string"',
    bin: Buffer.from([0x00]),
    bin_type: "blob",
    m: "sad",
  };
  const nulls = {
    t: null,
    v: null,
    i2: null,
    i4: null,
    i8: null,
    i8_type: "null",
    f4: "NaN", // the client keeps NaN as the string "NaN" → TEXT in a REAL column
    f4_type: "text",
    f8: "NaN",
    f8_type: "text",
    b: null,
    d: null,
    tm: null,
    ts: null,
    tstz: null,
    j: null,
    bin: null,
    bin_type: "null",
    m: null,
  };
  /** @param {string} id @param {object} expected @param {string} what */
  const check = (id, expected, what) => {
    const row = byId[id];
    assert.ok(row, `row ${id} (${what}) is in SQLite; ids: ${Object.keys(byId)}`);
    const { id: _id, ...actual } = row;
    for (const [k, v] of Object.entries(actual)) {
      if (Buffer.isBuffer(v)) /** @type {any} */ (actual)[k] = Buffer.from(v);
    }
    assert.deepEqual(actual, expected, `${what} (${id})`);
  };
  const live = (/** @type {string} */ id) => `b${id.slice(1)}`;
  // Client quirk, not a service matter: a live transaction goes through the client's oplog
  // serialisation (satellite/oplog.js `serialiseRow`/`deserialiseRow`), which turns the string
  // "NaN" into the number NaN, and SQLite stores a NaN binding as NULL. Subscription data is
  // inserted directly, so there "NaN" stays TEXT.
  const nullsLive = { ...nulls, f4: null, f4_type: "null", f8: null, f8_type: "null" };
  for (const [id, expected, expectedLive, what] of /** @type {const} */ ([
    [ID_EDGE, edge, edge, "edge values"],
    [ID_MIN, min, min, "minimum values"],
    [ID_INF, inf, inf, "infinities"],
    [ID_NULL.toLowerCase(), nulls, nullsLive, "NULLs and NaN"],
  ])) {
    check(id, expected, `initial sync: ${what}`);
    check(live(id), expectedLive, `live insert: ${what}`);
  }
});
