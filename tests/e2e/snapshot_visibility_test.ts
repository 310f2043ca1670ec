/**
 * Snapshot reads (subscription data, move-ins) when the stream is ahead of what other sessions
 * see. Postgres hands a commit to the replication stream once its commit record is flushed and
 * makes it visible to other sessions a moment later. A read requested in that moment counts
 * the transaction as before it (its position is the log's end) while its snapshot lacks it:
 * a row inserted right before a client subscribes would never reach that client, and a row
 * moving into a shape right after a change to it would arrive without that change for good.
 *
 * The moment is held open on purpose by tests/helpers/held_commit.ts (a synchronous standby
 * that never connects, and a writer that waits for it).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { type SatOpLog, SatSubsReqSchema, SatSubsRespSchema } from "../../src/gen/mod.ts";
import { type HeldCommitService, startHeldCommitService } from "../helpers/held_commit.ts";
import { payloadOf, type TestClient } from "../helpers/satellite_client.ts";
import {
  openShapeSession,
  RelationNames,
  type ShapeSession,
  subscribeShape,
} from "../helpers/shape_session.ts";
import { waitFor } from "../helpers/wait.ts";

let held: HeldCommitService;
const clients: TestClient[] = [];

before(async () => {
  held = await startHeldCommitService({
    ddl: `
      CREATE TABLE items (id text PRIMARY KEY, name text);
      CREATE TABLE authors (id text PRIMARY KEY, name text);
      CREATE TABLE posts (id text PRIMARY KEY, title text,
        author_id text REFERENCES authors (id));`,
    tables: ["items", "authors", "posts"],
  });
  await held.sql.unsafe(`
    INSERT INTO items VALUES ('i1', 'one');
    INSERT INTO authors VALUES ('a1', 'keep one'), ('a2', 'other');
    INSERT INTO posts VALUES ('p1', 'one', 'a1'), ('p2', 'two', 'a2');`);
});

after(async () => {
  for (const client of clients) client.close();
  await held?.close();
});

const relations = new RelationNames();
const context = () => `Service output:\n${held.service.output()}`;

async function session(): Promise<ShapeSession> {
  const opened = await openShapeSession(`ws://127.0.0.1:${held.port}/ws`, crypto.randomUUID());
  clients.push(opened.client);
  return opened;
}

/** Waits until `s` received a row op named `op` ("insert items:i2"). */
function until(s: ShapeSession, op: string): Promise<unknown> {
  return waitFor(() => relations.rowOps(s.ops()).includes(op), {
    timeoutMs: 10_000,
    what: () => `${op} (got ${relations.rowOps(s.ops()).join(", ")})\n${context()}`,
  });
}

const decoder = new TextDecoder();

/** The last values `s` received for row `id` of `table` (inserts and updates), as text. */
function lastValues(s: ShapeSession, table: string, id: string): string[] | undefined {
  let values: string[] | undefined;
  for (const { op } of s.ops() as SatOpLog["ops"]) {
    if (op.case !== "insert" && op.case !== "update") continue;
    if (relations.name(op.value.relationId) !== table) continue;
    const row = op.value.rowData!.values.map((v) => decoder.decode(v));
    if (row[0] === id) values = row;
  }
  return values;
}

test("a row streamed before other sessions see it reaches a client subscribing meanwhile", async () => {
  // A client already holding the items sees the insert streamed.
  const watcher = await session();
  await subscribeShape(watcher, relations, { tablename: "items" }, context);
  const late = await session();
  let data: Promise<unknown> | undefined;
  await held.heldInvisible("INSERT INTO items VALUES ('i2', 'two')", async () => {
    await until(watcher, "insert items:i2");
    const [seen] = await held.sql`SELECT count(*)::int AS n FROM items WHERE id = 'i2'`;
    assert.equal(seen.n, 0, "streamed, and not visible to other sessions yet");
    // The subscription's read is requested now, with the insert before it in the stream.
    payloadOf(
      SatSubsRespSchema,
      await late.client.rpc("subscribe", SatSubsReqSchema, {
        subscriptionId: crypto.randomUUID(),
        shapeRequests: [{
          requestId: crypto.randomUUID(),
          shapeDefinition: { selects: [{ tablename: "items" }] },
        }],
      }),
    );
    data = late.client.next("SatSubsDataEnd", { timeoutMs: 20_000 });
    data.catch(() => {});
  });
  await data;
  relations.note(late.client);
  // In the subscription's data, or right after it in the stream: anywhere, but not missing.
  await waitFor(() => relations.rowOps(late.ops()).includes("insert items:i2"), {
    timeoutMs: 5_000,
    what: () =>
      `i2 to reach the client that subscribed while it was invisible (got ${
        relations.rowOps(late.ops()).join(", ")
      })\n${context()}`,
  });
});

test("a row moving in after a change to it streamed before other sessions saw it arrives changed", async () => {
  const watcher = await session();
  await subscribeShape(watcher, relations, { tablename: "posts" }, context);
  const s = await session();
  await subscribeShape(s, relations, {
    tablename: "authors",
    where: "this.name LIKE 'keep%'",
    include: [{ foreignKey: ["author_id"], select: { tablename: "posts" } }],
  }, context);
  assert.deepEqual(relations.dataRows(s.client), ["insert authors:a1", "insert posts:p1"]);
  await held.heldInvisible("UPDATE posts SET title = 'two!' WHERE id = 'p2'", async () => {
    // p2 is retitled while no author of the shape holds it: only the watcher hears of it.
    await until(watcher, "update posts:p2");
    const [seen] = await held.sql`SELECT title FROM posts WHERE id = 'p2'`;
    assert.equal(seen.title, "two", "streamed, and not visible to other sessions yet");
    // Its author moves in (committed and visible at once): the move-in reads a2's posts.
    await held.sql`UPDATE authors SET name = 'keep two' WHERE id = 'a2'`;
    await until(s, "insert authors:a2");
  });
  await waitFor(() => lastValues(s, "posts", "p2")?.[1] === "two!", {
    timeoutMs: 10_000,
    what: () =>
      `p2 to move in retitled (got ${JSON.stringify(lastValues(s, "posts", "p2"))})\n${context()}`,
  });
});
