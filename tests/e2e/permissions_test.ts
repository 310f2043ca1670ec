/**
 * Permissions on the read path (issue 17), end to end with raw Satellite clients: with
 * `ELECTRIC GRANT SELECT ON issues TO (projects, 'member')` and `ELECTRIC ASSIGN (projects,
 * 'member') TO memberships.user_id`, each user's subscription to issues holds only the issues
 * of their projects — in the initial data and in the live stream — and a membership added or
 * removed moves that project's issues in or out without a reconnect. A table no grant names
 * (memberships) stays readable by everyone, as in 0.12. Writes: with `ELECTRIC GRANT INSERT ON
 * issues TO (projects, 'member')`, a member's insert into their project is applied, one into
 * another project refuses the whole transaction (INVALID_REQUEST) and Postgres is unchanged.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import postgres from "postgres";
import { create, toBinary } from "@bufbuild/protobuf";
import {
  SatErrorResp_ErrorCode,
  SatInStartReplicationRespSchema,
  SatOpLogSchema,
  SatRelationSchema,
  SatRpcResponseSchema,
} from "../../src/gen/mod.ts";
import { nullsBitmask } from "../../src/satellite/serialization/mod.ts";
import { findFreePort } from "../../src/embedded/mod.ts";
import { freshDatabase } from "../helpers/pg_cluster.ts";
import { openSession, type Session } from "../helpers/permissions_scenario.ts";
import type { TestClient } from "../helpers/satellite_client.ts";
import { serviceEnv } from "../helpers/service_config.ts";
import { type ServiceProcess, startService } from "../helpers/service_process.ts";
import { waitFor } from "../helpers/wait.ts";

let db: Awaited<ReturnType<typeof freshDatabase>>;
let sql: postgres.Sql;
let port: number;
let service: ServiceProcess;
const clients: TestClient[] = [];

before(async () => {
  db = await freshDatabase();
  sql = postgres(db.url, { onnotice: () => {}, max: 2 });
  await sql.unsafe(`
    CREATE TABLE projects (id text PRIMARY KEY, name text);
    CREATE TABLE memberships (id text PRIMARY KEY, project_id text REFERENCES projects (id),
      user_id text);
    CREATE TABLE issues (id text PRIMARY KEY, project_id text REFERENCES projects (id),
      title text);`);
  port = await findFreePort();
  service = startService(await serviceEnv(db.url, port));
  await service.waitForStatus(port, 200, 30_000);
  await sql.begin(async (tx) => {
    await tx`CALL electric.migration_version('20240601120000')`;
    for (const table of ["projects", "memberships", "issues"]) {
      await tx`CALL electric.electrify(${table})`;
    }
  });
  await waitFor(async () => {
    const response = await fetch(`http://127.0.0.1:${port}/api/migrations?dialect=sqlite`);
    await response.body?.cancel();
    return response.status === 200;
  }, { timeoutMs: 20_000, what: "the migration to reach the service" });
  // The rules as ELECTRIC GRANT / ASSIGN store them.
  await sql.unsafe(`
    INSERT INTO electric.grants (privilege, on_table, role, column_name, scope)
      VALUES ('select', '"public"."issues"', 'member', '*', '"public"."projects"'),
             ('insert', '"public"."issues"', 'member', '*', '"public"."projects"'),
             ('select', '"public"."projects"', 'member', '*', '"public"."projects"');
    INSERT INTO electric.assignments (table_name, scope_table, user_column, role_name)
      VALUES ('"public"."memberships"', '"public"."projects"', 'user_id', 'member');
    INSERT INTO projects VALUES ('p1', 'one'), ('p2', 'two');
    INSERT INTO memberships VALUES ('m1', 'p1', 'alice'), ('m2', 'p2', 'bob');
    INSERT INTO issues VALUES ('i1', 'p1', 'a'), ('i2', 'p1', 'b'), ('i3', 'p2', 'c');`);
});

after(async () => {
  for (const client of clients) client.close();
  service.kill();
  await sql.end();
  await db.drop();
});

/** A session of `user`, closed after the tests. */
async function session(user: string): Promise<Session> {
  const s = await openSession({ port, service }, user);
  clients.push(s.client);
  return s;
}

const sessions = new Map<string, Session>();

test("each user's initial data holds only the rows of their projects", async () => {
  for (const user of ["alice", "bob", "carol"]) {
    const s = await session(user);
    sessions.set(user, s);
    await s.subscribe("issues");
    await s.subscribe("memberships");
  }
  const issues = (user: string) =>
    sessions.get(user)!.rows().filter((r) => r.includes("issues:")).sort();
  assert.deepEqual(issues("alice"), ["insert issues:i1", "insert issues:i2"]);
  assert.deepEqual(issues("bob"), ["insert issues:i3"]);
  assert.deepEqual(issues("carol"), []);
  // No grant names memberships: everyone reads all of it, as without permissions.
  const memberships = sessions.get("carol")!.rows().filter((r) => r.includes("memberships:"));
  assert.deepEqual(memberships.sort(), ["insert memberships:m1", "insert memberships:m2"]);
});

test("the live stream carries each user only the changes of their projects", async () => {
  for (const [id, project] of [["i4", "p1"], ["i5", "p2"], ["i6", "p1"], ["i7", "p2"]]) {
    await sql`INSERT INTO issues VALUES (${id}, ${project}, 'x')`;
  }
  const alice = sessions.get("alice")!;
  const bob = sessions.get("bob")!;
  // Each waits for its last row: every earlier insert has been through its filter by then.
  await alice.until("insert issues:i6", "alice to receive i6");
  await bob.until("insert issues:i7", "bob to receive i7");
  const issues = (s: Session) => s.rows().filter((r) => r.includes("issues:")).sort();
  assert.deepEqual(issues(alice), ["i1", "i2", "i4", "i6"].map((i) => `insert issues:${i}`));
  assert.deepEqual(issues(bob), ["i3", "i5", "i7"].map((i) => `insert issues:${i}`));
  assert.deepEqual(issues(sessions.get("carol")!), []);
});

test("a membership added moves a project's rows in, removed moves them out, live", async () => {
  const alice = sessions.get("alice")!;
  await sql`INSERT INTO memberships VALUES ('m3', 'p2', 'alice')`;
  await alice.until("insert issues:i3", "p2's issues to move in for alice");
  await alice.until("insert issues:i7", "p2's issues to move in for alice");
  await sql`DELETE FROM memberships WHERE id = 'm3'`;
  await alice.until("gone issues:i3", "p2's issues to move out for alice");
  await alice.until("gone issues:i7", "p2's issues to move out for alice");
  // Her own project's rows stay.
  assert.ok(!alice.rows().includes("gone issues:i1"));
});

/**
 * Opens the upload direction (answers the server's startReplication, announces issues) and
 * sends one transaction inserting `rows` (id, project_id, title).
 */
async function insertIssues(s: Session, rows: string[][]): Promise<void> {
  const request = await s.client.next("SatRpcRequest", {
    where: (f) => f.message.method === "startReplication",
  });
  s.client.send(create(SatRpcResponseSchema, {
    method: "startReplication",
    requestId: request.message.requestId,
    result: {
      case: "message",
      value: toBinary(SatInStartReplicationRespSchema, create(SatInStartReplicationRespSchema)),
    },
  }));
  s.client.send(create(SatRelationSchema, {
    schemaName: "public",
    tableName: "issues",
    relationId: 7,
    columns: ["id", "project_id", "title"].map((name) => ({
      name,
      type: "TEXT",
      isNullable: true,
    })),
  }));
  const encoder = new TextEncoder();
  s.client.send(create(SatOpLogSchema, {
    ops: [
      {
        op: {
          case: "begin",
          value: { commitTimestamp: BigInt(Date.now()), lsn: Uint8Array.of(1) },
        },
      },
      ...rows.map((row) => ({
        op: {
          case: "insert" as const,
          value: {
            relationId: 7,
            rowData: {
              nullsBitmask: nullsBitmask(row.map(() => false)),
              values: row.map((v) => encoder.encode(v)),
            },
          },
        },
      })),
      { op: { case: "commit", value: {} } },
    ],
  }));
}

test("a write inside one's grants is applied; one outside refuses the whole transaction", async () => {
  const bobWrites = await session("bob");
  await insertIssues(bobWrites, [["b1", "p2", "mine"]]);
  await waitFor(
    async () => (await sql`SELECT 1 FROM issues WHERE id = 'b1'`).length === 1,
    { timeoutMs: 20_000, what: "bob's issue in his project to be applied" },
  );
  const intruder = await session("bob");
  // The first row is his to write, the second is not: nothing of the transaction is written.
  await insertIssues(intruder, [["b2", "p2", "mine"], ["b3", "p1", "not mine"]]);
  const error = await intruder.client.next("SatErrorResp", { timeoutMs: 20_000 });
  assert.equal(error.message.errorType, SatErrorResp_ErrorCode.INVALID_REQUEST);
  assert.match(error.message.message ?? "", /permission denied: insert on public\.issues/);
  await intruder.client.closed;
  const written = await sql`SELECT id FROM issues WHERE id IN ('b2', 'b3')`;
  assert.deepEqual([...written], []);
});

test("a grant made while clients are connected narrows what they hold at once", async () => {
  await sql`CALL electric.grant('select', '"public"."memberships"', 'member', ARRAY['*'],
    '"public"."projects"', null, null)`;
  const alice = sessions.get("alice")!;
  const carol = sessions.get("carol")!;
  // memberships is governed now: carol (no project) loses every row, alice keeps p1's.
  await carol.until("gone memberships:m1", "carol to lose m1");
  await carol.until("gone memberships:m2", "carol to lose m2");
  await alice.until("gone memberships:m2", "alice to lose bob's membership");
  assert.ok(!alice.rows().includes("gone memberships:m1"));
});
