/**
 * Shared shape state, end to end with raw Satellite clients against the running service:
 * clients of the same include-tree shape join one group at any time and get exactly its rows;
 * overlapping subscriptions of one client never send a row twice and unsubscribing drops only
 * what no other subscription holds; and a client holding an include tree resumes after the
 * service was killed (-9) and restarted, receiving what changed in its rows while it was down
 * (rows to refresh and rows to drop), without any per-client row state having been stored.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import postgres from "postgres";
import { type SatOpLog, SatUnsubsReqSchema } from "../../src/gen/mod.ts";
import { findFreePort } from "../../src/embedded/mod.ts";
import { electrify, waitForMigrations } from "../helpers/electrified_service.ts";
import { freshDatabase } from "../helpers/pg_cluster.ts";
import { payloadOf, type TestClient } from "../helpers/satellite_client.ts";
import {
  openShapeSession,
  RelationNames,
  type ShapeSession,
  subscribeShape,
} from "../helpers/shape_session.ts";
import { serviceEnv } from "../helpers/service_config.ts";
import { type ServiceProcess, startService } from "../helpers/service_process.ts";
import { waitFor } from "../helpers/wait.ts";

type Db = Awaited<ReturnType<typeof freshDatabase>>;
let db: Db;
let sql: postgres.Sql;
let port: number;
let env: Record<string, string>;
let service: ServiceProcess;
const clients: TestClient[] = [];

before(async () => {
  db = await freshDatabase();
  sql = postgres(db.url, { onnotice: () => {}, max: 2 });
  await sql.unsafe(`
    CREATE TABLE authors (id text PRIMARY KEY, name text);
    CREATE TABLE posts (id text PRIMARY KEY, title text, author_id text REFERENCES authors (id));`);
  port = await findFreePort();
  env = await serviceEnv(db.url, port);
  service = startService(env);
  await service.waitForStatus(port, 200, 30_000);
  await electrify(sql, ["authors", "posts"]);
  // Clients subscribe only to tables the service has learnt about.
  await waitForMigrations(port);
  await sql.unsafe(`
    INSERT INTO authors VALUES ('a1', 'keep one'), ('a2', 'keep two'), ('a3', 'other');
    INSERT INTO posts VALUES ('p1', 'one', 'a1'), ('p2', 'two', 'a1'), ('p3', 'three', 'a2'),
      ('p4', 'four', 'a3');`);
});

after(async () => {
  for (const client of clients) client.close();
  service.kill();
  await sql.end();
  await db.drop();
});

const relations = new RelationNames();
const rowOps = (ops: SatOpLog["ops"]) => relations.rowOps(ops);
const noteRelations = (client: TestClient) => relations.note(client);
const dataRows = (s: ShapeSession) => relations.dataRows(s.client);

async function session(
  id: string,
  start: { lsn?: Uint8Array; subscriptionIds?: string[] } = {},
): Promise<ShapeSession> {
  const opened = await openShapeSession(`ws://127.0.0.1:${port}/ws`, id, start);
  clients.push(opened.client);
  return opened;
}

function subscribe(s: ShapeSession, select: object): Promise<string> {
  return subscribeShape(s, relations, select, () => `Service output:\n${service.output()}`);
}

const AUTHORS_WITH_POSTS = {
  tablename: "authors",
  where: "this.name LIKE 'keep%'",
  include: [{ foreignKey: ["author_id"], select: { tablename: "posts" } }],
};

test("clients of one include-tree shape join its group at any time and get exactly its rows", async () => {
  const first = await session(crypto.randomUUID());
  await subscribe(first, AUTHORS_WITH_POSTS);
  assert.deepEqual(dataRows(first), [
    "insert authors:a1",
    "insert authors:a2",
    "insert posts:p1",
    "insert posts:p2",
    "insert posts:p3",
  ]);
  await sql`INSERT INTO posts VALUES ('p5', 'five', 'a2')`;
  await first.client.next("SatOpLog", { where: (f) => rowOps(f.message.ops).length > 0 });
  const second = await session(crypto.randomUUID());
  await subscribe(second, AUTHORS_WITH_POSTS);
  assert.deepEqual(dataRows(second), [
    "insert authors:a1",
    "insert authors:a2",
    "insert posts:p1",
    "insert posts:p2",
    "insert posts:p3",
    "insert posts:p5",
  ]);
  // A change reaches both, with the same content.
  await sql`UPDATE posts SET title = 'five!' WHERE id = 'p5'`;
  const isUpdate = (f: { message: SatOpLog }) => rowOps(f.message.ops).includes("update posts:p5");
  await first.client.next("SatOpLog", { where: isUpdate });
  await second.client.next("SatOpLog", { where: isUpdate });
  await sql`DELETE FROM posts WHERE id = 'p5'`;
  first.client.close();
  second.client.close();
});

test("overlapping subscriptions never send a row twice; unsubscribing drops only what no other holds", async () => {
  const s = await session(crypto.randomUUID());
  const byAuthor = await subscribe(s, AUTHORS_WITH_POSTS);
  const allPosts = await subscribe(s, { tablename: "posts", where: "this.title <> 'x'" });
  // posts bring their authors automatically: only p4 and a3 are new.
  assert.deepEqual(dataRows(s), ["insert authors:a3", "insert posts:p4"]);
  await sql`INSERT INTO posts VALUES ('p6', 'six', 'a1')`;
  const live = await s.client.next("SatOpLog", {
    where: (f) => rowOps(f.message.ops).some((op) => op.endsWith(":p6")),
  });
  assert.deepEqual(rowOps(live.message.ops), ["insert posts:p6"]);
  s.ack();
  payloadOf(
    SatUnsubsReqSchema,
    await s.client.rpc("unsubscribe", SatUnsubsReqSchema, { subscriptionIds: [allPosts] }),
  );
  await s.client.next("SatUnsubsDataEnd");
  const begin = s.client.frames.findIndex((f) => f.name === "SatUnsubsDataBegin");
  const gone = rowOps(
    s.client.frames.slice(begin).flatMap((f) => f.name === "SatOpLog" ? f.message.ops : []),
  );
  assert.deepEqual(gone.sort(), ["gone authors:a3", "gone posts:p4"]);
  assert.ok(byAuthor);
  await sql`DELETE FROM posts WHERE id = 'p6'`;
  s.client.close();
});

test("an include tree resumes after kill -9: rows changed while down are refreshed, rows gone dropped", async () => {
  const id = crypto.randomUUID();
  const first = await session(id);
  const subscriptionId = await subscribe(first, AUTHORS_WITH_POSTS);
  // A live transaction so there is something to acknowledge after the data.
  await sql`UPDATE posts SET title = 'one!' WHERE id = 'p1'`;
  await first.client.next("SatOpLog", {
    where: (f) => rowOps(f.message.ops).includes("update posts:p1"),
  });
  const lsn = first.ack({ subscriptionIds: [subscriptionId] });
  first.client.close();
  await first.client.closed;
  // Positions are written coalesced: wait until this one is, then kill the service.
  await waitFor(async () => {
    const [row] = await sql`
      SELECT acked_lsn::text AS lsn FROM electric.client_positions WHERE client_id = ${id}`;
    return row?.lsn === new TextDecoder().decode(lsn);
  }, { timeoutMs: 10_000, what: "the acknowledged position to be written" });
  service.kill();
  await service.exited;

  await sql.unsafe(`
    UPDATE posts SET title = 'two!' WHERE id = 'p2';
    UPDATE posts SET author_id = 'a3' WHERE id = 'p3';
    INSERT INTO posts VALUES ('p7', 'seven', 'a2');
    UPDATE authors SET name = 'gone' WHERE id = 'a1';`);

  service = startService(env);
  await service.waitForStatus(port, 200, 30_000);
  const second = await session(id, { lsn, subscriptionIds: [subscriptionId] });
  noteRelations(second.client);
  const refresh = await second.client.next("SatOpLog", {
    timeoutMs: 20_000,
    where: (f) => rowOps(f.message.ops).some((op) => op.startsWith("gone")),
  });
  noteRelations(second.client);
  const ops = rowOps(refresh.message.ops).sort();
  // a1 left the shape with its posts; p3 moved to an author outside it; p7 is new.
  assert.deepEqual(ops, [
    "gone authors:a1",
    "gone posts:p1",
    "gone posts:p2",
    "gone posts:p3",
    "insert posts:p7",
  ]);
  // And it keeps streaming.
  await sql`UPDATE posts SET title = 'seven!' WHERE id = 'p7'`;
  await second.client.next("SatOpLog", {
    where: (f) => rowOps(f.message.ops).includes("update posts:p7"),
  });
  second.client.close();
});
