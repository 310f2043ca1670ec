/**
 * Permissions over chains of foreign keys (issue 17), end to end with raw Satellite clients:
 * with `ELECTRIC GRANT ALL ON comments TO (projects, 'member') USING issue_id/project_id`, a
 * member reads the comments of their projects' issues — in the initial data and live, a
 * comment moving in when its issue moves into the project and out when it moves away, a
 * comment inserted together with its new issue arriving too — and may write only those.
 * Updates and deletes are checked against the row Postgres holds, not the old row the client
 * sends: a forged old row refuses the transaction and Postgres is unchanged.
 * (The same write checks in `logical_replication` mode: permissions_paths_logical_test.ts.)
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import {
  expectRefused,
  type Scenario,
  type Session,
  startScenario,
} from "../helpers/permissions_scenario.ts";
import { waitFor } from "../helpers/wait.ts";

let scenario: Scenario;
const sessions = new Map<string, Session>();

before(async () => {
  scenario = await startScenario();
});

after(async () => {
  await scenario.close();
});

const comments = (s: Session) => s.rows().filter((r) => r.includes("comments:")).sort();

test("initial data: the comments of the issues of one's projects, through issues", async () => {
  for (const user of ["alice", "bob", "carol"]) {
    const s = await scenario.session(user);
    sessions.set(user, s);
    await s.subscribe("comments");
  }
  assert.deepEqual(comments(sessions.get("alice")!), ["insert comments:c1"]);
  assert.deepEqual(comments(sessions.get("bob")!), ["insert comments:c2", "insert comments:c3"]);
  assert.deepEqual(comments(sessions.get("carol")!), []);
});

test("an issue moved into a project moves its comments in, moved away moves them out", async () => {
  const { sql } = scenario;
  const alice = sessions.get("alice")!;
  const bob = sessions.get("bob")!;
  await sql`UPDATE issues SET project_id = 'p1' WHERE id = 'i2'`;
  await alice.until("insert comments:c2", "c2 to move in for alice with its issue");
  await bob.until("gone comments:c2", "c2 to move out for bob with its issue");
  await sql`UPDATE issues SET project_id = 'p2' WHERE id = 'i2'`;
  await alice.until("gone comments:c2", "c2 to move out for alice with its issue");
  await bob.until("insert comments:c2", "c2 to move back in for bob");
  // A comment on an issue alice holds arrives live; one on bob's does not reach her.
  await sql`INSERT INTO comments VALUES ('c5', 'i3', 'bob''s')`;
  await sql`INSERT INTO comments VALUES ('c6', 'i1', 'alice''s')`;
  await alice.until("insert comments:c6", "c6 to reach alice");
  await bob.until("insert comments:c5", "c5 to reach bob");
  assert.ok(!alice.rows().includes("insert comments:c5"));
  assert.ok(!bob.rows().includes("insert comments:c6"));
});

test("a comment inserted in the same transaction as its new issue reaches the member", async () => {
  const { sql } = scenario;
  const alice = sessions.get("alice")!;
  await sql.begin(async (tx) => {
    await tx`INSERT INTO issues VALUES ('i4', 'p1', 'new')`;
    await tx`INSERT INTO comments VALUES ('c4', 'i4', 'first')`;
  });
  await alice.until("insert comments:c4", "c4 to reach alice with its new issue");
  assert.ok(!sessions.get("bob")!.rows().includes("insert comments:c4"));
  // A later session's initial data agrees with the live stream.
  const again = await scenario.session("alice");
  await again.subscribe("comments");
  assert.deepEqual(comments(again), ["c1", "c4", "c6"].map((c) => `insert comments:${c}`));
  // The issue deleted (with its comment): gone without a reconnect.
  await sql.begin(async (tx) => {
    await tx`DELETE FROM comments WHERE id = 'c4'`;
    await tx`DELETE FROM issues WHERE id = 'i4'`;
  });
  await again.until("delete comments:c4", "c4's delete to reach alice");
});

test("writes over the chain: a comment on one's project's issue is applied, another refused", async () => {
  const { sql } = scenario;
  const alice = await scenario.session("alice");
  await alice.send([{ kind: "insert", table: "comments", row: ["a1", "i1", "mine"] }]);
  await waitFor(
    async () => (await sql`SELECT 1 FROM comments WHERE id = 'a1'`).length === 1,
    { timeoutMs: 20_000, what: "alice's comment on her project's issue to be applied" },
  );
  await expectRefused(scenario, "alice", {
    ops: [
      { kind: "insert", table: "comments", row: ["a2", "i1", "mine"] },
      { kind: "insert", table: "comments", row: ["a3", "i3", "bob's issue"] },
    ],
    what: "a comment on another project's issue",
  });
  assert.deepEqual([...await sql`SELECT id FROM comments WHERE id IN ('a2', 'a3')`], []);
});

test("a forged old row does not open an update or delete of a row outside one's scope", async () => {
  const { sql } = scenario;
  const before = [...await sql`SELECT id, issue_id, body FROM comments ORDER BY id`];
  // c3 is on bob's issue i3; alice claims it was on her issue i1.
  await expectRefused(scenario, "alice", {
    ops: [{
      kind: "update",
      table: "comments",
      row: ["c3", "i1", "taken"],
      old: ["c3", "i1", "z"],
    }],
    what: "an update of bob's comment with a forged old row",
  });
  await expectRefused(scenario, "alice", {
    ops: [{ kind: "delete", table: "comments", old: ["c3", "i1", "z"] }],
    what: "a delete of bob's comment with a forged old row",
  });
  // The same with a direct foreign key: bob's issue claimed to be in alice's project.
  await expectRefused(scenario, "alice", {
    ops: [{ kind: "update", table: "issues", row: ["i3", "p1", "taken"], old: ["i3", "p1", "c"] }],
    what: "an update of bob's issue with a forged old row",
  });
  assert.deepEqual([...await sql`SELECT id, issue_id, body FROM comments ORDER BY id`], before);
  assert.deepEqual([...await sql`SELECT project_id, title FROM issues WHERE id = 'i3'`], [
    { project_id: "p2", title: "c" },
  ]);
  // Alice's own comment, updated and then deleted with its true old row, is hers to change.
  const owner = await scenario.session("alice");
  await owner.send([{
    kind: "update",
    table: "comments",
    row: ["c1", "i1", "edited"],
    old: ["c1", "i1", "x"],
  }]);
  await waitFor(
    async () =>
      (await sql`SELECT 1 FROM comments WHERE id = 'c1' AND body = 'edited'`).length === 1,
    { timeoutMs: 20_000, what: "alice's update of her comment to be applied" },
  );
  // A delete with the true old row passes the check (whether it removes the row is the merge's
  // business: it observed no tags). The insert after it shows it was taken.
  await owner.send([{ kind: "delete", table: "comments", old: ["c1", "i1", "edited"] }]);
  await owner.send([{ kind: "insert", table: "comments", row: ["a4", "i1", "after"] }]);
  await waitFor(
    async () => (await sql`SELECT 1 FROM comments WHERE id = 'a4'`).length === 1,
    { timeoutMs: 20_000, what: "alice's insert after her delete to be applied" },
  );
  assert.ok(!owner.client.isClosed());
  assert.ok(!owner.client.frames.some((f) => f.name === "SatErrorResp"));
});
