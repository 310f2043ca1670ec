import assert from "node:assert/strict";
import { test } from "node:test";
import type { Transaction } from "../replication/mod.ts";
import type { Sql } from "../storage/mod.ts";
import { Visibility } from "../sync/mod.ts";
import type { Logger } from "../telemetry/mod.ts";
import { type AccessChange, Permissions } from "./store.ts";
import { MODEL } from "./test_fixtures.ts";

const SILENT = {
  debug() {},
  info() {},
  warning() {},
  error() {},
  child: () => SILENT,
} as unknown as Logger;

const XID = 1000;

interface State {
  /** Issue id → project. */
  issues: Record<string, string>;
  /** User → projects they are a member of. */
  members: Record<string, string[]>;
}

/**
 * Postgres as other sessions see it: `before` and `after` transaction XID, which the stream
 * may deliver before it is `visible` (as Postgres does: the commit record is flushed, and so
 * streamed, before the transaction leaves the running ones).
 */
function fakeDb(before: State, after: State) {
  const db = { visible: false, chainReads: 0, probes: 0 };
  const sql = {
    unsafe(text: string, params: string[][] = []) {
      const now = db.visible ? after : before;
      if (text.includes("pg_current_snapshot")) {
        db.probes++;
        const snapshot = db.visible ? `${XID + 1}:${XID + 1}:` : `${XID}:${XID + 1}:${XID}`;
        return Promise.resolve([{ snapshot }]);
      }
      if (text.includes("electric.grants")) {
        return Promise.resolve([{
          privilege: "select",
          on_table: '"public"."comments"',
          role: "member",
          column_name: "*",
          scope: '"public"."projects"',
          using_path: "issue_id/project_id",
          check_fn: null,
        }]);
      }
      if (text.includes("electric.assignments")) {
        return Promise.resolve([{
          table_name: '"public"."memberships"',
          scope_table: '"public"."projects"',
          user_column: "user_id",
          role_name: "member",
          role_column: "__none__",
          if_fn: null,
        }]);
      }
      if (text.includes("memberships")) {
        const user = (params as unknown as string[])[0];
        return Promise.resolve(
          (now.members[user] ?? []).map((project) => ({ role: "member", scope_0: project })),
        );
      }
      db.chainReads++;
      return Promise.resolve(
        Object.entries(now.issues)
          .filter(([, project]) => params[0].includes(project))
          .map(([issue, project]) => ({ s0: project, l1_0: issue })),
      );
    },
  };
  return Object.assign(db, { sql: sql as unknown as Sql });
}

const MEMBERSHIPS = {
  ...MODEL.tables[0],
  name: "memberships",
  columns: [
    { name: "id", type: { name: "text", array: [], size: [] }, notNull: true },
    { name: "project_id", type: { name: "text", array: [], size: [] }, notNull: false },
    { name: "user_id", type: { name: "text", array: [], size: [] }, notNull: false },
  ],
  primaryKeyName: "memberships_pkey",
  foreignKeys: [{
    name: "memberships_project_id_fkey",
    columns: ["project_id"],
    parentSchema: "public",
    parentTable: "projects",
    parentColumns: ["id"],
    onDelete: "NO ACTION" as const,
    onUpdate: "NO ACTION" as const,
  }],
};
const WITH_MEMBERSHIPS = { ...MODEL, tables: [...MODEL.tables, MEMBERSHIPS] };

const issuesRelation = { schema: "public", table: "issues", oid: 1, columns: [] };

/** Issue 2 moves from p2 into p1. */
const MOVE: Transaction = {
  xid: XID,
  lsn: 100n,
  commitTimestamp: new Date(),
  origin: "postgres_1",
  changes: [{
    kind: "update",
    relation: issuesRelation,
    oldRecord: { id: "2", project_id: "p2", title: "b" },
    record: { id: "2", project_id: "p1", title: "b" },
    tags: [],
  }],
  referencedRecords: [],
  byteSize: 0,
};

const alice = [{
  role: "member",
  scope: { table: { schema: "public", name: "projects" }, key: ["p1"] },
}];

async function commentsIssues(permissions: Permissions): Promise<string[]> {
  const resolved = await permissions.resolvedPaths("alice", alice, MODEL);
  return [...resolved.values()].flat().map((k) => k[0]).sort();
}

/** Permissions on `db`, and `stream`, which hands them a transaction as main.ts wires it. */
function permissionsOn(db: ReturnType<typeof fakeDb>, model = MODEL) {
  const visibility = new Visibility({ logger: SILENT });
  const permissions = new Permissions({
    pool: () => db.sql,
    model: () => model,
    logger: SILENT,
    visibility,
  });
  const stream = (tx: Transaction) => {
    // The shared tracker hears each transaction first, as it is subscribed first.
    visibility.observe(tx);
    permissions.observe(tx);
  };
  return { permissions, stream };
}

test("a chain read after a change the stream delivered sees that change", async () => {
  const db = fakeDb(
    { issues: { "1": "p1", "2": "p2" }, members: {} },
    { issues: { "1": "p1", "2": "p1" }, members: {} },
  );
  const { permissions, stream } = permissionsOn(db);
  await permissions.loaded();
  assert.deepEqual(await commentsIssues(permissions), ["1"]);

  const changes: AccessChange[] = [];
  permissions.onChange((change) => changes.push(change));
  // Streamed, not yet visible to other sessions: alice's chain is dropped and she is named.
  stream(MOVE);
  assert.deepEqual(changes, [{ users: new Set(["alice"]) }]);
  // She resolves at once, as watchAccess does; the move shows a moment later.
  const reading = commentsIssues(permissions);
  setTimeout(() => db.visible = true, 30);
  assert.deepEqual(await reading, ["1", "2"], "the read waited for the move to be visible");
  // And what is cached is the chain after the move.
  assert.deepEqual(await commentsIssues(permissions), ["1", "2"]);
});

test("a chain first read after a change the stream delivered sees it too", async () => {
  const db = fakeDb(
    { issues: { "1": "p1", "2": "p2" }, members: {} },
    { issues: { "1": "p1", "2": "p1" }, members: {} },
  );
  const { permissions, stream } = permissionsOn(db);
  await permissions.loaded();
  // Nobody held p1's chain: nobody is named, but a chain read from now on must see the move.
  stream(MOVE);
  const reading = commentsIssues(permissions);
  setTimeout(() => db.visible = true, 30);
  assert.deepEqual(await reading, ["1", "2"]);
});

test("roles read after a membership the stream delivered include it", async () => {
  const db = fakeDb(
    { issues: {}, members: { bob: ["p1"] } },
    { issues: {}, members: { bob: ["p1", "p2"] } },
  );
  const { permissions, stream } = permissionsOn(db, WITH_MEMBERSHIPS);
  await permissions.loaded();
  assert.deepEqual((await permissions.rolesOf("bob")).map((r) => r.scope?.key[0]), ["p1"]);
  const changes: AccessChange[] = [];
  permissions.onChange((change) => changes.push(change));
  stream({
    ...MOVE,
    changes: [{
      kind: "insert",
      relation: { ...issuesRelation, table: "memberships" },
      record: { id: "m2", project_id: "p2", user_id: "bob" },
      tags: [],
    }],
  });
  assert.deepEqual(changes, [{ users: new Set(["bob"]) }]);
  const reading = permissions.rolesOf("bob");
  setTimeout(() => db.visible = true, 30);
  assert.deepEqual((await reading).map((r) => r.scope?.key[0]), ["p1", "p2"]);
});

test("reads wait only for transactions not seen visible yet, one snapshot for all", async () => {
  const db = fakeDb(
    { issues: { "1": "p1" }, members: {} },
    { issues: { "1": "p1" }, members: {} },
  );
  db.visible = true;
  const { permissions, stream } = permissionsOn(db);
  await permissions.loaded();
  assert.equal(db.probes, 0, "nothing observed: no snapshot looked at");
  stream(MOVE);
  const [a, b] = await Promise.all([commentsIssues(permissions), commentsIssues(permissions)]);
  assert.deepEqual([a, b], [["1"], ["1"]]);
  assert.equal(db.probes, 1);
  assert.deepEqual(await commentsIssues(permissions), ["1"]);
  assert.equal(db.probes, 1, "seen visible once: not looked for again");
});
