/**
 * The database side of the permissions benchmark: projects, memberships and issues (each issue
 * in one project, each user a member of one project), all electrified in one migration; the
 * read rule of issue 17 written the way ELECTRIC GRANT / ASSIGN store it; and a probe that
 * waits until the service enforces what the variant expects.
 *
 * Row i of issues (1..rows) belongs to project `p<i mod projects>` and has n = i, so a client
 * can tell from n alone whether a row it received is its project's. User u is `user-<u>`,
 * member of project `p<u mod projects>`.
 */
import type postgres from "postgres";
import type { BenchService } from "../sync/env.ts";
import { LightClient } from "../sync/light_client.ts";
import { waitFor } from "../../../tests/helpers/wait.ts";

export interface Layout {
  projects: number;
  usersPerProject: number;
  rows: number;
}

export const users = (layout: Layout) => layout.projects * layout.usersPerProject;
export const projectOfUser = (layout: Layout, user: number) => user % layout.projects;
export const projectId = (project: number) => `p${project}`;
export const userId = (user: number) => `user-${user}`;

const TABLES = ["projects", "memberships", "issues"];

export async function createTables(sql: postgres.Sql, layout: Layout): Promise<void> {
  await sql.unsafe(`
    CREATE TABLE projects (id text PRIMARY KEY, name text);
    CREATE TABLE memberships (id text PRIMARY KEY,
      project_id text NOT NULL REFERENCES projects (id), user_id text NOT NULL);
    CREATE TABLE issues (id uuid PRIMARY KEY,
      project_id text NOT NULL REFERENCES projects (id), n int, title text);
    CREATE INDEX ON issues (project_id);
    CREATE INDEX ON memberships (user_id);`);
  await sql`
    INSERT INTO projects (id, name)
    SELECT 'p' || p, 'project ' || p FROM generate_series(0, ${layout.projects - 1}::int) AS p`;
  await sql`
    INSERT INTO memberships (id, project_id, user_id)
    SELECT 'm' || u, 'p' || (u % ${layout.projects}::int), 'user-' || u
      FROM generate_series(0, ${users(layout) - 1}::int) AS u`;
  await sql`
    INSERT INTO issues (id, project_id, n, title)
    SELECT gen_random_uuid(), 'p' || (i % ${layout.projects}::int), i, 'issue ' || i
      FROM generate_series(1, ${layout.rows}::int) AS i`;
  await sql`VACUUM ANALYZE`;
}

/** Count and sum of n of each project's issues, by project index. */
export async function projectTotals(
  sql: postgres.Sql,
  layout: Layout,
): Promise<{ rows: number; sum: number }[]> {
  const found = await sql<{ project_id: string; rows: string; sum: string }[]>`
    SELECT project_id, count(*) AS rows, sum(n) AS sum FROM issues GROUP BY project_id`;
  return Array.from({ length: layout.projects }, (_, p) => {
    const row = found.find((f) => f.project_id === projectId(p));
    return { rows: Number(row?.rows ?? 0), sum: Number(row?.sum ?? 0) };
  });
}

/** The relation id the service gives issues in SatRelation and row ops (its table oid). */
export async function issuesRelationId(sql: postgres.Sql): Promise<number> {
  const [{ oid }] = await sql<{ oid: number }[]>`SELECT 'public.issues'::regclass::oid AS oid`;
  return Number(oid);
}

/** Electrifies the three tables in one migration and waits until the service serves it. */
export async function electrifyAll(sql: postgres.Sql, service: BenchService): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`CALL electric.migration_version('20240601120000')`;
    for (const table of TABLES) await tx`CALL electric.electrify(${table})`;
  });
  await waitFor(async () => {
    const res = await fetch(`http://127.0.0.1:${service.port}/api/migrations?dialect=sqlite`);
    await res.body?.cancel();
    return res.status === 200;
  }, { timeoutMs: 30_000, what: "the migration of projects, memberships and issues" });
}

/**
 * Issue 17's read rule: members of a project read its issues (`ELECTRIC GRANT SELECT ON issues
 * TO (projects, 'member')`; `ELECTRIC ASSIGN (projects, 'member') TO memberships.user_id`).
 */
export async function grantMembersRead(sql: postgres.Sql): Promise<void> {
  await sql.unsafe(`
    INSERT INTO electric.grants (privilege, on_table, role, column_name, scope)
      VALUES ('select', '"public"."issues"', 'member', '*', '"public"."projects"');
    INSERT INTO electric.assignments (table_name, scope_table, user_column, role_name)
      VALUES ('"public"."memberships"', '"public"."projects"', 'user_id', 'member');`);
}

/**
 * Waits until a user who is a member of no project gets no issue: with permissions, once the
 * service enforces the rule (before, issues is readable by everyone); without, through a where
 * clause naming no project, so both variants pay the same for the probe.
 */
export async function probeAccess(service: BenchService, permissions: boolean): Promise<void> {
  await waitFor(async () => {
    const client = await LightClient.connect({ host: "127.0.0.1", port: service.port });
    try {
      await client.authenticate("nobody");
      await client.startReplication();
      const { rows } = await client.subscribe({
        tablename: "issues",
        where: permissions ? undefined : "this.project_id = 'none'",
      });
      return rows === 0;
    } finally {
      client.close();
    }
  }, { timeoutMs: 30_000, intervalMs: 200, what: "the service to enforce the read rule" });
}
