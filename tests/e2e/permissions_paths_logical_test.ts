/**
 * The write checks of permissions_paths_test.ts with `ELECTRIC_WRITE_TO_PG_MODE=
 * logical_replication` (Postgres subscribes to the service's publisher): the rows a client
 * transaction changes are checked against Postgres before the transaction is published, so a
 * forged old row or a comment on another project's issue is refused whole, and an allowed
 * write still reaches Postgres.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { SatErrorResp_ErrorCode } from "../../src/gen/mod.ts";
import { type Scenario, type Session, startScenario } from "../helpers/permissions_scenario.ts";
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

async function refused(s: Session, what: string): Promise<void> {
  const error = await s.client.next("SatErrorResp", { timeoutMs: 20_000 });
  assert.equal(error.message.errorType, SatErrorResp_ErrorCode.INVALID_REQUEST, what);
  assert.match(error.message.message ?? "", /permission denied/, what);
  await s.client.closed;
}

test("logical_replication: forged old rows and foreign scopes refused, own writes applied", async () => {
  const { sql } = scenario;
  const before = [...await sql`SELECT id, issue_id, body FROM comments ORDER BY id`];
  const updater = await scenario.session("alice");
  await updater.send([{
    kind: "update",
    table: "comments",
    row: ["c3", "i1", "taken"],
    old: ["c3", "i1", "z"],
  }]);
  await refused(updater, "an update of bob's comment with a forged old row");
  const deleter = await scenario.session("alice");
  await deleter.send([{ kind: "delete", table: "comments", old: ["c2", "i1", "y"] }]);
  await refused(deleter, "a delete of bob's comment with a forged old row");
  const intruder = await scenario.session("alice");
  await intruder.send([{ kind: "insert", table: "comments", row: ["a3", "i3", "bob's issue"] }]);
  await refused(intruder, "a comment on another project's issue");
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
