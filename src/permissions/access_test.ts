import assert from "node:assert/strict";
import { test } from "node:test";
import type { TableModel } from "../schema/mod.ts";
import { evaluateWhere } from "../shapes/mod.ts";
import { narrowedWhere, rowAccess, type UserRole, writeRefusal } from "./access.ts";
import { compileChecks } from "./checks.ts";
import type { PermissionRules } from "./rules.ts";
import { COMMENTS, MODEL as CHAIN_MODEL } from "./test_fixtures.ts";

const text = { name: "text", array: [], size: [] };
const table = (name: string, fkTo?: string): TableModel => ({
  schema: "public",
  name,
  oid: 0,
  columns: [
    { name: "id", type: text, notNull: true },
    { name: "project_id", type: text, notNull: false },
  ],
  primaryKey: ["id"],
  primaryKeyName: `${name}_pkey`,
  foreignKeys: fkTo
    ? [{
      name: `${name}_fk`,
      columns: ["project_id"],
      parentSchema: "public",
      parentTable: fkTo,
      parentColumns: ["id"],
      onDelete: "NO ACTION",
      onUpdate: "NO ACTION",
    }]
    : [],
  indexes: [],
});
const PROJECTS = table("projects");
const ISSUES = table("issues", "projects");
const NOTES = table("notes");
const projects = { schema: "public", name: "projects" };
const RULES: PermissionRules = {
  grants: [
    {
      privilege: "select",
      table: { schema: "public", name: "issues" },
      role: "member",
      scope: projects,
    },
    { privilege: "select", table: projects, role: "member", scope: projects },
    { privilege: "select", table: projects, role: "admin" },
    {
      privilege: "select",
      table: { schema: "public", name: "notes" },
      role: "ANYONE",
      columns: ["id"],
    },
  ],
  assignments: [],
};
const member = (id: string): UserRole => ({
  role: "member",
  scope: { table: projects, key: [id] },
});

/** Whether a row passes what `access` leaves of an unfiltered layer. */
function reads(access: ReturnType<typeof rowAccess>, row: Record<string, string | null>): boolean {
  const where = narrowedWhere(undefined, access);
  return where === undefined || evaluateWhere(where, row);
}

test("a scoped role opens the rows of its scope: the scope table by key, others by foreign key", () => {
  const roles = [member("p1"), member("p3")];
  const issues = rowAccess(RULES, roles, ISSUES, "select");
  assert.equal(issues.kind, "rows");
  assert.ok(reads(issues, { id: "i", project_id: "p1" }));
  assert.ok(reads(issues, { id: "i", project_id: "p3" }));
  assert.ok(!reads(issues, { id: "i", project_id: "p2" }));
  assert.ok(!reads(issues, { id: "i", project_id: null }));
  const own = rowAccess(RULES, roles, PROJECTS, "select");
  assert.ok(reads(own, { id: "p1", project_id: null }));
  assert.ok(!reads(own, { id: "p2", project_id: null }));
});

test("a global role opens every row; no role opens none; ungoverned tables stay open", () => {
  assert.deepEqual(rowAccess(RULES, [{ role: "admin" }], PROJECTS, "select"), { kind: "all" });
  assert.equal(rowAccess(RULES, [], ISSUES, "select").kind, "none");
  assert.ok(!reads(rowAccess(RULES, [], ISSUES, "select"), { id: "i", project_id: "p1" }));
  assert.deepEqual(rowAccess(RULES, [], table("other"), "select"), { kind: "all" });
  // A write privilege nobody granted is closed on a governed table.
  assert.equal(rowAccess(RULES, [member("p1")], ISSUES, "insert").kind, "none");
});

test("a select grant limited to columns opens nothing rather than hand over other columns", () => {
  assert.equal(rowAccess(RULES, [], NOTES, "select").kind, "none");
});

test("narrowing keeps the client's own where clause", () => {
  const own = {
    op: "compare" as const,
    type: "bool" as const,
    cmp: "=" as const,
    left: { op: "column" as const, type: "text" as const, name: "id" },
    right: { op: "const" as const, type: "text" as const, value: "i1" },
    domain: "text" as const,
  };
  const where = narrowedWhere(own, rowAccess(RULES, [member("p1")], ISSUES, "select"))!;
  assert.ok(evaluateWhere(where, { id: "i1", project_id: "p1" }));
  assert.ok(!evaluateWhere(where, { id: "i2", project_id: "p1" }));
  assert.ok(!evaluateWhere(where, { id: "i1", project_id: "p2" }));
});

test("writes: the privilege, the columns and the scope must all be covered by one grant", () => {
  const rules: PermissionRules = {
    grants: [
      { privilege: "insert", table: ISSUES, role: "member", scope: projects },
      {
        privilege: "update",
        table: ISSUES,
        role: "member",
        scope: projects,
        columns: ["project_id"],
      },
    ],
    assignments: [],
  };
  const write = (privilege: "insert" | "update" | "delete", project: string, columns: string[]) =>
    writeRefusal(rules, [member("p1")], {
      privilege,
      table: ISSUES,
      record: { id: "i", project_id: project },
      columns: new Set(columns),
    });
  assert.equal(write("insert", "p1", ["id", "project_id"]), undefined);
  assert.match(write("insert", "p2", ["id", "project_id"])!, /permission denied: insert/);
  assert.equal(write("update", "p1", ["project_id"]), undefined);
  assert.match(write("update", "p1", ["title"])!, /permission denied: update/);
  assert.match(write("delete", "p1", [])!, /permission denied: delete/);
});

test("writes: a CHECK must pass on the new row; one that did not compile allows nothing", async () => {
  const grant = {
    privilege: "insert" as const,
    table: ISSUES,
    role: "ANYONE",
    check: "this.id = auth.user_id",
  };
  const rules: PermissionRules = { grants: [grant], assignments: [] };
  const model = { version: "1", tables: [ISSUES, PROJECTS], enums: [] };
  const checks = await compileChecks(rules, model, "it's me", () => {});
  const insert = (id: string) =>
    writeRefusal(rules, [], {
      privilege: "insert",
      table: ISSUES,
      record: { id, project_id: null },
      columns: new Set(["id"]),
    }, { checks });
  assert.equal(insert("it's me"), undefined);
  assert.match(insert("someone else")!, /permission denied/);
  const warnings: string[] = [];
  const broken = await compileChecks(
    { grants: [{ ...grant, check: "this.nope = 1" }], assignments: [] },
    model,
    "u",
    (m) => warnings.push(m),
  );
  assert.equal([...broken.values()][0], null);
  assert.equal(warnings.length, 1);
});

const chainRules: PermissionRules = {
  grants: [
    {
      privilege: "select",
      table: COMMENTS,
      role: "member",
      scope: projects,
      usingPath: "issue_id/project_id",
    },
    { privilege: "update", table: COMMENTS, role: "member", scope: projects },
  ],
  assignments: [],
};

test("a path of two foreign keys opens the rows whose first parent leads to the user's scope", () => {
  const select = chainRules.grants[0];
  const resolved = new Map([[select, [["1"], ["2"]]]]);
  const access = rowAccess(chainRules, [member("p1")], COMMENTS, "select", {
    model: CHAIN_MODEL,
    resolved,
  });
  assert.ok(reads(access, { id: "c", issue_id: "1" }));
  assert.ok(reads(access, { id: "c", issue_id: "2" }));
  assert.ok(!reads(access, { id: "c", issue_id: "3" }));
  // Not resolved (or without the schema): nothing is opened.
  assert.equal(
    rowAccess(chainRules, [member("p1")], COMMENTS, "select", { model: CHAIN_MODEL }).kind,
    "none",
  );
  assert.equal(
    rowAccess(chainRules, [member("p1")], COMMENTS, "select", { resolved }).kind,
    "none",
  );
  // A long key list is one set lookup, the same rows.
  const many = Array.from({ length: 50 }, (_, i) => [String(i)]);
  const long = rowAccess(chainRules, [member("p1")], COMMENTS, "select", {
    model: CHAIN_MODEL,
    resolved: new Map([[select, many]]),
  });
  assert.ok(long.kind === "rows" && long.where.op === "in");
  assert.ok(reads(long, { id: "c", issue_id: "49" }));
  assert.ok(reads(long, { id: "c", issue_id: "+7" })); // compared as int4
  assert.ok(!reads(long, { id: "c", issue_id: "50" }));
  assert.ok(!reads(long, { id: "c", issue_id: null }));
});

test("writes over a chain use the resolved keys on the new row and on the row Postgres holds", () => {
  const update = chainRules.grants[1];
  const context = { model: CHAIN_MODEL, resolved: new Map([[update, [["1"]]]]) };
  const write = (record: string, current?: string | null) =>
    writeRefusal(chainRules, [member("p1")], {
      privilege: "update",
      table: COMMENTS,
      record: { id: "c", issue_id: record },
      columns: new Set(["issue_id"]),
      ...(current === undefined
        ? {}
        : { current: current === null ? null : { issue_id: current } }),
    }, context);
  assert.equal(write("1"), undefined);
  assert.match(write("2")!, /permission denied: update on public\.comments/);
  assert.equal(write("1", "1"), undefined);
  // The row Postgres holds is in another project's issue: what the client says of it is moot.
  assert.match(write("1", "2")!, /permission denied/);
  assert.equal(write("1", null), undefined); // no such row yet
});

test("an update or delete is checked on the row Postgres holds, not the old row sent", () => {
  const rules: PermissionRules = {
    grants: ["update", "delete", "insert"].map((privilege) => ({
      privilege: privilege as "update" | "delete" | "insert",
      table: ISSUES,
      role: "member",
      scope: projects,
    })),
    assignments: [],
  };
  const check = (
    privilege: "insert" | "update" | "delete",
    sent: string,
    current?: string | null,
  ) =>
    writeRefusal(rules, [member("p1")], {
      privilege,
      table: ISSUES,
      record: { id: "i", project_id: sent },
      columns: new Set(privilege === "delete" ? [] : ["project_id"]),
      ...(current === undefined
        ? {}
        : { current: current === null ? null : { id: "i", project_id: current } }),
    });
  assert.equal(check("delete", "p1", "p1"), undefined);
  assert.match(check("delete", "p1", "p2")!, /permission denied: delete/);
  assert.equal(check("delete", "p1", null), undefined); // nothing to delete: the row sent
  assert.match(check("delete", "p2", null)!, /permission denied/);
  assert.match(check("update", "p1", "p2")!, /permission denied: update/);
  // An insert merging into an existing row of another project is an overwrite of it.
  assert.match(check("insert", "p1", "p2")!, /permission denied: insert/);
  assert.equal(check("insert", "p1", null), undefined);
});
