/**
 * The logical publisher against a real Postgres subscriber (postgres-side.md §8.7, §2.8,
 * checklist 44, 54, 55): Postgres's subscription `postgres_1` connects to the publisher,
 * applies a client transaction (acknowledged LSN row, user row, shadow row) through the
 * two-insert machinery, picks up newly electrified tables on refresh, and resumes after the
 * publisher restarts without duplicating anything.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import postgres from "postgres";
import { findFreePort } from "../../src/embedded/mod.ts";
import {
  AUTH,
  type BackendMessage,
  ByteWriter,
  decodeBackend,
  encodeFrontend,
  encodeStartup,
  errorResponse,
  parseLsn,
  PROTOCOL_3_0,
  readFrame,
} from "../../src/pgwire/mod.ts";
import { connect } from "node:net";
import {
  createSubscription,
  enableSubscription,
  LogicalPublisher,
  PostgresPublisherCatalog,
  type PublishedChange,
  type PublishedTransaction,
  subscriptionRefresher,
  subscriptionSecret,
  subscriptionStep,
  toPublishedTransaction,
} from "../../src/publisher/mod.ts";
import type { TableModel } from "../../src/schema/mod.ts";
import { bootstrapElectricSchema, ensurePublication } from "../../src/storage/mod.ts";
import { createLogger } from "../../src/telemetry/mod.ts";
import { freshDatabase } from "../helpers/pg_cluster.ts";
import { waitFor } from "../helpers/wait.ts";

type Db = Awaited<ReturnType<typeof freshDatabase>>;
let db: Db;
let sql: postgres.Sql;
let catalog: PostgresPublisherCatalog;
let port: number;
let running: { publisher: LogicalPublisher; stop: () => Promise<void> };
const logger = createLogger({ level: "error" });

/** The secret of the subscription (as the service's subscription step sets it). */
let secret: string | undefined;

function startPublisher(): typeof running {
  const publisher = new LogicalPublisher({
    port,
    catalog,
    logger,
    serverVersion: "electric-0.12.1",
  });
  if (secret !== undefined) publisher.setPassword(secret);
  const controller = new AbortController();
  const done = publisher.run(controller.signal);
  return {
    publisher,
    stop: async () => {
      controller.abort();
      await done;
    },
  };
}

before(async () => {
  db = await freshDatabase();
  sql = postgres(db.url, { onnotice: () => {}, max: 3 });
  await bootstrapElectricSchema(sql, { ddlGuard: true });
  await ensurePublication(sql);
  await sql.unsafe(`
    CREATE TABLE items (id int4 PRIMARY KEY, content text, n int4);
    CALL electric.electrify('items');`);
  catalog = new PostgresPublisherCatalog(() => sql);
  await catalog.refresh();
  port = await findFreePort();
  running = startPublisher();
  const listened = await running.publisher.listen();
  assert.deepEqual(listened, { ok: true, port });
  await createSubscription(sql, { host: "127.0.0.1", port });
  secret = await subscriptionSecret(sql, { host: "127.0.0.1", port }, () => "integration-secret");
  running.publisher.setPassword(secret);
  await enableSubscription(sql);
});

after(async () => {
  try {
    await sql`ALTER SUBSCRIPTION postgres_1 DISABLE`;
    await sql`ALTER SUBSCRIPTION postgres_1 SET (slot_name = NONE)`;
    await sql`DROP SUBSCRIPTION postgres_1`;
  } finally {
    await running.stop();
    await sql.end({ timeout: 1 });
    await db.drop();
  }
});

const BASE = Date.now() - (Date.now() % 1000);

/** Every column of `table` named: the given values, NULL elsewhere. */
function row(schema: string, name: string, values: Record<string, string>): PublishedChange {
  const table = catalog.tables().find((t) => t.schema === schema && t.name === name);
  assert.ok(table, `${schema}.${name} is published`);
  const all: Record<string, string | null> = {};
  for (const column of table.columns) all[column.name] = values[column.name] ?? null;
  return { table: { schema, name }, values: all };
}

/** One client insert as the publisher receives it: LSN row, user row, shadow row. */
function clientInsert(
  table: string,
  values: Record<string, string>,
  options: { at: Date; clientId: string; lsn: string; modified: number },
): PublishedTransaction {
  const tag = `("${options.at.toISOString()}","${options.clientId}")`;
  const mask = `{${Array(options.modified).fill("t").join(",")}}`;
  return {
    commitTimestamp: options.at,
    changes: [
      row("electric", "acknowledged_client_lsns", {
        client_id: options.clientId,
        lsn: options.lsn,
      }),
      row("public", table, values),
      row("electric", `shadow__public__${table}`, {
        id: values.id,
        _tag: tag,
        _is_a_delete_operation: "f",
        _observed_tags: "{}",
        _modified_columns_bit_mask: mask,
      }),
    ],
  };
}

/** pg_subscription and its statistics are cluster-wide: other databases may have a postgres_1. */
async function subscriptionOid(): Promise<number> {
  const [row] = await sql`SELECT oid::int8 AS oid FROM pg_subscription
                           WHERE subname = 'postgres_1'
                             AND subdbid = (SELECT oid FROM pg_database
                                             WHERE datname = current_database())`;
  return Number(row.oid);
}

async function subscribedRelations(): Promise<string[]> {
  const rows = await sql<{ name: string; state: string }[]>`
    SELECT srrelid::regclass::text AS name, srsubstate AS state FROM pg_subscription_rel
     ORDER BY 1`;
  return rows.map((r) => `${r.name}:${r.state}`);
}

test("the subscription is enabled and subscribed to every published table (checklist 54)", async () => {
  assert.deepEqual(await subscribedRelations(), [
    "electric.acknowledged_client_lsns:r",
    "electric.client_merge_statements:r",
    "electric.shadow__public__items:r",
    "items:r",
  ]);
});

test("a client transaction reaches Postgres through the subscription (checklist 44)", async () => {
  const at = new Date(BASE + 1000);
  running.publisher.publish(
    clientInsert("items", { id: "1", content: "hello", n: "7" }, {
      at,
      clientId: "client-a",
      lsn: "\\x0102",
      modified: 2,
    }),
  );
  const [item] = await waitFor(
    () => sql`SELECT id, content, n FROM items WHERE id = 1`.then((r) => r.length > 0 && r),
    { timeoutMs: 20_000, what: "the client row in items" },
  );
  assert.deepEqual({ ...item }, { id: 1, content: "hello", n: 7 });
  const ms = (tag: string) => `floor(extract(epoch FROM (${tag}).timestamp) * 1000)::int8::text`;
  const [shadow] = await sql.unsafe(`
    SELECT array_length(_tags, 1) AS tags, ${ms("_tags[1]")} AS tags_ms,
           (_tags[1]).source_id AS tags_source,
           ${ms("_tag_content")} AS content_ms, (_tag_content).source_id AS content_source,
           ${ms("_tag_n")} AS n_ms, (_tag_n).source_id AS n_source,
           _currently_reordering, __reordered_content
      FROM electric.shadow__public__items WHERE id = 1`);
  const expectedMs = String(at.getTime());
  assert.deepEqual({ ...shadow }, {
    tags: 1,
    tags_ms: expectedMs,
    tags_source: "client-a",
    content_ms: expectedMs,
    content_source: "client-a",
    n_ms: expectedMs,
    n_source: "client-a",
    _currently_reordering: null,
    __reordered_content: null,
  });
  const lsns = await sql`SELECT client_id, encode(lsn, 'hex') AS lsn
                           FROM electric.acknowledged_client_lsns`;
  assert.deepEqual(lsns.map((r) => ({ ...r })), [{ client_id: "client-a", lsn: "0102" }]);
  const subid = await subscriptionOid();
  const [stat] = await waitFor(
    () =>
      sql`SELECT pid, received_lsn::text AS received FROM pg_stat_subscription
           WHERE subid = ${subid} AND pid IS NOT NULL
             AND received_lsn IS NOT NULL`
        .then((r) => r.length > 0 && r),
    { timeoutMs: 20_000, what: "pg_stat_subscription to show the worker receiving" },
  );
  assert.ok(stat.pid > 0);
});

const ITEMS_MODEL: TableModel = {
  schema: "public",
  name: "items",
  oid: 0,
  columns: ["id", "content", "n"].map((name) => ({
    name,
    type: { name: name === "content" ? "text" : "int4", array: [], size: [] },
    notNull: name === "id",
  })),
  primaryKey: ["id"],
  primaryKeyName: "items_pkey",
  foreignKeys: [],
  indexes: [],
};

test("a client transaction as the writer publishes it: a set-based run and a trigger run", async () => {
  const published = toPublishedTransaction({
    clientId: "client-m",
    lsn: new Uint8Array([9, 9]),
    commitTimestampMs: BigInt(BASE + 1500),
    changes: [
      // Every column: one row carrying the set-based merge's statements.
      ...[20, 21].map((id) => ({
        kind: "insert" as const,
        table: ITEMS_MODEL,
        record: { id: String(id), content: `it's "${id}"\\`, n: String(id) },
        modified: new Set(["content", "n"]),
        present: new Set(["id", "content", "n"]),
        observedTags: [],
      })),
      // A column left out (a client on an older schema): the two-insert protocol.
      {
        kind: "update" as const,
        table: ITEMS_MODEL,
        record: { id: "20", n: "200" },
        modified: new Set(["n"]),
        present: new Set(["id", "n"]),
        observedTags: [`client-m@${BASE + 1500}`],
      },
    ],
  });
  assert.ok(!("error" in published));
  assert.deepEqual(published.changes.map((c) => c.table.name), [
    "acknowledged_client_lsns",
    "client_merge_statements",
    "items",
    "shadow__public__items",
  ]);
  running.publisher.publish(published);
  const rows = await waitFor(
    () =>
      sql`SELECT id, content, n FROM items WHERE id IN (20, 21) ORDER BY id`
        .then((r) => r.length === 2 && r[0].n === 200 && r),
    { timeoutMs: 20_000, what: "both client rows in items, the first updated" },
  );
  assert.deepEqual(rows.map((r) => ({ ...r })), [
    { id: 20, content: `it's "20"\\`, n: 200 },
    { id: 21, content: `it's "21"\\`, n: 21 },
  ]);
  const [shadow] = await sql`SELECT array_length(_tags, 1) AS tags, (_tag_n).source_id AS n_source
                               FROM electric.shadow__public__items WHERE id = 20`;
  assert.deepEqual({ ...shadow }, { tags: 1, n_source: "client-m" });
  assert.equal((await sql`SELECT * FROM electric.client_merge_statements`).length, 0);
});

test("a client transaction applied again (client LSN not newer) is skipped whole: set-based and trigger runs", async () => {
  // The transaction above at client LSN 0x0909, resent (as by a client that lost the instance
  // that had published it) with changes of both kinds; then the client's next transaction.
  const replayed = toPublishedTransaction({
    clientId: "client-m",
    lsn: new Uint8Array([9, 9]),
    commitTimestampMs: BigInt(BASE + 1600),
    changes: [
      {
        kind: "insert" as const,
        table: ITEMS_MODEL,
        record: { id: "22", content: "replayed", n: "22" },
        modified: new Set(["content", "n"]),
        present: new Set(["id", "content", "n"]),
        observedTags: [],
      },
      // The same key again starts a run; a column left out makes it a trigger run.
      {
        kind: "update" as const,
        table: ITEMS_MODEL,
        record: { id: "22", n: "2200" },
        modified: new Set(["n"]),
        present: new Set(["id", "n"]),
        observedTags: [`client-m@${BASE + 1600}`],
      },
      {
        kind: "update" as const,
        table: ITEMS_MODEL,
        record: { id: "21", n: "2100" },
        modified: new Set(["n"]),
        present: new Set(["id", "n"]),
        observedTags: [`client-m@${BASE + 1500}`],
      },
    ],
  });
  const next = toPublishedTransaction({
    clientId: "client-m",
    lsn: new Uint8Array([9, 10]),
    commitTimestampMs: BigInt(BASE + 1700),
    changes: [{
      kind: "update" as const,
      table: ITEMS_MODEL,
      record: { id: "20", n: "201" },
      modified: new Set(["n"]),
      present: new Set(["id", "n"]),
      observedTags: [`client-m@${BASE + 1500}`],
    }],
  });
  assert.ok(!("error" in replayed) && !("error" in next));
  assert.deepEqual(replayed.changes.map((c) => c.table.name), [
    "acknowledged_client_lsns",
    "client_merge_statements",
    "items",
    "shadow__public__items",
    "items",
    "shadow__public__items",
  ]);
  running.publisher.publish(replayed);
  running.publisher.publish(next);
  // The subscription applies in order: once the next one is in, the replay was dealt with.
  await waitFor(
    () => sql`SELECT n FROM items WHERE id = 20`.then((r) => r[0]?.n === 201),
    { timeoutMs: 20_000, what: "the client's next transaction applied" },
  );
  const rows = await sql`SELECT id, content, n FROM items WHERE id IN (21, 22) ORDER BY id`;
  assert.deepEqual(rows.map((r) => ({ ...r })), [{ id: 21, content: `it's "21"\\`, n: 21 }]);
  const [ack] = await sql`SELECT encode(lsn, 'hex') AS lsn FROM electric.acknowledged_client_lsns
                           WHERE client_id = 'client-m'`;
  assert.equal(ack.lsn, "090a");
});

test("a newly electrified table is subscribed after a refresh (checklist 54)", async () => {
  await sql.unsafe(`
    CREATE TABLE notes (id int4 PRIMARY KEY, body text);
    CALL electric.electrify('notes');`);
  const refresh = subscriptionRefresher({ sql: () => sql, catalog, logger });
  await refresh();
  assert.deepEqual(await subscribedRelations(), [
    "electric.acknowledged_client_lsns:r",
    "electric.client_merge_statements:r",
    "electric.shadow__public__items:r",
    "electric.shadow__public__notes:r",
    "items:r",
    "notes:r",
  ]);
  running.publisher.publish(
    clientInsert("notes", { id: "5", body: "note" }, {
      at: new Date(BASE + 2000),
      clientId: "client-b",
      lsn: "\\x05",
      modified: 1,
    }),
  );
  await waitFor(
    () => sql`SELECT 1 FROM notes WHERE id = 5 AND body = 'note'`.then((r) => r.length > 0),
    {
      timeoutMs: 20_000,
      what: "the client row in notes",
    },
  );
});

test("a transaction published while the apply worker reconnects is not lost", async () => {
  const subid = await subscriptionOid();
  const [worker] = await waitFor(
    () =>
      sql`SELECT pid FROM pg_stat_subscription WHERE subid = ${subid} AND pid IS NOT NULL`
        .then((r) => r.length > 0 && r),
    { timeoutMs: 20_000, what: "the apply worker" },
  );
  await sql`SELECT pg_terminate_backend(${worker.pid})`;
  running.publisher.publish(
    clientInsert("notes", { id: "6", body: "during reconnect" }, {
      at: new Date(BASE + 2500),
      clientId: "client-b",
      lsn: "\\x06",
      modified: 1,
    }),
  );
  await waitFor(
    () => sql`SELECT 1 FROM notes WHERE id = 6`.then((r) => r.length > 0),
    { timeoutMs: 30_000, what: "the transaction to arrive after the worker reconnects" },
  );
  const notes = await sql`SELECT id FROM notes ORDER BY id`;
  assert.deepEqual(notes.map((r) => r.id), [5, 6]);
});

test("after a publisher restart the subscriber resumes; nothing is duplicated (checklist 55)", async () => {
  const before = running.publisher.status();
  await waitFor(async () => {
    const [origin] = await sql`SELECT remote_lsn::text AS lsn FROM pg_replication_origin_status
                                WHERE external_id = ${"pg_" + (await subscriptionOid())}`;
    return origin?.lsn === before.position && origin;
  }, { timeoutMs: 20_000, what: "the subscriber's origin to reach the publisher's position" });
  await running.stop();
  running = startPublisher();
  // Published before the subscriber is back: queued, then sent when it streams again.
  running.publisher.publish(
    clientInsert("items", { id: "2", content: "after restart", n: "8" }, {
      at: new Date(BASE + 3000),
      clientId: "client-a",
      lsn: "\\x0103",
      modified: 2,
    }),
  );
  await waitFor(
    () => sql`SELECT 1 FROM items WHERE id = 2`.then((r) => r.length > 0),
    { timeoutMs: 30_000, what: "the apply worker to reconnect and apply the queued transaction" },
  );
  const after = running.publisher.status();
  assert.ok(
    parseLsn(after.position)! > parseLsn(before.position)!,
    `position ${after.position} is past ${before.position}`,
  );
  const items = await sql`SELECT id, content FROM items WHERE id < 10 ORDER BY id`;
  assert.deepEqual(items.map((r) => ({ ...r })), [
    { id: 1, content: "hello" },
    { id: 2, content: "after restart" },
  ]);
  const lsns = await sql`SELECT client_id, encode(lsn, 'hex') AS lsn
                           FROM electric.acknowledged_client_lsns ORDER BY client_id`;
  assert.deepEqual(lsns.map((r) => ({ ...r })), [
    { client_id: "client-a", lsn: "0103" },
    { client_id: "client-b", lsn: "06" },
    { client_id: "client-m", lsn: "090a" },
  ]);
  const [shadow] = await sql`SELECT array_length(_tags, 1) AS n FROM electric.shadow__public__items
                              WHERE id = 1`;
  assert.equal(shadow.n, 1);
});

test("the connector step: direct_writes disables, logical_replication re-enables (idempotent)", async () => {
  const context = { sql, facts: {} as never, signal: new AbortController().signal };
  const enabled = async () =>
    (await sql`SELECT subenabled FROM pg_subscription WHERE oid = ${await subscriptionOid()}`)[0]
      .subenabled;
  await subscriptionStep({ writeMode: "direct_writes", logger }).run(context);
  assert.equal(await enabled(), false);
  await subscriptionStep({
    writeMode: "logical_replication",
    target: { host: "127.0.0.1", port },
    listening: () => running.publisher.listen(),
    catalog,
    logger,
    secret: (password) => running.publisher.setPassword(password),
  }).run(context);
  assert.equal(await enabled(), true);
  const [{ n }] = await sql`SELECT count(*)::int AS n FROM pg_subscription
                             WHERE subdbid = (SELECT oid FROM pg_database
                                               WHERE datname = current_database())`;
  assert.equal(n, 1);
});

test("an outsider without the subscription's password cannot take the stream; writes still reach Postgres", async () => {
  // The secret set in the subscription is the one the step reads back, not a new one.
  assert.equal(
    await subscriptionSecret(sql, { host: "127.0.0.1", port }, () => "another"),
    secret,
  );
  const outsider = connect({ host: "127.0.0.1", port });
  const received: Uint8Array[] = [];
  outsider.on("data", (chunk) => received.push(new Uint8Array(chunk)));
  const closed = new Promise<void>((resolve) => outsider.once("close", () => resolve()));
  await new Promise<void>((resolve) => outsider.once("connect", () => resolve()));
  outsider.write(encodeStartup({
    type: "StartupMessage",
    protocolVersion: PROTOCOL_3_0,
    parameters: { user: "postgres", replication: "database", application_name: "postgres_1" },
  }));
  const guess = new ByteWriter().cstring("md5" + "0".repeat(32)).finish();
  outsider.write(encodeFrontend({ type: "PasswordMessage", data: guess }));
  outsider.write(encodeFrontend({
    type: "Query",
    sql: "START_REPLICATION SLOT \"postgres_1\" LOGICAL 0/0 (proto_version '1')",
  }));
  await closed;
  const bytes = new Uint8Array(received.flatMap((c) => [...c]));
  const messages: BackendMessage[] = [];
  for (let at = 0; at < bytes.length;) {
    const read = readFrame(bytes, at, 1 << 20);
    assert.equal(read.kind, "frame");
    if (read.kind !== "frame") break;
    const decoded = decodeBackend(read.frame);
    assert.ok(decoded.ok);
    messages.push(decoded.message);
    at += read.consumed;
  }
  assert.ok(messages[0].type === "Authentication" && messages[0].code === AUTH.MD5Password);
  assert.deepEqual(
    messages.at(-1),
    errorResponse("FATAL", "28P01", 'password authentication failed for user "postgres"'),
  );
  // Postgres' own subscription kept the stream: a client write still arrives.
  running.publisher.publish(
    clientInsert("items", { id: "41", content: "after the outsider", n: "1" }, {
      at: new Date(BASE + 41_000),
      clientId: "client-o",
      lsn: "\\x4101",
      modified: 2,
    }),
  );
  await waitFor(
    () => sql`SELECT 1 FROM items WHERE id = 41`.then((r) => r.length === 1),
    { timeoutMs: 20_000, what: "the client row after the outsider tried" },
  );
});
