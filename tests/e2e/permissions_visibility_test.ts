/**
 * Permissions when the stream is ahead of what other sessions see (issue 17). Postgres hands a
 * commit to the replication stream once its commit record is flushed, and makes it visible to
 * other sessions a moment later; under load that moment is long enough for the service to act
 * on the transaction (drop a cached chain of foreign keys, re-read roles or rules) and read
 * Postgres before the transaction shows. Such a read must wait for it, or what it caches stays
 * stale until the next change: a comment whose issue moved into the member's project never
 * arrives (the interop test "comments follow their issue's project" failed so once).
 *
 * The moment is held open here on purpose: the cluster names a synchronous standby that never
 * connects, and the one session that writes asks for synchronous commit, so its commit is
 * flushed and streamed but waits (invisible) until the test cancels the wait.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import postgres from "postgres";
import { findFreePort } from "../../src/embedded/mod.ts";
import { type ScratchCluster, startScratchCluster } from "../helpers/pg_cluster.ts";
import { openSession, type Session } from "../helpers/permissions_scenario.ts";
import { serviceEnv } from "../helpers/service_config.ts";
import { type ServiceProcess, startService } from "../helpers/service_process.ts";
import { waitFor } from "../helpers/wait.ts";

let cluster: ScratchCluster;
let sql: postgres.Sql;
let service: ServiceProcess;
let port: number;
const sessions: Session[] = [];

before(async () => {
  cluster = await startScratchCluster({
    walLevel: "logical",
    // Only a session with synchronous_commit above `local` waits for this standby.
    settings: { synchronous_standby_names: "nobody" },
  });
  sql = postgres(cluster.url, { onnotice: () => {}, max: 2 });
  await sql.unsafe(`
    CREATE TABLE projects (id text PRIMARY KEY, name text);
    CREATE TABLE memberships (id text PRIMARY KEY, project_id text REFERENCES projects (id),
      user_id text);
    CREATE TABLE issues (id text PRIMARY KEY, project_id text REFERENCES projects (id),
      title text);
    CREATE TABLE comments (id text PRIMARY KEY, issue_id text REFERENCES issues (id),
      body text);`);
  port = await findFreePort();
  service = startService(await serviceEnv(cluster.url, port));
  await service.waitForStatus(port, 200, 30_000);
  await sql.begin(async (tx) => {
    await tx`CALL electric.migration_version('20240601120000')`;
    for (const table of ["projects", "memberships", "issues", "comments"]) {
      await tx`CALL electric.electrify(${table})`;
    }
  });
  await waitFor(async () => {
    const response = await fetch(`http://127.0.0.1:${port}/api/migrations?dialect=sqlite`);
    await response.body?.cancel();
    return response.status === 200;
  }, { timeoutMs: 20_000, what: "the migration to reach the service" });
  await sql.unsafe(`
    CALL electric.grant('select', '"public"."comments"', 'member', ARRAY['*'],
      '"public"."projects"', 'issue_id/project_id', null);
    CALL electric.grant('select', '"public"."issues"', 'member', ARRAY['*'],
      '"public"."projects"', null, null);
    CALL electric.assign('"public"."memberships"', '"public"."projects"', 'user_id',
      'member', null, null);
    INSERT INTO projects VALUES ('p1', 'one'), ('p2', 'two');
    INSERT INTO memberships VALUES ('m1', 'p1', 'alice');
    INSERT INTO issues VALUES ('i1', 'p1', 'a'), ('i2', 'p2', 'b'), ('i3', 'p2', 'c');
    INSERT INTO comments VALUES ('c1', 'i1', 'x'), ('c2', 'i2', 'y'), ('c3', 'i3', 'z');`);
});

after(async () => {
  for (const s of sessions) s.client.close();
  service?.kill();
  await sql?.end();
  await cluster?.stop();
});

/**
 * Runs `statement` so that it commits and is streamed but stays invisible to other sessions
 * until `streamed` resolved and the service had a moment to act on it; then lets it show.
 */
async function heldInvisible(statement: string, streamed: () => Promise<void>): Promise<void> {
  const writer = postgres(cluster.url, { onnotice: () => {}, max: 1 });
  try {
    const [{ pid }] = await writer`SELECT pg_backend_pid() AS pid`;
    await writer`SET synchronous_commit = on`;
    const written = writer.unsafe(statement).execute();
    await streamed();
    // The service read Postgres in reaction by now (before the fix: without the change).
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await sql`SELECT pg_cancel_backend(${pid})`;
    await written;
  } finally {
    await writer.end();
  }
}

const ofTable = (s: Session, table: string) =>
  s.rows().filter((r) => r.includes(`${table}:`)).sort();

test("an issue moving in, streamed before other sessions see it, still brings its comment", async () => {
  const alice = await openSession({ port, service }, "alice");
  sessions.push(alice);
  await alice.subscribe("issues");
  await alice.subscribe("comments");
  assert.deepEqual(ofTable(alice, "comments"), ["insert comments:c1"]);

  await heldInvisible("UPDATE issues SET project_id = 'p1' WHERE id = 'i2'", async () => {
    // The service streamed the move (the issue moved in for alice) ...
    await alice.until("insert issues:i2", "i2 to move in for alice");
    // ... while other sessions, the service's included, do not see it yet.
    const [seen] = await sql`SELECT project_id FROM issues WHERE id = 'i2'`;
    assert.equal(seen.project_id, "p2");
  });
  await waitFor(() => ofTable(alice, "comments").includes("insert comments:c2"), {
    timeoutMs: 10_000,
    what: () =>
      `c2 to move in with its issue (got ${ofTable(alice, "comments").join(", ")})\n` +
      `Service output:\n${service.output()}`,
  });
});

test("a membership streamed before other sessions see it opens its project's rows", async () => {
  const bob = await openSession({ port, service }, "bob");
  sessions.push(bob);
  await bob.subscribe("memberships");
  await bob.subscribe("issues");
  await bob.subscribe("comments");
  assert.deepEqual([...ofTable(bob, "issues"), ...ofTable(bob, "comments")], []);

  await heldInvisible("INSERT INTO memberships VALUES ('m2', 'p2', 'bob')", async () => {
    // Memberships are named by no grant: bob reads them all, so he sees it streamed.
    await bob.until("insert memberships:m2", "m2 to reach bob");
    const [seen] = await sql`SELECT count(*)::int AS n FROM memberships WHERE id = 'm2'`;
    assert.equal(seen.n, 0);
  });
  await waitFor(
    () =>
      ofTable(bob, "issues").includes("insert issues:i3") &&
      ofTable(bob, "comments").includes("insert comments:c3"),
    {
      timeoutMs: 10_000,
      what: () =>
        `i3 and c3 to reach bob (got ${[...ofTable(bob, "issues"), ...ofTable(bob, "comments")]})` +
        `\nService output:\n${service.output()}`,
    },
  );
});
