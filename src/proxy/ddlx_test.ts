import { test } from "node:test";
import assert from "node:assert/strict";
import { ddlxStatements, ddlxTag, parseDdlx } from "./ddlx.ts";

function command(text: string) {
  const parsed = parseDdlx(text);
  assert.ok(parsed.ok, parsed.ok ? "" : parsed.detail);
  return parsed.command;
}

test("ENABLE in both spellings, names resolved to public and lower-cased unless quoted", () => {
  assert.deepEqual(command("ALTER TABLE Items ENABLE ELECTRIC;"), {
    kind: "enable",
    table: { schema: "public", name: "items" },
  });
  assert.deepEqual(command('electric enable app."Things"'), {
    kind: "enable",
    table: { schema: "app", name: "Things" },
  });
  assert.deepEqual(ddlxStatements(command("ALTER TABLE items ENABLE ELECTRIC")), [
    `CALL electric.enable('"public"."items"');\n`,
  ]);
  assert.equal(ddlxTag(command("ALTER TABLE t DISABLE ELECTRIC")), "ELECTRIC DISABLE");
});

test("GRANT expands privileges into one call each", () => {
  const grant = command("ELECTRIC GRANT ALL ON items TO 'member'");
  const calls = ddlxStatements(grant);
  assert.equal(calls.length, 4);
  assert.equal(
    calls[0],
    `CALL electric.grant(privilege_name => 'select', on_table_name => '"public"."items"', role_name => 'member', columns => ARRAY['*'], scope_name => '__global__', using_path => null, check_fn => null);\n`,
  );
  const scoped = command(
    "ELECTRIC GRANT UPDATE (a, b) ON items TO (projects, 'owner') USING project_id CHECK (a > 1 AND (b < 2))",
  );
  assert.ok(scoped.kind === "grant");
  assert.deepEqual(scoped.columns, ["a", "b"]);
  assert.equal(scoped.check, "a > 1 AND (b < 2)");
  assert.match(ddlxStatements(scoped)[0], /scope_name => '"public"."projects"'/);
});

test("REVOKE, ASSIGN, UNASSIGN and SQLITE", () => {
  assert.match(
    ddlxStatements(command("ELECTRIC REVOKE READ ON items FROM 'member'"))[0],
    /^CALL electric\.revoke\('select'/,
  );
  const assign = command("ELECTRIC ASSIGN (projects, members.role) TO members.user_id IF (active)");
  assert.ok(assign.kind === "assign");
  assert.match(ddlxStatements(assign)[0], /role_column_name => 'role', if_fn => 'active'/);
  assert.equal(ddlxStatements(command("ELECTRIC UNASSIGN 'admin' FROM users.id")).length, 1);
  assert.deepEqual(ddlxStatements(command("ELECTRIC SQLITE $$CREATE TABLE x (a)$$")), [
    "CALL electric.sqlite(sql => 'CREATE TABLE x (a)');\n",
  ]);
});

test("syntax errors name the token the parser stopped before", () => {
  assert.deepEqual(parseDdlx("ELECTRIC GRANT JUNK ON t TO 'x'"), {
    ok: false,
    detail: 'syntax error before: <<"JUNK">>',
  });
  assert.deepEqual(parseDdlx("ALTER TABLE t ENABLE"), {
    ok: false,
    detail: "syntax error before: ",
  });
  assert.deepEqual(parseDdlx("ELECTRIC GRANT SELECT ON t TO 'x' ("), {
    ok: false,
    detail: "syntax error before: '('",
  });
});

test("ANYONE and AUTHENTICATED are built-in roles for GRANT and REVOKE", () => {
  assert.match(
    ddlxStatements(command("ELECTRIC GRANT SELECT ON projects TO ANYONE"))[0],
    /role_name => 'ANYONE', columns => ARRAY\['\*'\], scope_name => '__global__'/,
  );
  assert.match(
    ddlxStatements(command("electric grant read on projects to authenticated;"))[0],
    /role_name => 'AUTHENTICATED'/,
  );
  assert.match(
    ddlxStatements(command("ELECTRIC REVOKE SELECT ON projects FROM Anyone"))[0],
    /^CALL electric\.revoke\('select', '"public"\."projects"', 'ANYONE', ARRAY\['\*'\], '__global__'\);/,
  );
  // As a table name, ANYONE is still a table.
  const assign = command("ELECTRIC ASSIGN anyone.role TO anyone.user_id");
  assert.ok(assign.kind === "assign" && assign.role.kind === "column");
});

test("role strings: scope parsed like a table name, both parts required", () => {
  const scoped = command("ELECTRIC GRANT SELECT ON items TO 'app.Projects:admin'");
  assert.ok(scoped.kind === "grant");
  assert.deepEqual(scoped.role, {
    kind: "name",
    name: "admin",
    scope: { schema: "app", name: "projects" },
  });
  assert.match(
    ddlxStatements(command("ELECTRIC ASSIGN 'projects:member' TO members.user_id"))[0],
    /scope => '"public"\."projects"', user_column_name => 'user_id', role_name_string => 'member'/,
  );
});

test("statements that parse but cannot be built are syntax errors naming the problem", () => {
  const cases: [string, RegExp][] = [
    ["ELECTRIC GRANT SELECT ON t TO ':'", /^invalid role ":": expected 'name' or 'scope:name'/],
    ["ELECTRIC GRANT SELECT ON t TO 'p:'", /^invalid role "p:"/],
    ["ELECTRIC GRANT SELECT ON t TO ':admin'", /^invalid role ":admin"/],
    ["ELECTRIC GRANT SELECT ON t TO 'a:b:c'", /^invalid role "a:b:c"/],
    ["ELECTRIC GRANT SELECT ON t TO 'a b:c'", /^invalid role "a b:c"/],
    ["ELECTRIC GRANT SELECT ON t TO ''", /^invalid role "": a role name cannot be empty/],
    ["ELECTRIC GRANT SELECT ON t TO (p, '')", /^invalid role "": a role name cannot be empty/],
    ["ELECTRIC GRANT SELECT ON t TO (p, 'a:b')", /^invalid role "a:b"/],
    ["ELECTRIC GRANT SELECT ON t TO member", /^role must be a quoted string, e\.g\. 'member'/],
    ["ELECTRIC REVOKE SELECT ON t FROM member", /^role must be a quoted string/],
    ["ELECTRIC ASSIGN ':' TO users.id", /^invalid role ":"/],
    ["ELECTRIC ASSIGN ANYONE TO users.id", /^role ANYONE is built in and cannot be assigned/],
    ["ELECTRIC UNASSIGN authenticated FROM users.id", /^role AUTHENTICATED is built in/],
    [
      "ELECTRIC ASSIGN (projects, other.role) TO members.user_id",
      /^role column other\.role is not a column of members/,
    ],
  ];
  for (const [text, detail] of cases) {
    const parsed = parseDdlx(text);
    assert.ok(!parsed.ok, text);
    assert.match(parsed.detail, detail, text);
  }
});
