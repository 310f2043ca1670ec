/**
 * Permission rules in the replication stream: rows written by `CALL electric.grant(…)` and
 * friends reach the service's replication reader as whole-row changes of `electric.grants` and
 * `electric.assignments` (inserts, updates with old rows, deletes with old rows), while the
 * service's other tables stay out and user changes flow as before.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import postgres from "postgres";
import {
  InMemoryTransactionLog,
  replicationConnectionFrom,
  ReplicationReader,
  type ReplicationStreamHandle,
  type RowChange,
  type Transaction,
} from "../../src/replication/mod.ts";
import { bootstrapElectricSchema, ensurePublication } from "../../src/storage/mod.ts";
import { createLogger } from "../../src/telemetry/mod.ts";
import { freshDatabase } from "../helpers/pg_cluster.ts";
import { waitFor } from "../helpers/wait.ts";

const quiet = createLogger({ level: "error", write: () => {} });

test("grants and assignments changes come through the replication reader whole", async () => {
  const db = await freshDatabase();
  const sql = postgres(db.url, { max: 2, onnotice: () => {} });
  let handle: ReplicationStreamHandle | undefined;
  try {
    await bootstrapElectricSchema(sql);
    await ensurePublication(sql);
    await sql.unsafe(`
      CREATE TABLE projects (id uuid PRIMARY KEY, name text);
      CREATE TABLE members (id uuid PRIMARY KEY, project_id uuid REFERENCES projects (id),
                            user_id text, role text);
      CALL electric.electrify('projects');
      CALL electric.electrify('members');`);

    const log = new InMemoryTransactionLog({ maxBytes: 10_000_000 });
    const seen: Transaction[] = [];
    log.subscribe((tx) => seen.push(tx));
    handle = await new ReplicationReader({
      replayBytes: 0n,
      connect: replicationConnectionFrom(sql),
      sql,
      database: db.name,
      log,
      logger: quiet,
      statusIntervalMs: 100,
    }).start();

    const changes = () =>
      seen.flatMap((tx) => tx.changes).filter((c): c is RowChange => c.kind !== "truncate");
    const ruleChanges = () => changes().filter((c) => c.relation.schema === "electric");
    const calls = [
      `CALL electric.grant('select', 'projects', 'projects:member', ARRAY['*'], NULL)`,
      `CALL electric.grant('select', 'projects', 'projects:member', ARRAY['*'], NULL, NULL,
         'name IS NOT NULL')`,
      `CALL electric.assign('members', 'projects', 'user_id', NULL, 'role', NULL)`,
      `CALL electric.revoke('select', 'projects', 'member', ARRAY['*'], 'projects')`,
      `CALL electric.unassign('members', 'projects', 'user_id', NULL, 'role')`,
    ];
    for (const call of calls) await sql.unsafe(call);
    await sql`INSERT INTO projects VALUES ('9b2b4a52-7b0f-4b8e-9a8e-0d5cfb1d3a11', 'p')`;
    await waitFor(() => changes().some((c) => c.relation.table === "projects"), {
      timeoutMs: 10_000,
      what: "the user insert after the rule changes",
    });

    const grant = {
      privilege: "select",
      on_table: '"public"."projects"',
      role: "member",
      column_name: "*",
      scope: '"public"."projects"',
      using_path: null,
      check_fn: null,
    };
    const checked = { ...grant, check_fn: "name IS NOT NULL" };
    const assignment = {
      table_name: '"public"."members"',
      scope_table: '"public"."projects"',
      user_column: "user_id",
      role_name: "__none__",
      role_column: "role",
      if_fn: null,
    };
    const summary = ruleChanges().map((c) => {
      const { id: _id, ...record } = c.record ?? {};
      const { id: _oldId, ...oldRecord } = c.oldRecord ?? {};
      return [
        c.relation.table,
        c.kind,
        c.record ? record : null,
        c.oldRecord ? oldRecord : null,
      ];
    });
    assert.deepEqual(summary, [
      ["grants", "insert", grant, null],
      ["grants", "update", checked, grant],
      ["assignments", "insert", assignment, null],
      ["grants", "delete", null, checked],
      ["assignments", "delete", null, assignment],
    ]);
    const [assigned] = ruleChanges().filter((c) => c.relation.table === "assignments");
    assert.match(String(assigned.record?.id), /^[0-9a-f-]{36}$/, "assignments carry their id");
    // Nothing else of the electric schema (electrified, markers, shadow rows) is passed on.
    assert.deepEqual(
      [...new Set(ruleChanges().map((c) => c.relation.table))].sort(),
      ["assignments", "grants"],
    );
    const user = changes().filter((c) => c.relation.schema === "public");
    assert.deepEqual(user.map((c) => [c.relation.table, c.kind, c.record?.name]), [
      ["projects", "insert", "p"],
    ]);
  } finally {
    await handle?.close();
    await sql.end({ timeout: 1 });
    await db.drop();
  }
});
