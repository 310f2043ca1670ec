/**
 * Permissions when the stream is ahead of what other sessions see (issue 17). Postgres hands a
 * commit to the replication stream once its commit record is flushed, and makes it visible to
 * other sessions a moment later; under load that moment is long enough for the service to act
 * on the transaction (drop a cached chain of foreign keys, re-read roles or rules) and read
 * Postgres before the transaction shows. Such a read must wait for it, or what it caches stays
 * stale until the next change: a comment whose issue moved into the member's project never
 * arrives (the interop test "comments follow their issue's project" failed so once).
 *
 * The moment is held open on purpose by tests/helpers/held_commit.ts (a synchronous standby
 * that never connects, and a writer that waits for it).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { type HeldCommitService, startHeldCommitService } from "../helpers/held_commit.ts";
import { openSession, SCHEMA, type Session } from "../helpers/permissions_scenario.ts";
import { waitFor } from "../helpers/wait.ts";

let held: HeldCommitService;
const sessions: Session[] = [];

before(async () => {
  held = await startHeldCommitService(SCHEMA);
  await held.sql.unsafe(`
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
  await held?.close();
});

const ofTable = (s: Session, table: string) =>
  s.rows().filter((r) => r.includes(`${table}:`)).sort();

test("an issue moving in, streamed before other sessions see it, still brings its comment", async () => {
  const alice = await openSession(held, "alice");
  sessions.push(alice);
  await alice.subscribe("issues");
  await alice.subscribe("comments");
  assert.deepEqual(ofTable(alice, "comments"), ["insert comments:c1"]);

  await held.heldInvisible("UPDATE issues SET project_id = 'p1' WHERE id = 'i2'", async () => {
    // The service streamed the move (the issue moved in for alice) ...
    await alice.until("insert issues:i2", "i2 to move in for alice");
    // ... while other sessions, the service's included, do not see it yet.
    const [seen] = await held.sql`SELECT project_id FROM issues WHERE id = 'i2'`;
    assert.equal(seen.project_id, "p2");
  });
  await waitFor(() => ofTable(alice, "comments").includes("insert comments:c2"), {
    timeoutMs: 10_000,
    what: () =>
      `c2 to move in with its issue (got ${ofTable(alice, "comments").join(", ")})\n` +
      `Service output:\n${held.service.output()}`,
  });
});

test("a membership streamed before other sessions see it opens its project's rows", async () => {
  const bob = await openSession(held, "bob");
  sessions.push(bob);
  await bob.subscribe("memberships");
  await bob.subscribe("issues");
  await bob.subscribe("comments");
  assert.deepEqual([...ofTable(bob, "issues"), ...ofTable(bob, "comments")], []);

  await held.heldInvisible("INSERT INTO memberships VALUES ('m2', 'p2', 'bob')", async () => {
    // Memberships are named by no grant: bob reads them all, so he sees it streamed.
    await bob.until("insert memberships:m2", "m2 to reach bob");
    const [seen] = await held.sql`SELECT count(*)::int AS n FROM memberships WHERE id = 'm2'`;
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
        `\nService output:\n${held.service.output()}`,
    },
  );
});
