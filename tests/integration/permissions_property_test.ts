/**
 * The service's read filter against SQL, on random data in a real Postgres: for each user, the
 * issues `rowAccess` lets through (roles read with `rolesQuery`, the filter evaluated in
 * process as the live stream does) are exactly the issues an SQL query of the same rules
 * returns — membership in the issue's project, or a global `admin` role from a role column.
 * PERM_SEED picks other data.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import postgres from "postgres";
import {
  narrowedWhere,
  type PermissionRules,
  rolesQuery,
  rowAccess,
  type UserRole,
} from "../../src/permissions/mod.ts";
import type { SchemaModel, TableModel } from "../../src/schema/mod.ts";
import { evaluateWhere } from "../../src/shapes/mod.ts";
import { random } from "../helpers/fuzz.ts";
import { freshDatabase } from "../helpers/pg_cluster.ts";

const SEED = Number(process.env.PERM_SEED ?? 20261205);

let db: Awaited<ReturnType<typeof freshDatabase>>;
let sql: postgres.Sql;

before(async () => {
  db = await freshDatabase();
  sql = postgres(db.url, { onnotice: () => {}, max: 2 });
  await sql.unsafe(`
    CREATE TABLE projects (id text PRIMARY KEY);
    CREATE TABLE memberships (id text PRIMARY KEY, project_id text REFERENCES projects (id),
      user_id text, kind text);
    CREATE TABLE staff (id text PRIMARY KEY, user_id text, role text);
    CREATE TABLE issues (id text PRIMARY KEY, project_id text REFERENCES projects (id));`);
});

after(async () => {
  await sql.end();
  await db.drop();
});

const text = { name: "text", array: [], size: [] };
const column = (name: string) => ({ name, type: text, notNull: false });
const fk = (name: string) => ({
  name,
  columns: ["project_id"],
  parentSchema: "public",
  parentTable: "projects",
  parentColumns: ["id"],
  onDelete: "NO ACTION" as const,
  onUpdate: "NO ACTION" as const,
});
const table = (name: string, columns: string[], fks = [] as ReturnType<typeof fk>[]) =>
  ({
    schema: "public",
    name,
    oid: 0,
    columns: columns.map(column),
    primaryKey: ["id"],
    primaryKeyName: `${name}_pkey`,
    foreignKeys: fks,
    indexes: [],
  }) as TableModel;
const ISSUES = table("issues", ["id", "project_id"], [fk("issues_project_fk")]);
const MODEL: SchemaModel = {
  version: "1",
  enums: [],
  tables: [
    table("projects", ["id"]),
    table("memberships", ["id", "project_id", "user_id", "kind"], [fk("m_project_fk")]),
    table("staff", ["id", "user_id", "role"]),
    ISSUES,
  ],
};
const projects = { schema: "public", name: "projects" };
const RULES: PermissionRules = {
  grants: [
    {
      privilege: "select",
      table: { schema: "public", name: "issues" },
      role: "member",
      scope: projects,
    },
    { privilege: "select", table: { schema: "public", name: "issues" }, role: "admin" },
  ],
  assignments: [
    {
      table: { schema: "public", name: "memberships" },
      userColumn: "user_id",
      role: { kind: "name", name: "member" },
      scope: projects,
      condition: "kind = 'active'",
    },
    {
      table: { schema: "public", name: "staff" },
      userColumn: "user_id",
      role: { kind: "column", column: "role" },
    },
  ],
};

async function rolesOf(user: string): Promise<UserRole[]> {
  const roles: UserRole[] = [];
  for (const assignment of RULES.assignments) {
    const query = rolesQuery(assignment, MODEL)!;
    for (const row of await sql.unsafe(query.text, [user])) {
      roles.push(
        query.scopeColumns
          ? { role: row.role, scope: { table: assignment.scope!, key: [row.scope_0] } }
          : { role: row.role },
      );
    }
  }
  return roles;
}

for (let round = 0; round < 5; round++) {
  test(`round ${round}: the read filter lets through exactly what SQL of the same rules returns`, async () => {
    const next = random(SEED + round);
    const pick = <T>(items: T[]) => items[Math.floor(next() * items.length)];
    const projectIds = Array.from({ length: 8 }, (_, i) => `p${i}`);
    const users = Array.from({ length: 12 }, (_, i) => `u${i}`);
    await sql.unsafe(`TRUNCATE issues, memberships, staff, projects`);
    await sql`INSERT INTO projects ${sql(projectIds.map((id) => ({ id })))}`;
    await sql`INSERT INTO memberships ${
      sql(Array.from({ length: 30 }, (_, i) => ({
        id: `m${i}`,
        project_id: pick(projectIds),
        user_id: pick(users),
        kind: pick(["active", "active", "invited"]),
      })))
    }`;
    await sql`INSERT INTO staff ${
      sql(Array.from({ length: 3 }, (_, i) => ({
        id: `s${i}`,
        user_id: pick(users),
        role: pick(["admin", "support"]),
      })))
    }`;
    const issues = Array.from({ length: 200 }, (_, i) => ({
      id: `i${i}`,
      project_id: next() < 0.05 ? null : pick(projectIds),
    }));
    await sql`INSERT INTO issues ${sql(issues)}`;
    for (const user of users) {
      const access = rowAccess(RULES, await rolesOf(user), ISSUES, "select");
      const where = narrowedWhere(undefined, access);
      const filtered = issues.filter((row) => where === undefined || evaluateWhere(where, row))
        .map((row) => row.id).sort();
      const expected = (await sql<{ id: string }[]>`
        SELECT i.id FROM issues i
         WHERE EXISTS (SELECT 1 FROM staff s WHERE s.user_id = ${user} AND s.role = 'admin')
            OR EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = ${user}
                         AND m.kind = 'active' AND m.project_id = i.project_id)`)
        .map((r) => r.id).sort();
      assert.deepEqual(filtered, expected, `user ${user}`);
    }
  });
}
