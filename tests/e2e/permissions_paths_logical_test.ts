/**
 * The write checks of permissions_paths_test.ts with `ELECTRIC_WRITE_TO_PG_MODE=
 * logical_replication` (Postgres subscribes to the service's publisher): the rows a client
 * transaction changes are checked against Postgres before the transaction is published, so a
 * forged old row or a comment on another project's issue is refused whole, and an allowed
 * write still reaches Postgres.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { expectRefused, type Scenario, startScenario } from "../helpers/permissions_scenario.ts";
import { waitFor } from "../helpers/wait.ts";

let scenario: Scenario;

before(async () => {
  scenario = await startScenario({
    ELECTRIC_WRITE_TO_PG_MODE: "logical_replication",
    LOGICAL_PUBLISHER_HOST: "127.0.0.1",
  });
});

after(async () => {
  await scenario.close();
});

test("logical_replication: forged old rows and foreign scopes refused, own writes applied", async () => {
  const { sql } = scenario;
  const before = [...await sql`SELECT id, issue_id, body FROM comments ORDER BY id`];
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
    ops: [{ kind: "delete", table: "comments", old: ["c2", "i1", "y"] }],
    what: "a delete of bob's comment with a forged old row",
  });
  await expectRefused(scenario, "alice", {
    ops: [{ kind: "insert", table: "comments", row: ["a3", "i3", "bob's issue"] }],
    what: "a comment on another project's issue",
  });
  const alice = await scenario.session("alice");
  await alice.send([
    { kind: "update", table: "comments", row: ["c1", "i1", "edited"], old: ["c1", "i1", "x"] },
    { kind: "insert", table: "comments", row: ["a1", "i1", "mine"] },
  ]);
  await waitFor(
    async () =>
      (await sql`SELECT 1 FROM comments WHERE id = 'a1' OR (id = 'c1' AND body = 'edited')`)
        .length === 2,
    { timeoutMs: 30_000, what: () => `alice's writes to be applied\n${scenario.service.output()}` },
  );
  const after = [
    ...await sql`SELECT id, issue_id, body FROM comments WHERE id <> 'a1' ORDER BY id`,
  ];
  assert.deepEqual(after, before.map((r) => r.id === "c1" ? { ...r, body: "edited" } : r));
});
