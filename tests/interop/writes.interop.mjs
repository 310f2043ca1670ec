/**
 * The write path with real clients (issue 5 item 6; postgres-side.md §8, §11 items 33–39, 42;
 * satellite-protocol.md §4.3, §4.5, §4.9, §4.10): client writes reach Postgres and other
 * clients, concurrent writes merge per the consistency model, and offline writes are sent
 * exactly once.
 *
 * Service runtime: INTEROP_RUNTIME (deno | bun | binary). Write mode: INTEROP_WRITE_MODE
 * (direct_writes | logical_replication), passed to the service through the harness `env`.
 * Every test uses fresh clients (fresh SQLite files, hence fresh client ids) and its own rows.
 * "Offline" writes are made between `electric.disconnect()` and a new `connect()`.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import {
  createClient,
  currentRuntime,
  defer,
  startService,
  waitFor,
} from "./harness/mod.mjs";
import {
  clientIdOf,
  clientLsnHex,
  currentWriteMode,
  disconnect,
  oplogOf,
  startWriteScenario,
  waitForEcho,
  writeTransaction,
} from "./harness/writes.mjs";

const runtime = currentRuntime();
const mode = currentWriteMode();

/** @type {Record<string, import("./harness/client.mjs").TableSpec>} */
const TABLES = {
  items: { fields: { id: "TEXT", v: "TEXT", w: "TEXT", n: "INT4" } },
  parent: { fields: { id: "TEXT", name: "TEXT" } },
  child: {
    fields: { id: "TEXT", parent_id: "TEXT", v: "TEXT" },
    foreignKeys: [{ column: "parent_id", table: "parent" }],
  },
  counters: { fields: { id: "TEXT", n: "INT4" } },
  events: { fields: { id: "TEXT", counter_id: "TEXT", note: "TEXT" } },
};

/** @type {Awaited<ReturnType<typeof startService>>} */
let service;
/** @type {import("postgres").Sql} */
let sql;

const serviceOutput = () => {
  const out = service?.output() ?? "(not started)";
  return `--- service output (${runtime}, ${mode}), last 6000 chars ---\n${
    out.slice(-6000)
  }`;
};

/** @param {string} prefix */
const uid = (prefix) => `${prefix}-${randomBytes(4).toString("hex")}`;

/**
 * Polls a Postgres query until `predicate` holds.
 * @template {readonly any[]} R
 * @param {string} what
 * @param {() => Promise<R>} query
 * @param {(rows: R) => boolean} predicate
 * @param {number} [timeoutMs]
 * @returns {Promise<R>}
 */
async function pgWait(what, query, predicate, timeoutMs = 15_000) {
  /** @type {unknown} */
  let last;
  return await waitFor(async () => {
    const rows = await query();
    last = rows;
    return predicate(rows) ? rows : undefined;
  }, {
    timeoutMs,
    intervalMs: 25,
    what: () =>
      `${what}; last Postgres rows: ${JSON.stringify(last)}\n${serviceOutput()}`,
  });
}

/**
 * A connected client that has synced `tables` (every table in full).
 * @param {string[]} tables
 */
async function connectedClient(tables) {
  const client = await createClient({
    serviceUrl: service.url,
    tables: TABLES,
    diagnostics: serviceOutput,
  });
  defer("client", () => client.close());
  await client.connect(15_000);
  // connect() resolves before the migrations are applied; the service may also still be
  // taking in the later ones (one per table).
  const names = Object.keys(TABLES);
  await client.waitForRows(
    `SELECT name FROM sqlite_master WHERE type = 'table' AND name IN (${
      names.map((n) => `'${n}'`).join(", ")
    })`,
    (rows) => rows.length === names.length,
    15_000,
  );
  for (const table of tables) await client.sync(table, {}, 15_000);
  return client;
}

/** @param {string[]} tables */
async function pair(tables) {
  return [await connectedClient(tables), await connectedClient(tables)];
}

/**
 * Waits until Postgres has recorded `lsnHex` as the client's acknowledged LSN, i.e. the
 * client transaction ending at that oplog entry is committed.
 * @param {string} clientId
 * @param {string} lsnHex
 */
async function waitForAcknowledged(clientId, lsnHex) {
  await pgWait(
    `electric.acknowledged_client_lsns to hold ${lsnHex} for client ${clientId}`,
    () =>
      sql`SELECT '\\x' || encode(lsn, 'hex') AS lsn
            FROM electric.acknowledged_client_lsns WHERE client_id = ${clientId}`,
    (rows) => rows.length === 1 && rows[0].lsn === lsnHex,
  );
}

/** Tags of a row in the client's shadow table (client form). */
async function clientTags(
  /** @type {any} */ client,
  /** @type {string} */ table,
  /** @type {string} */ id,
) {
  const rows = await client.query(
    "SELECT tags FROM _electric_shadow WHERE tablename = ? AND \"primaryKey\" LIKE ?",
    [table, `%"${id}"%`],
  );
  return rows.length === 0 ? undefined : JSON.parse(String(rows[0].tags));
}

before(async () => {
  ({ service, sql } = await startWriteScenario({
    runtime,
    mode,
    connections: 4,
    diagnostics: serviceOutput,
    schema: `
    CREATE TABLE items (id text PRIMARY KEY, v text, w text, n int4);
    CREATE TABLE parent (id text PRIMARY KEY, name text);
    CREATE TABLE child (id text PRIMARY KEY, parent_id text NOT NULL REFERENCES parent (id), v text);
    CREATE TABLE counters (id text PRIMARY KEY, n int4 NOT NULL);
    CREATE TABLE events (id text PRIMARY KEY, counter_id text, note text);
    -- Every row change applied to Postgres, with its transaction: duplicates show up here.
    CREATE TABLE audit (seq bigserial PRIMARY KEY, tbl text NOT NULL, op text NOT NULL,
                        id text NOT NULL, xid bigint NOT NULL DEFAULT txid_current());
    CREATE FUNCTION audit_row() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO public.audit (tbl, op, id)
      VALUES (TG_TABLE_NAME, TG_OP, CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END);
      RETURN NULL;
    END $$;
    CREATE TRIGGER audit_row AFTER INSERT OR UPDATE OR DELETE ON counters
      FOR EACH ROW EXECUTE FUNCTION audit_row();
    CREATE TRIGGER audit_row AFTER INSERT OR UPDATE OR DELETE ON events
      FOR EACH ROW EXECUTE FUNCTION audit_row();
    -- Also under session_replication_role = replica (the logical_replication apply worker).
    ALTER TABLE counters ENABLE ALWAYS TRIGGER audit_row;
    ALTER TABLE events ENABLE ALWAYS TRIGGER audit_row;
  ` +
      Object.keys(TABLES).map((t) => `CALL electric.electrify('${t}');`).join("\n"),
  }));
}, { timeout: 90_000 });

test(`[${runtime}/${mode}] 1. insert, update and delete from client A reach Postgres and client B`, {
  timeout: 60_000,
}, async () => {
  const [a, b] = await pair(["items"]);
  const aId = await clientIdOf(a);
  const id = uid("s1");
  const rowOf = `SELECT id, v, w, n FROM items WHERE id = '${id}'`;

  const inserted = await writeTransaction(
    a,
    "INSERT INTO items (id, v, w, n) VALUES (?, ?, ?, ?)",
    [id, "one", "it's \\ w", 1],
  );
  const pgRow = await pgWait(
    "the inserted row in Postgres",
    () => sql`SELECT id, v, w, n FROM items WHERE id = ${id}`,
    (rows) => rows.length === 1,
  );
  assert.deepEqual([...pgRow], [{ id, v: "one", w: "it's \\ w", n: 1 }]);
  await b.waitForRows(rowOf, (rows) => rows.length === 1, 10_000);
  assert.deepEqual(await b.query(rowOf), [{
    id,
    v: "one",
    w: "it's \\ w",
    n: 1,
  }]);
  // §11 item 33: the row comes back with the client's origin and commit timestamp as its tag.
  const tag = `${aId}@${Date.parse(inserted.timestamp)}`;
  assert.deepEqual(await clientTags(b, "items", id), [tag]);
  await waitForEcho(a, 10_000, serviceOutput);
  assert.deepEqual(await clientTags(a, "items", id), [tag]);

  await writeTransaction(a, "UPDATE items SET v = ?, n = n + 1 WHERE id = ?", [
    "two",
    id,
  ]);
  await pgWait(
    "the update in Postgres",
    () => sql`SELECT v, w, n FROM items WHERE id = ${id}`,
    (rows) => rows.length === 1 && rows[0].v === "two" && rows[0].n === 2,
  );
  await b.waitForRows(
    rowOf,
    (rows) => rows.length === 1 && rows[0].v === "two" && rows[0].n === 2,
    10_000,
  );

  await writeTransaction(a, "DELETE FROM items WHERE id = ?", [id]);
  await pgWait(
    "the delete in Postgres",
    () => sql`SELECT id FROM items WHERE id = ${id}`,
    (rows) => rows.length === 0,
  );
  const tomb =
    await sql`SELECT v, n FROM electric.tombstone__public__items WHERE id = ${id}`;
  assert.deepEqual([...tomb], [{ v: "two", n: 2 }], "tombstone of the deleted row");
  await b.waitForRows(rowOf, (rows) => rows.length === 0, 10_000);
  await waitForEcho(a, 10_000, serviceOutput);
});

test(`[${runtime}/${mode}] 2. concurrent offline updates of different columns both survive`, {
  timeout: 60_000,
}, async () => {
  const [a, b] = await pair(["items"]);
  const id = uid("s2");
  const rowOf = `SELECT id, v, w FROM items WHERE id = '${id}'`;
  await writeTransaction(a, "INSERT INTO items (id, v, w) VALUES (?, ?, ?)", [
    id,
    "v0",
    "w0",
  ]);
  await waitForEcho(a, 10_000, serviceOutput);
  await b.waitForRows(rowOf, (rows) => rows.length === 1, 10_000);

  await disconnect(a);
  await disconnect(b);
  await writeTransaction(a, "UPDATE items SET v = 'from-a' WHERE id = ?", [id]);
  await writeTransaction(b, "UPDATE items SET w = 'from-b' WHERE id = ?", [id]);
  await a.connect(15_000);
  await b.connect(15_000);

  const want = { id, v: "from-a", w: "from-b" };
  await pgWait(
    "both columns' updates in Postgres",
    () => sql`SELECT id, v, w FROM items WHERE id = ${id}`,
    (rows) => rows.length === 1 && rows[0].v === "from-a" && rows[0].w === "from-b",
  );
  for (const c of [a, b]) {
    await c.waitForRows(
      rowOf,
      (rows) => rows.length === 1 && rows[0].v === want.v && rows[0].w === want.w,
      10_000,
    );
  }
  await waitForEcho(a, 10_000, serviceOutput);
  await waitForEcho(b, 10_000, serviceOutput);
});

test(`[${runtime}/${mode}] 3. same column: the later commit timestamp wins even when applied first`, {
  timeout: 60_000,
}, async () => {
  const [a, b] = await pair(["items"]);
  const [aId, bId] = [await clientIdOf(a), await clientIdOf(b)];
  const id = uid("s3");
  const rowOf = `SELECT v FROM items WHERE id = '${id}'`;
  await writeTransaction(a, "INSERT INTO items (id, v) VALUES (?, ?)", [
    id,
    "v0",
  ]);
  await waitForEcho(a, 10_000, serviceOutput);
  await b.waitForRows(rowOf, (rows) => rows.length === 1, 10_000);

  await disconnect(a);
  await disconnect(b);
  const early = await writeTransaction(
    a,
    "UPDATE items SET v = 'early-a' WHERE id = ?",
    [id],
  );
  // B's write must carry a strictly later wall-clock timestamp.
  await waitFor(() => Date.now() > Date.parse(early.timestamp) + 1, {
    timeoutMs: 1000,
    intervalMs: 1,
    what: "the clock to advance",
  });
  const late = await writeTransaction(
    b,
    "UPDATE items SET v = 'late-b' WHERE id = ?",
    [id],
  );
  assert.ok(Date.parse(late.timestamp) > Date.parse(early.timestamp));

  // The later write reaches Postgres first; the earlier one, applied after it, must lose.
  await b.connect(15_000);
  await waitForAcknowledged(bId, clientLsnHex(late.rowid));
  await pgWait(
    "B's value in Postgres",
    () => sql`SELECT v FROM items WHERE id = ${id}`,
    (rows) => rows[0]?.v === "late-b",
  );
  await a.connect(15_000);
  await waitForAcknowledged(aId, clientLsnHex(early.rowid));
  const [row] = await sql`SELECT v FROM items WHERE id = ${id}`;
  assert.equal(row.v, "late-b", "the earlier timestamp must not overwrite the later");
  const [shadow] =
    await sql`SELECT (_tag_v).source_id AS source, (_tag_v).timestamp AS ts
                FROM electric.shadow__public__items WHERE id = ${id}`;
  assert.equal(shadow.source, bId, "column tag of v is B's");
  assert.equal(shadow.ts.getTime(), Date.parse(late.timestamp));
  for (const c of [a, b]) {
    await c.waitForRows(rowOf, (rows) => rows[0]?.v === "late-b", 10_000);
  }
  await waitForEcho(a, 10_000, serviceOutput);
  await waitForEcho(b, 10_000, serviceOutput);
  assert.deepEqual(await a.query(rowOf), [{ v: "late-b" }]);
});

test(`[${runtime}/${mode}] 4. an offline update that did not observe a concurrent delete resurrects the row`, {
  timeout: 60_000,
}, async () => {
  const [a, b] = await pair(["items"]);
  const id = uid("s4");
  const rowOf = `SELECT id, v, w FROM items WHERE id = '${id}'`;
  await sql`INSERT INTO items (id, v, w) VALUES (${id}, 'v0', 'w-original')`;
  await a.waitForRows(rowOf, (rows) => rows.length === 1, 10_000);
  await b.waitForRows(rowOf, (rows) => rows.length === 1, 10_000);

  await disconnect(b);
  await writeTransaction(a, "DELETE FROM items WHERE id = ?", [id]);
  await pgWait(
    "A's delete in Postgres",
    () => sql`SELECT id FROM items WHERE id = ${id}`,
    (rows) => rows.length === 0,
  );
  await waitForEcho(a, 10_000, serviceOutput);
  await writeTransaction(b, "UPDATE items SET v = 'updated-by-b' WHERE id = ?", [
    id,
  ]);
  await b.connect(15_000);

  // Modified column from B, the other from the tombstone (§8.4).
  const want = { id, v: "updated-by-b", w: "w-original" };
  await pgWait(
    "the row resurrected in Postgres",
    () => sql`SELECT id, v, w FROM items WHERE id = ${id}`,
    (rows) => rows.length === 1,
  ).then((rows) => assert.deepEqual([...rows], [want]));
  for (const c of [a, b]) {
    await c.waitForRows(
      rowOf,
      (rows) => rows.length === 1 && rows[0].v === want.v && rows[0].w === want.w,
      10_000,
    );
  }
  await waitForEcho(b, 10_000, serviceOutput);
});

test(`[${runtime}/${mode}] 4b. an offline delete that did not observe a concurrent update leaves the row (add-wins)`, {
  timeout: 60_000,
}, async () => {
  const [a, b] = await pair(["items"]);
  const id = uid("s4b");
  const rowOf = `SELECT id, v FROM items WHERE id = '${id}'`;
  await sql`INSERT INTO items (id, v) VALUES (${id}, 'v0')`;
  await a.waitForRows(rowOf, (rows) => rows.length === 1, 10_000);
  await b.waitForRows(rowOf, (rows) => rows.length === 1, 10_000);

  await disconnect(b);
  await writeTransaction(a, "UPDATE items SET v = 'updated-by-a' WHERE id = ?", [
    id,
  ]);
  await pgWait(
    "A's update in Postgres",
    () => sql`SELECT v FROM items WHERE id = ${id}`,
    (rows) => rows[0]?.v === "updated-by-a",
  );
  await waitForEcho(a, 10_000, serviceOutput);
  const deleted = await writeTransaction(b, "DELETE FROM items WHERE id = ?", [
    id,
  ]);
  await b.connect(15_000);
  await waitForAcknowledged(await clientIdOf(b), clientLsnHex(deleted.rowid));
  const rows = await sql`SELECT id, v FROM items WHERE id = ${id}`;
  assert.deepEqual([...rows], [{ id, v: "updated-by-a" }], "the row survives");
  for (const c of [a, b]) {
    await c.waitForRows(
      rowOf,
      (rows) => rows.length === 1 && rows[0].v === "updated-by-a",
      10_000,
    );
  }
  await waitForEcho(b, 10_000, serviceOutput);
});

test(`[${runtime}/${mode}] 5. a child inserted offline under a concurrently deleted parent: the parent is compensated`, {
  timeout: 60_000,
}, async () => {
  const [a, b] = await pair(["parent", "child"]);
  const pid = uid("p5");
  const cid = uid("c5");
  await writeTransaction(a, "INSERT INTO parent (id, name) VALUES (?, ?)", [
    pid,
    "the parent",
  ]);
  await waitForEcho(a, 10_000, serviceOutput);
  await b.waitForRows(
    `SELECT id FROM parent WHERE id = '${pid}'`,
    (rows) => rows.length === 1,
    10_000,
  );

  await disconnect(b);
  await writeTransaction(a, "DELETE FROM parent WHERE id = ?", [pid]);
  await pgWait(
    "A's delete of the parent in Postgres",
    () => sql`SELECT id FROM parent WHERE id = ${pid}`,
    (rows) => rows.length === 0,
  );
  await waitForEcho(a, 10_000, serviceOutput);
  await writeTransaction(
    b,
    "INSERT INTO child (id, parent_id, v) VALUES (?, ?, ?)",
    [cid, pid, "the child"],
  );
  const ops = (await oplogOf(b)).map((e) => `${e.tablename}:${e.optype}`);
  assert.ok(
    ops.includes("parent:COMPENSATION"),
    `B's transaction carries a compensation for the parent: ${ops}`,
  );
  await b.connect(15_000);

  await pgWait(
    "the child in Postgres",
    () => sql`SELECT id, parent_id, v FROM child WHERE id = ${cid}`,
    (rows) => rows.length === 1,
  ).then((rows) =>
    assert.deepEqual([...rows], [{ id: cid, parent_id: pid, v: "the child" }])
  );
  const parents = await sql`SELECT id, name FROM parent WHERE id = ${pid}`;
  assert.deepEqual(
    [...parents],
    [{ id: pid, name: "the parent" }],
    "the parent is resurrected from its tombstone",
  );
  for (const c of [a, b]) {
    await c.waitForRows(
      `SELECT id, name FROM parent WHERE id = '${pid}'`,
      (rows) => rows.length === 1 && rows[0].name === "the parent",
      10_000,
    );
    await c.waitForRows(
      `SELECT id FROM child WHERE id = '${cid}'`,
      (rows) => rows.length === 1,
      10_000,
    );
  }
  await waitForEcho(b, 10_000, serviceOutput);
});

test(`[${runtime}/${mode}] 6a. a Postgres update committed after an offline client write, before it synced, wins`, {
  timeout: 60_000,
}, async () => {
  const [b] = await pair(["items"]);
  const bId = await clientIdOf(b);
  const id = uid("s6a");
  const rowOf = `SELECT v FROM items WHERE id = '${id}'`;
  await sql`INSERT INTO items (id, v) VALUES (${id}, 'v0')`;
  await b.waitForRows(rowOf, (rows) => rows.length === 1, 10_000);

  await disconnect(b);
  const written = await writeTransaction(
    b,
    "UPDATE items SET v = 'from-client' WHERE id = ?",
    [id],
  );
  await sql`UPDATE items SET v = 'from-postgres' WHERE id = ${id}`;
  await b.connect(15_000);
  await waitForAcknowledged(bId, clientLsnHex(written.rowid));
  const [row] = await sql`SELECT v FROM items WHERE id = ${id}`;
  assert.equal(row.v, "from-postgres");
  await b.waitForRows(rowOf, (rows) => rows[0]?.v === "from-postgres", 10_000);
  await waitForEcho(b, 10_000, serviceOutput);
  assert.deepEqual(await b.query(rowOf), [{ v: "from-postgres" }]);
});

test(`[${runtime}/${mode}] 6b. a Postgres transaction open while a client write is applied wins (§11 item 36)`, {
  timeout: 60_000,
}, async () => {
  const [b] = await pair(["items"]);
  const bId = await clientIdOf(b);
  const id = uid("s6b");
  const rowOf = `SELECT v FROM items WHERE id = '${id}'`;
  await sql`INSERT INTO items (id, v) VALUES (${id}, 'v0')`;
  await b.waitForRows(rowOf, (rows) => rows.length === 1, 10_000);

  const pg = await sql.reserve();
  try {
    await pg`BEGIN`;
    // Fixes transaction_timestamp() before the client writes.
    await pg`SELECT txid_current()`;
    const written = await writeTransaction(
      b,
      "UPDATE items SET v = 'from-client' WHERE id = ?",
      [id],
    );
    await waitForAcknowledged(bId, clientLsnHex(written.rowid));
    await pgWait(
      "the client's value in Postgres",
      () => sql`SELECT v FROM items WHERE id = ${id}`,
      (rows) => rows[0]?.v === "from-client",
    );
    await pg`UPDATE items SET v = 'from-postgres' WHERE id = ${id}`;
    await pg`COMMIT`;
    const [shadow] =
      await sql`SELECT (_tag_v).source_id AS source, (_tag_v).timestamp AS ts
                  FROM electric.shadow__public__items WHERE id = ${id}`;
    assert.equal(shadow.source, null, "the column tag has the NULL (Postgres) source");
    assert.equal(
      shadow.ts.getTime(),
      Date.parse(written.timestamp),
      "…and the client's timestamp",
    );
  } finally {
    pg.release();
  }
  const [row] = await sql`SELECT v FROM items WHERE id = ${id}`;
  assert.equal(row.v, "from-postgres");
  await b.waitForRows(rowOf, (rows) => rows[0]?.v === "from-postgres", 10_000);
  await waitForEcho(b, 10_000, serviceOutput);
});

test(`[${runtime}/${mode}] 7. writes made while disconnected are sent on reconnect exactly once`, {
  timeout: 90_000,
}, async () => {
  const [a] = await pair(["counters", "events"]);
  const aId = await clientIdOf(a);
  const cid = uid("s7");
  const TXS = 5;
  const first = await writeTransaction(
    a,
    "INSERT INTO counters (id, n) VALUES (?, 0)",
    [cid],
  );
  await waitForAcknowledged(aId, clientLsnHex(first.rowid));
  await waitForEcho(a, 10_000, serviceOutput);

  await disconnect(a);
  let last = first;
  for (let i = 1; i <= TXS; i++) {
    last = await writeTransaction(a, [
      { sql: "UPDATE counters SET n = n + 1 WHERE id = ?", args: [cid] },
      {
        sql: "INSERT INTO events (id, counter_id, note) VALUES (?, ?, ?)",
        args: [`${cid}-e${i}`, cid, `increment ${i}`],
      },
    ]);
  }
  const pending = await oplogOf(a);
  assert.equal(
    new Set(pending.map((e) => e.timestamp)).size,
    TXS,
    "five separate client transactions",
  );
  await a.connect(15_000);
  await waitForAcknowledged(aId, clientLsnHex(last.rowid));
  const auditNow = async () =>
    (await sql`
      SELECT tbl, op, count(*)::int AS changes, count(DISTINCT xid)::int AS txs
        FROM audit WHERE id = ${cid} OR id LIKE ${`${cid}-%`}
       GROUP BY tbl, op ORDER BY tbl, op`).map((r) => ({ ...r }));
  // postgres-side.md §8.5: one client transaction per Postgres transaction (the outgoing
  // stream takes each transaction's origin and commit timestamp from it, §7.3/§8.8).
  assert.deepEqual(
    await auditNow(),
    [
      { tbl: "counters", op: "INSERT", changes: 1, txs: 1 },
      { tbl: "counters", op: "UPDATE", changes: TXS, txs: TXS },
      { tbl: "events", op: "INSERT", changes: TXS, txs: TXS },
    ],
    "each client transaction applied once, in a Postgres transaction of its own",
  );
  await waitForEcho(a, 15_000, serviceOutput);

  // A second reconnect must not resend anything; a marker transaction is the barrier.
  await disconnect(a);
  await a.connect(15_000);
  const marker = await writeTransaction(
    a,
    "INSERT INTO events (id, counter_id, note) VALUES (?, ?, 'marker')",
    [`${cid}-marker`, cid],
  );
  await waitForAcknowledged(aId, clientLsnHex(marker.rowid));
  await waitForEcho(a, 10_000, serviceOutput);

  const [counter] = await sql`SELECT n FROM counters WHERE id = ${cid}`;
  assert.equal(counter.n, TXS);
  const events =
    await sql`SELECT count(*)::int AS n FROM events WHERE counter_id = ${cid}`;
  assert.equal(events[0].n, TXS + 1);
  assert.deepEqual(
    await auditNow(),
    [
      { tbl: "counters", op: "INSERT", changes: 1, txs: 1 },
      { tbl: "counters", op: "UPDATE", changes: TXS, txs: TXS },
      { tbl: "events", op: "INSERT", changes: TXS + 1, txs: TXS + 1 },
    ],
    "each client transaction applied exactly once",
  );
  await a.waitForRows(
    `SELECT n FROM counters WHERE id = '${cid}'`,
    (rows) => rows[0]?.n === TXS,
    10_000,
  );
});
