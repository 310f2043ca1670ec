/**
 * Shape state shared by two instances (issue 15): clients of the same include-tree shape on
 * different instances make both instances keep the membership of one graph group in Postgres;
 * both get the same live changes, rows moving in and out; a client whose instance was killed
 * (-9) resumes on the other one and receives exactly what changed in its rows meanwhile (rows
 * gone, rows new, a row that left before it stopped and came back after), read from Postgres;
 * and the group's stored open rows are exactly the rows the shape holds.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import postgres from "postgres";
import type { SatOpLog } from "../../src/gen/mod.ts";
import { electrify, waitForMigrations } from "../helpers/electrified_service.ts";
import { INSTANCE_SETTINGS, Instances } from "../helpers/instances.ts";
import { type ScratchCluster, startScratchCluster } from "../helpers/pg_cluster.ts";
import type { TestClient } from "../helpers/satellite_client.ts";
import {
  openShapeSession,
  RelationNames,
  type ShapeSession,
  subscribeShape,
} from "../helpers/shape_session.ts";
import { waitFor } from "../helpers/wait.ts";

let cluster: ScratchCluster;
let sql: postgres.Sql;
let nodes: Instances;
const clients: TestClient[] = [];
const relations = new RelationNames();

const AUTHORS_WITH_POSTS = {
  tablename: "authors",
  where: "this.name LIKE 'keep%'",
  include: [{ foreignKey: ["author_id"], select: { tablename: "posts" } }],
};

before(async () => {
  cluster = await startScratchCluster({ walLevel: "logical", settings: INSTANCE_SETTINGS });
  sql = postgres(cluster.url, { onnotice: () => {}, max: 2 });
  await sql.unsafe(`
    CREATE TABLE authors (id text PRIMARY KEY, name text);
    CREATE TABLE posts (id text PRIMARY KEY, title text, author_id text REFERENCES authors (id));`);
  nodes = await Instances.create(cluster.url, ["node_a", "node_b"], {});
  await nodes.startAll();
  await electrify(sql, ["authors", "posts"]);
  // Clients subscribe only to tables the service has learnt about: both instances.
  for (const instance of nodes.list) {
    await waitForMigrations(instance.httpPort, `the migration to reach ${instance.id}`);
  }
  await sql.unsafe(`
    INSERT INTO authors VALUES ('a1', 'keep one'), ('a2', 'keep two'), ('a3', 'other');
    INSERT INTO posts VALUES ('p1', 'one', 'a1'), ('p2', 'two', 'a1'), ('p3', 'three', 'a2'),
      ('p4', 'four', 'a3');`);
});

after(async () => {
  for (const client of clients) client.close();
  await nodes?.stopAll();
  await sql?.end();
  await cluster?.stop();
});

async function session(
  instance: number,
  id: string,
  start: { lsn?: Uint8Array; subscriptionIds?: string[] } = {},
): Promise<ShapeSession> {
  const port = nodes.list[instance].httpPort;
  const opened = await openShapeSession(`ws://127.0.0.1:${port}/ws`, id, start);
  clients.push(opened.client);
  return opened;
}

/** Waits until `s` received a transaction whose row ops include every one of `expected`. */
async function received(s: ShapeSession, expected: string[]): Promise<string[]> {
  const frame = await s.client.next("SatOpLog", {
    timeoutMs: 20_000,
    where: (f) => {
      relations.note(s.client);
      const ops = relations.rowOps(f.message.ops);
      return expected.every((op) => ops.includes(op));
    },
  }).catch((error) => {
    throw new Error(`${error.message}\n${nodes.tails()}`);
  });
  return relations.rowOps(frame.message.ops).sort();
}

const rowOps = (ops: SatOpLog["ops"]) => relations.rowOps(ops);

test("an include tree on two instances: one shared group, and a client resumes on the other instance", async () => {
  const xId = crypto.randomUUID();
  const x = await session(0, xId);
  const y = await session(1, crypto.randomUUID());
  const xSubscription = await subscribeShape(x, relations, AUTHORS_WITH_POSTS, () => nodes.tails());
  await subscribeShape(y, relations, AUTHORS_WITH_POSTS, () => nodes.tails());
  const initial = ["insert authors:a1", "insert authors:a2", "insert posts:p1", "insert posts:p2"]
    .concat(["insert posts:p3"]);
  assert.deepEqual(relations.dataRows(x.client), initial);
  assert.deepEqual(relations.dataRows(y.client), initial);

  // Live, on both instances: a post moves in, then an author leaves the shape with its posts.
  await sql`INSERT INTO posts VALUES ('p5', 'five', 'a2')`;
  for (const s of [x, y]) {
    assert.deepEqual(await received(s, ["insert posts:p5"]), ["insert posts:p5"]);
  }
  await sql`UPDATE authors SET name = 'gone' WHERE id = 'a1'`;
  const left = ["gone authors:a1", "gone posts:p1", "gone posts:p2"];
  for (const s of [x, y]) assert.deepEqual(await received(s, left), left);

  // x acknowledges where it is and loses its instance.
  const lsn = x.ack({ subscriptionIds: [xSubscription] });
  await waitFor(async () => {
    const [row] = await sql`
      SELECT acked_lsn::text AS lsn FROM electric.client_positions WHERE client_id = ${xId}`;
    return row?.lsn === new TextDecoder().decode(lsn);
  }, { timeoutMs: 10_000, what: "x's acknowledged position to be written" });
  x.client.close();
  await nodes.kill(0);

  // Meanwhile: a post moves out, one moves in, and the author that left comes back.
  await sql`UPDATE posts SET author_id = 'a3' WHERE id = 'p3'`;
  await sql`INSERT INTO posts VALUES ('p7', 'seven', 'a2')`;
  await sql`UPDATE authors SET name = 'keep again' WHERE id = 'a1'`;
  await received(y, ["gone posts:p3"]);
  await received(y, ["insert posts:p7"]);
  await received(y, ["insert authors:a1", "insert posts:p1", "insert posts:p2"]);

  // x resumes on node_b from its acknowledged position: exactly what changed in its rows.
  const resumed = await session(1, xId, { lsn, subscriptionIds: [xSubscription] });
  const refresh = await resumed.client.next("SatOpLog", {
    timeoutMs: 20_000,
    where: (f) => rowOps(f.message.ops).length > 0,
  }).catch((error) => {
    throw new Error(`${error.message}\n${nodes.tails()}`);
  });
  relations.note(resumed.client);
  assert.deepEqual(rowOps(refresh.message.ops).sort(), [
    "gone posts:p3",
    "insert authors:a1",
    "insert posts:p1",
    "insert posts:p2",
    "insert posts:p7",
  ]);

  // And it keeps streaming from there.
  await sql`UPDATE posts SET title = 'seven!' WHERE id = 'p7'`;
  await received(resumed, ["update posts:p7"]);

  // The one group both instances kept holds open exactly the shape's rows.
  const groups = await sql`SELECT count(*)::int AS n FROM electric.shape_groups`;
  assert.equal(groups[0].n, 1, "both instances' clients share one group");
  const open = await sql`SELECT DISTINCT row_key FROM electric.shape_group_rows
                          WHERE removed_lsn IS NULL ORDER BY row_key`;
  assert.equal(open.length, 6, JSON.stringify(open.map((r) => r.row_key)));
});

test("a client resumes on an instance started after it left: the new instance's window is the others'", async () => {
  const zId = crypto.randomUUID();
  const z = await session(1, zId);
  const subscription = await subscribeShape(
    z,
    relations,
    { tablename: "authors" },
    () => nodes.tails(),
  );
  await sql`INSERT INTO authors VALUES ('a9', 'nine')`;
  await received(z, ["insert authors:a9"]);
  const lsn = z.ack({ subscriptionIds: [subscription] });
  await waitFor(async () => {
    const [row] = await sql`
      SELECT acked_lsn::text AS lsn FROM electric.client_positions WHERE client_id = ${zId}`;
    return row?.lsn === new TextDecoder().decode(lsn);
  }, { timeoutMs: 10_000, what: "z's acknowledged position to be written" });
  z.client.close();
  await sql`INSERT INTO authors VALUES ('a10', 'ten')`;
  await sql`UPDATE authors SET name = 'nine!' WHERE id = 'a9'`;

  // A third instance joins now: its slot is younger than z's position.
  const joined = await Instances.create(cluster.url, ["node_c"], {});
  try {
    await joined.startAll();
    assert.match(joined.output(0), /as a copy of "[^"]+" \(another instance's\)/);
    const port = joined.list[0].httpPort;
    const resumed = await openShapeSession(`ws://127.0.0.1:${port}/ws`, zId, {
      lsn,
      subscriptionIds: [subscription],
    }).catch((error) => {
      throw new Error(`${error.message}\n${joined.tails()}`);
    });
    clients.push(resumed.client);
    await received(resumed, ["insert authors:a10"]);
    await received(resumed, ["update authors:a9"]);
  } finally {
    await joined.stopAll();
  }
});
