import assert from "node:assert/strict";
import { test } from "node:test";
import { chainQuery, pathElements, scopePath } from "./paths.ts";
import { COMMENTS, fixture, ISSUES, MODEL, PROJECTS, USERS } from "./test_fixtures.ts";

const projects = { schema: "public", name: "projects" };

test("USING paths: elements split on / or ., quotes kept together", () => {
  assert.deepEqual(pathElements("issue_id/project_id"), ["issue_id", "project_id"]);
  assert.deepEqual(pathElements(" issue_id.project_id "), ["issue_id", "project_id"]);
  assert.deepEqual(pathElements('"a/b"/"c""d"'), ["a/b", 'c"d']);
  assert.deepEqual(pathElements("project_id"), ["project_id"]);
});

test("a USING path of two foreign keys is followed to the scope table", () => {
  const path = scopePath(COMMENTS, projects, { usingPath: "issue_id/project_id", model: MODEL });
  assert.ok(path.ok);
  assert.deepEqual(path.hops.map((h) => [h.table.name, h.columns, h.parent.name]), [
    ["comments", ["issue_id"], "issues"],
    ["issues", ["project_id"], "projects"],
  ]);
  // Without the schema only the table's own foreign keys can be followed.
  assert.equal(scopePath(COMMENTS, projects, { usingPath: "issue_id/project_id" }).ok, false);
});

test("a USING path that is not a chain of foreign keys to the scope opens nothing, with a reason", () => {
  const wrong = scopePath(COMMENTS, projects, { usingPath: "author_id", model: MODEL });
  assert.ok(!wrong.ok);
  assert.match(wrong.reason, /does not lead to public\.projects/);
  const unknown = scopePath(COMMENTS, projects, { usingPath: "issue_id/nope", model: MODEL });
  assert.ok(!unknown.ok);
  assert.match(unknown.reason, /issues\.nope is not one foreign key/);
});

test("without USING: the one direct foreign key, else the one chain; ambiguity opens nothing", () => {
  const direct = scopePath(ISSUES, projects, { model: MODEL });
  assert.ok(direct.ok && direct.hops.length === 1);
  const chain = scopePath(COMMENTS, projects, { model: MODEL });
  assert.ok(chain.ok);
  assert.deepEqual(chain.hops.map((h) => h.columns[0]), ["issue_id", "project_id"]);
  assert.deepEqual(scopePath(PROJECTS, projects, { model: MODEL }), { ok: true, hops: [] });
  // Comments reach projects through issues and, now, through their authors too.
  const users = fixture("users", { project_id: "projects" });
  const twoWays = { ...MODEL, tables: [PROJECTS, ISSUES, COMMENTS, users] };
  const ambiguous = scopePath(COMMENTS, projects, { model: twoWays });
  assert.ok(!ambiguous.ok);
  assert.match(ambiguous.reason, /more than one chain .* name one with USING/);
  // …which USING settles.
  const named = scopePath(COMMENTS, projects, {
    model: twoWays,
    usingPath: "author_id/project_id",
  });
  assert.ok(named.ok && named.hops[0].columns[0] === "author_id");
  const none = scopePath(USERS, projects, { model: MODEL });
  assert.ok(!none.ok);
  assert.match(none.reason, /no chain of foreign keys/);
});

test("the chain query joins the tables in between and casts the scope keys", () => {
  const attachments = fixture("attachments", { comment_id: "comments" });
  const model = { ...MODEL, tables: [...MODEL.tables, attachments] };
  const path = scopePath(attachments, projects, { model });
  assert.ok(path.ok && path.hops.length === 3);
  assert.equal(
    chainQuery(model, path.hops),
    'SELECT k.k0 AS s0, a1."id"::text AS l1_0, a2."id"::text AS l2_0 ' +
      'FROM "public"."issues" a2 JOIN unnest($1::text[]) AS k(k0) ' +
      'ON a2."project_id" = CAST(k.k0 AS text) ' +
      'LEFT JOIN "public"."comments" a1 ON a1."issue_id" = a2."id"',
  );
});
