import assert from "node:assert/strict";
import { test } from "node:test";
import type { Sql } from "../storage/mod.ts";
import { PathCache } from "./path_cache.ts";
import { scopePath } from "./paths.ts";
import { COMMENTS, fixture, MODEL } from "./test_fixtures.ts";

const projects = { schema: "public", name: "projects" };
const issuesTable = { schema: "public", name: "issues" };
const commentsTable = { schema: "public", name: "comments" };

/** Issues (id → project) and comments (id → issue) answering the chain queries. */
function fakeDb(issues: Record<string, string>, comments: Record<string, string> = {}) {
  const calls: string[][] = [];
  let gate: Promise<void> | undefined;
  const sql = {
    async unsafe(_text: string, params: string[][]) {
      calls.push(params[0]);
      const snapshot = { ...issues };
      await gate;
      const rows = [];
      for (const [issue, project] of Object.entries(snapshot)) {
        if (!params[0].includes(project)) continue;
        const children = Object.entries(comments).filter(([, i]) => i === issue);
        if (children.length === 0) rows.push({ s0: project, l1_0: issue, l2_0: null });
        // Two-hop chains select l1 = issue; three-hop ones l1 = comment, l2 = issue.
        for (const [comment] of children) rows.push({ s0: project, l1_0: comment, l2_0: issue });
      }
      return rows;
    },
  };
  return {
    sql: sql as unknown as Sql,
    calls,
    issues,
    hold() {
      const { promise, resolve } = Promise.withResolvers<void>();
      gate = promise;
      return () => {
        gate = undefined;
        resolve();
      };
    },
  };
}

const path = scopePath(COMMENTS, projects, { model: MODEL });
assert.ok(path.ok);
const hops = path.hops;

test("a chain is resolved per scope row, once, and shared by the users holding it", async () => {
  const db = fakeDb({ "1": "p1", "2": "p1", "3": "p2" });
  const cache = new PathCache();
  const alice = await cache.resolve(db.sql, MODEL, { hops, keys: [["p1"]], userId: "alice" });
  assert.deepEqual(alice, [["1"], ["2"]]);
  const bob = await cache.resolve(db.sql, MODEL, { hops, keys: [["p1"], ["p2"]], userId: "bob" });
  assert.deepEqual(bob.map((k) => k[0]).sort(), ["1", "2", "3"]);
  // p1 was cached by alice's read: bob's read asked only for p2.
  assert.deepEqual(db.calls, [["p1"], ["p2"]]);
  assert.equal(cache.size, 2);
});

test("a row in the middle of the chain changing names the users of the scope rows it touches", async () => {
  const db = fakeDb({ "1": "p1", "3": "p2" });
  const cache = new PathCache();
  await cache.resolve(db.sql, MODEL, { hops, keys: [["p1"]], userId: "alice" });
  await cache.resolve(db.sql, MODEL, { hops, keys: [["p2"]], userId: "bob" });
  // An issue of a project nobody here holds, and a comment (not in the middle): nobody.
  assert.deepEqual(
    cache.changed(issuesTable, [undefined, { id: "9", project_id: "p7" }]),
    new Set(),
  );
  assert.deepEqual(
    cache.changed(commentsTable, [undefined, { id: "c", issue_id: "1" }]),
    new Set(),
  );
  // An issue moved from p1 to p2 changes both.
  const moved = cache.changed(issuesTable, [
    { id: "1", project_id: "p1" },
    { id: "1", project_id: "p2" },
  ]);
  assert.deepEqual([...moved].sort(), ["alice", "bob"]);
  // Both entries were dropped: they are read again.
  db.issues["1"] = "p2";
  assert.deepEqual(
    await cache.resolve(db.sql, MODEL, { hops, keys: [["p2"]], userId: "bob" }),
    [["1"], ["3"]],
  );
  assert.equal(db.calls.length, 3);
  // A user whose access no longer uses an entry is not named for it.
  cache.forget("alice");
  assert.deepEqual(
    cache.changed(issuesTable, [undefined, { id: "4", project_id: "p1" }]),
    new Set(),
  );
  assert.deepEqual(cache.truncated(issuesTable), new Set(["bob"]));
  assert.equal(cache.size, 0);
});

test("a change seen while the chain is being read drops the read: its users resolve again", async () => {
  const db = fakeDb({ "1": "p1" });
  const cache = new PathCache();
  const release = db.hold();
  const pending = cache.resolve(db.sql, MODEL, { hops, keys: [["p1"]], userId: "alice" });
  await Promise.resolve();
  db.issues["2"] = "p1";
  assert.deepEqual(
    cache.changed(issuesTable, [undefined, { id: "2", project_id: "p1" }]),
    new Set(["alice"]),
  );
  release();
  assert.deepEqual(await pending, [["1"]]); // stale, and alice was told so
  assert.deepEqual(
    await cache.resolve(db.sql, MODEL, { hops, keys: [["p1"]], userId: "alice" }),
    [["1"], ["2"]],
  );
});

test("longer chains: a change two levels down is found through the level's keys", async () => {
  const attachments = fixture("attachments", { comment_id: "comments" });
  const model = { ...MODEL, tables: [...MODEL.tables, attachments] };
  const long = scopePath(attachments, projects, { model });
  assert.ok(long.ok && long.hops.length === 3);
  const db = fakeDb({ "1": "p1", "2": "p2" }, { c1: "1", c2: "2" });
  const cache = new PathCache();
  const keys = await cache.resolve(db.sql, model, {
    hops: long.hops,
    keys: [["p1"]],
    userId: "alice",
  });
  assert.deepEqual(keys, [["c1"]]);
  // A comment added to issue 2 (p2): nothing alice holds.
  assert.deepEqual(
    cache.changed(commentsTable, [undefined, { id: "c3", issue_id: "2" }]),
    new Set(),
  );
  // A comment added to issue 1 (p1): alice.
  assert.deepEqual(
    cache.changed(commentsTable, [undefined, { id: "c4", issue_id: "1" }]),
    new Set(["alice"]),
  );
});
