import assert from "node:assert/strict";
import { test } from "node:test";
import type { RowWrite, UserRole } from "./access.ts";
import { currentRowsQuery, type CurrentRowsReader, transactionRefusal } from "./current_rows.ts";
import type { PermissionRules } from "./rules.ts";
import { ISSUES, PROJECTS } from "./test_fixtures.ts";

const projects = { schema: "public", name: "projects" };
const RULES: PermissionRules = {
  grants: (["insert", "update", "delete"] as const).map((privilege) => ({
    privilege,
    table: ISSUES,
    role: "member",
    scope: projects,
  })),
  assignments: [],
};
const user = {
  rules: RULES,
  roles: [{ role: "member", scope: { table: projects, key: ["p1"] } }] as UserRole[],
  context: {},
};

/** Postgres holds issue 1 in p1 and issue 2 in p2. */
function reader(): { read: CurrentRowsReader; reads: string[][] } {
  const held: Record<string, string> = { "1": "p1", "2": "p2" };
  const reads: string[][] = [];
  return {
    reads,
    read: (table, columns, records) => {
      reads.push([table.name, ...columns]);
      return Promise.resolve(
        records.map((r) => held[r.id!] ? { id: r.id, project_id: held[r.id!] } : null),
      );
    },
  };
}

const write = (privilege: RowWrite["privilege"], id: string, project: string): RowWrite => ({
  privilege,
  table: ISSUES,
  record: { id, project_id: project },
  columns: new Set(privilege === "delete" ? [] : ["project_id"]),
});

test("a transaction is checked against the rows Postgres holds, read once per table", async () => {
  const db = reader();
  const allowed = await transactionRefusal(
    user,
    [write("update", "1", "p1"), write("insert", "3", "p1"), write("delete", "1", "p1")],
    db.read,
  );
  assert.equal(allowed, undefined);
  assert.deepEqual(db.reads, [["issues", "project_id"]]);
  // Issue 2 is in p2: an old row claiming p1 does not make it the user's to change.
  const forged = await transactionRefusal(user, [write("update", "2", "p1")], db.read);
  assert.match(forged!, /permission denied: update on public\.issues/);
  assert.match(
    (await transactionRefusal(user, [write("delete", "2", "p1")], db.read))!,
    /permission denied: delete/,
  );
});

test("what the client sent is checked first: a refused transaction reads nothing", async () => {
  const db = reader();
  const refused = await transactionRefusal(user, [write("insert", "3", "p2")], db.read);
  assert.match(refused!, /permission denied: insert/);
  assert.deepEqual(db.reads, []);
  // Ungoverned tables and global grants need no read either.
  const open = await transactionRefusal(
    user,
    [{ ...write("update", "1", "x"), table: PROJECTS }],
    db.read,
  );
  assert.equal(open, undefined);
  assert.deepEqual(db.reads, []);
});

test("the current rows are read by key cast to the key's type, with the position asked for", () => {
  assert.equal(
    currentRowsQuery(ISSUES, ["project_id"]),
    'SELECT k.i, t."project_id"::text AS "project_id" FROM unnest($1::text[]) WITH ORDINALITY ' +
      'AS k(k0, i) JOIN "public"."issues" t ON t."id" = CAST(k.k0 AS int4)',
  );
});
