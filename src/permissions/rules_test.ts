import assert from "node:assert/strict";
import { test } from "node:test";
import { governed, parseTableName, rulesFrom } from "./rules.ts";

test("table names: quoted as the procedures store them, or plain", () => {
  assert.deepEqual(parseTableName('"public"."issues"'), { schema: "public", name: "issues" });
  assert.deepEqual(parseTableName('"My ""Schema"""."T"'), { schema: 'My "Schema"', name: "T" });
  assert.deepEqual(parseTableName("Issues"), { schema: "public", name: "issues" });
  assert.deepEqual(parseTableName("app.issues"), { schema: "app", name: "issues" });
  for (const bad of ["", '"open', "a.b.c", "a.", '"a"x']) {
    assert.equal(parseTableName(bad), undefined, bad);
  }
});

test("grant rows of one privilege, table, role and scope make one grant with its columns", () => {
  const row = (column: string) => ({
    privilege: "update",
    on_table: '"public"."issues"',
    role: "member",
    column_name: column,
    scope: '"public"."projects"',
    using_path: null,
    check_fn: null,
  });
  const parsed = rulesFrom([row("title"), row("status")], []);
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.rules.grants, [{
    privilege: "update",
    table: { schema: "public", name: "issues" },
    role: "member",
    scope: { schema: "public", name: "projects" },
    columns: ["title", "status"],
  }]);
  const all = rulesFrom([row("title"), row("*")], []);
  assert.ok(all.ok && all.rules.grants[0].columns === undefined);
  assert.ok(governed(parsed.rules, { schema: "public", name: "issues" }));
  assert.ok(!governed(parsed.rules, { schema: "public", name: "projects" }));
});

test("assignments: a fixed role or a role column, global or scoped", () => {
  const parsed = rulesFrom([], [
    {
      table_name: '"public"."memberships"',
      scope_table: '"public"."projects"',
      user_column: "user_id",
      role_name: "member",
      role_column: "__none__",
      if_fn: null,
    },
    {
      table_name: '"public"."admins"',
      scope_table: "__none__",
      user_column: "user_id",
      role_name: "__none__",
      role_column: "role",
      if_fn: "active",
    },
  ]);
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.rules.assignments, [
    {
      table: { schema: "public", name: "memberships" },
      userColumn: "user_id",
      role: { kind: "name", name: "member" },
      scope: { schema: "public", name: "projects" },
    },
    {
      table: { schema: "public", name: "admins" },
      userColumn: "user_id",
      role: { kind: "column", column: "role" },
      condition: "active",
    },
  ]);
});

test("a row that cannot be understood is an error value, not a guess", () => {
  const bad = rulesFrom([{
    privilege: "own",
    on_table: '"public"."t"',
    role: "r",
    column_name: "*",
    scope: "__global__",
    using_path: null,
    check_fn: null,
  }], []);
  assert.equal(!bad.ok && bad.error.code, "INVALID_RULE");
});
