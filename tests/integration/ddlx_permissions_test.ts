/**
 * The DDLX permission procedures on a real Postgres, called directly: `electric.grant`,
 * `revoke`, `assign`, `unassign` store normalised rules, are idempotent, and refuse bad input
 * with a SQLSTATE and a message naming the value; the rule tables' safeguards.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import postgres from "postgres";
import {
  bootstrapElectricSchema,
  ensurePublication,
  INSTALL_STEPS,
} from "../../src/storage/mod.ts";
import { freshDatabase } from "../helpers/pg_cluster.ts";

type Db = Awaited<ReturnType<typeof freshDatabase>>;
/** The install step that publishes the rule tables whole (20261205000001). */
const PERMISSIONS_STEP = 20261205000001n;
let db: Db;
let sql: postgres.Sql;
const notices: string[] = [];

before(async () => {
  db = await freshDatabase();
  sql = postgres(db.url, { onnotice: (n) => notices.push(n.message), max: 2 });
  await bootstrapElectricSchema(sql);
  await ensurePublication(sql);
  await sql.unsafe(`
    CREATE TABLE projects (id uuid PRIMARY KEY, name text);
    CREATE TABLE members (
      id uuid PRIMARY KEY, project_id uuid REFERENCES projects (id), user_id text, role text);
    CREATE TABLE items (id uuid PRIMARY KEY, project_id uuid REFERENCES projects (id), v text);
    CREATE TABLE loose (id uuid PRIMARY KEY, user_id text);
    CREATE TABLE twice (id uuid PRIMARY KEY, a uuid REFERENCES projects (id),
                        b uuid REFERENCES projects (id), user_id text);
    CREATE TABLE pairs (a int4, b int4, user_id text, PRIMARY KEY (a, b));
    CREATE TABLE plain (id int4 PRIMARY KEY, user_id text);
    CALL electric.electrify('projects');
    CALL electric.electrify('members');
    CALL electric.electrify('items');
    CALL electric.electrify('loose');
    CALL electric.electrify('twice');
    CALL electric.electrify('pairs');`);
});

after(async () => {
  await sql.end();
  await db.drop();
});

async function errorOf(query: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await query;
  } catch (error) {
    const e = error as { code: string; message: string };
    return { code: e.code, message: e.message };
  }
  assert.fail("expected the statement to fail");
}

async function grants(table = '"public"."items"') {
  const rows = await sql`
    SELECT privilege, role, column_name, scope, using_path, check_fn FROM electric.grants
     WHERE on_table = ${table} ORDER BY privilege, role, scope, column_name`;
  return rows.map((r) => ({ ...r }));
}

async function assignments() {
  const rows = await sql`
    SELECT table_name, scope_table, user_column, role_name, role_column, if_fn
      FROM electric.assignments ORDER BY table_name, scope_table, role_name, role_column`;
  return rows.map((r) => ({ ...r }));
}

const row = (
  privilege: string,
  role: string,
  column_name = "*",
  scope = "__global__",
  using_path: string | null = null,
  check_fn: string | null = null,
) => ({ privilege, role, column_name, scope, using_path, check_fn });

describe("electric.grant", () => {
  test("stores one row per column, names normalised, built-ins and scopes", async () => {
    await sql`CALL electric.grant('SELECT', 'items', 'ANYONE')`;
    await sql`CALL electric.grant(privilege_name => 'update', on_table_name => '"public"."items"',
                role_name => 'editor', columns => ARRAY['v', 'project_id', 'v'],
                scope_name => '__global__', using_path => null, check_fn => 'v <> ''''')`;
    await sql`CALL electric.grant('insert', 'public.items', 'projects:member', NULL, NULL)`;
    await sql`CALL electric.grant('delete', 'items', 'owner', ARRAY['*'], 'Projects', 'project_id')`;
    assert.deepEqual(await grants(), [
      row("delete", "owner", "*", '"public"."projects"', "project_id"),
      row("insert", "member", "*", '"public"."projects"'),
      row("select", "ANYONE"),
      row("update", "editor", "project_id", "__global__", null, "v <> ''"),
      row("update", "editor", "v", "__global__", null, "v <> ''"),
    ]);
  });

  test("is idempotent, and a grant's latest USING and CHECK apply to all its columns", async () => {
    const before = await sql`SELECT xmin::text, column_name FROM electric.grants ORDER BY 2, 1`;
    await sql`CALL electric.grant('select', 'items', 'ANYONE')`;
    await sql`CALL electric.grant('update', 'items', 'editor', ARRAY['v'], '__global__', NULL,
                'v <> ''''')`;
    const after = await sql`SELECT xmin::text, column_name FROM electric.grants ORDER BY 2, 1`;
    assert.deepEqual(after.map((r) => ({ ...r })), before.map((r) => ({ ...r })), "untouched");
    await sql`CALL electric.grant('update', 'items', 'editor', ARRAY['v'], '__global__', NULL,
                'v IS NOT NULL')`;
    const editor = (await grants()).filter((g) => g.role === "editor");
    assert.deepEqual(editor.map((g) => [g.column_name, g.check_fn]), [
      ["project_id", "v IS NOT NULL"],
      ["v", "v IS NOT NULL"],
    ]);
  });

  const refusals: [string, string, string, string, RegExp][] = [
    ["a bad privilege", "frob", "items", "22023", /^Invalid privilege "frob": expected select/],
    ["a missing table", "select", "nope", "42P01", /^Table "public"\."nope" does not exist$/],
    [
      "a table that is not electrified",
      "select",
      "plain",
      "55000",
      /^Table "public"\."plain" is not electrified$/,
    ],
    [
      "a malformed table name",
      "select",
      "a.b.c",
      "22023",
      /^Invalid table name "a\.b\.c": expected/,
    ],
    ["an empty table name", "select", "", "22023", /^No table given$/],
  ];
  for (const [what, privilege, table, code, message] of refusals) {
    test(`refuses ${what}`, async () => {
      const e = await errorOf(sql`CALL electric.grant(${privilege}, ${table}, 'member')`);
      assert.equal(e.code, code);
      assert.match(e.message, message);
    });
  }

  test("refuses bad columns, roles and scopes, each with its code", async () => {
    const cases: [string, string, RegExp][] = [
      [
        "CALL electric.grant('select', 'items', 'm', ARRAY['v', 'zzz'])",
        "42703",
        /^Column "zzz" does not exist in table "public"\."items"$/,
      ],
      [
        "CALL electric.grant('select', 'items', 'm', ARRAY[]::text[])",
        "22023",
        /^No columns given/,
      ],
      [
        "CALL electric.grant('select', 'items', 'm', ARRAY['*', 'v'])",
        "22023",
        /cannot be combined with column names/,
      ],
      [
        "CALL electric.grant('select', 'items', 'm', ARRAY['v', NULL])",
        "22023",
        /column names cannot be empty/,
      ],
      [
        "CALL electric.grant('select', 'items', 'm', ARRAY['*'], 'plain')",
        "55000",
        /^Scope table "public"\."plain" is not electrified$/,
      ],
      [
        "CALL electric.grant('select', 'items', 'm', ARRAY['*'], 'nope')",
        "42P01",
        /^Scope table "public"\."nope" does not exist$/,
      ],
      ["CALL electric.grant('select', 'items', '')", "22023", /^Invalid role "": /],
      ["CALL electric.grant('select', 'items', NULL)", "22023", /^No role given$/],
      [
        "CALL electric.grant('select', 'items', ':')",
        "22023",
        /^Invalid role ":": expected name or scope:name, both parts non-empty$/,
      ],
      ["CALL electric.grant('select', 'items', 'projects:')", "22023", /^Invalid role "projects:"/],
      ["CALL electric.grant('select', 'items', ':admin')", "22023", /^Invalid role ":admin"/],
      ["CALL electric.grant('select', 'items', 'a:b:c')", "22023", /^Invalid role "a:b:c"/],
      [
        "CALL electric.grant('select', 'items', 'projects:admin', ARRAY['*'], 'members')",
        "22023",
        /^Role "projects:admin" is scoped to "public"\."projects" but the scope given is "public"\."members"$/,
      ],
      [
        "CALL electric.grant('select', 'items', 'ANYONE', ARRAY['*'], 'projects')",
        "22023",
        /^Built-in role "ANYONE" cannot be scoped/,
      ],
      [
        "CALL electric.grant('select', 'items', '__global__')",
        "22023",
        /^Invalid role "__global__": the name is reserved$/,
      ],
    ];
    const before = await grants();
    for (const [statement, code, message] of cases) {
      const e = await errorOf(sql.unsafe(statement));
      assert.equal(e.code, code, statement);
      assert.match(e.message, message, statement);
    }
    assert.deepEqual(await grants(), before, "nothing stored");
  });
});

describe("electric.revoke", () => {
  test("positional: '*' removes every column, names remove those columns", async () => {
    await sql`CALL electric.revoke('update', '"public"."items"', 'editor', ARRAY['v'], '__global__')`;
    assert.deepEqual(
      (await grants()).filter((g) => g.role === "editor").map((g) => g.column_name),
      ["project_id"],
    );
    await sql`CALL electric.revoke('update', 'items', 'editor', ARRAY['*'], '__global__')`;
    await sql`CALL electric.revoke('insert', 'items', 'member', ARRAY['*'], '"public"."projects"')`;
    await sql`CALL electric.revoke('delete', 'items', 'projects:owner')`;
    assert.deepEqual(await grants(), [row("select", "ANYONE")]);
  });

  test("revoking what was not granted is a notice, not an error; bad input still is", async () => {
    notices.length = 0;
    await sql`CALL electric.revoke('select', 'items', 'nobody', ARRAY['*'], '__global__')`;
    assert.ok(notices.some((n) => n.startsWith('Nothing to revoke: select on "public"."items"')));
    assert.deepEqual(await grants(), [row("select", "ANYONE")]);
    const e = await errorOf(
      sql`CALL electric.revoke('frob', 'items', 'x', ARRAY['*'], '__global__')`,
    );
    assert.equal(e.code, "22023");
  });
});

describe("electric.assign", () => {
  test("global role name, scoped role column, scoped role string", async () => {
    await sql`CALL electric.assign('members', NULL, 'user_id', 'admin', NULL, NULL)`;
    await sql`CALL electric.assign(assign_table_full_name => '"public"."members"',
                scope => '"public"."projects"', user_column_name => 'user_id',
                role_name_string => null, role_column_name => 'role', if_fn => 'active')`;
    await sql`CALL electric.assign('members', NULL, 'user_id', 'projects:viewer')`;
    assert.deepEqual(await assignments(), [
      {
        table_name: '"public"."members"',
        scope_table: '"public"."projects"',
        user_column: "user_id",
        role_name: "__none__",
        role_column: "role",
        if_fn: "active",
      },
      {
        table_name: '"public"."members"',
        scope_table: '"public"."projects"',
        user_column: "user_id",
        role_name: "viewer",
        role_column: "__none__",
        if_fn: null,
      },
      {
        table_name: '"public"."members"',
        scope_table: "__none__",
        user_column: "user_id",
        role_name: "admin",
        role_column: "__none__",
        if_fn: null,
      },
    ]);
  });

  test("is idempotent; assigning again updates the IF condition", async () => {
    await sql`CALL electric.assign('members', NULL, 'user_id', 'admin', NULL, NULL)`;
    await sql`CALL electric.assign('members', 'projects', 'user_id', NULL, 'role', 'active')`;
    assert.equal((await assignments()).length, 3);
    await sql`CALL electric.assign('members', 'projects', 'user_id', NULL, 'role', 'NOT active')`;
    const [scoped] = await assignments();
    assert.equal(scoped.if_fn, "NOT active");
    assert.equal((await assignments()).length, 3);
  });

  test("the scope column is found from the catalog", async () => {
    const [found] = await sql`
      SELECT electric.assignment_scope_column('members', 'projects') AS fk,
             electric.assignment_scope_column('"public"."projects"', 'projects') AS self`;
    assert.deepEqual({ ...found }, { fk: "project_id", self: "id" });
    await sql`CALL electric.assign('projects', 'projects', 'name', 'owner')`;
    await sql`CALL electric.unassign('projects', 'projects', 'name', 'owner')`;
  });

  test("refuses bad tables, columns, roles and scopes, each with its code", async () => {
    const cases: [string, string, RegExp][] = [
      [
        "CALL electric.assign('plain', NULL, 'user_id', 'admin')",
        "55000",
        /^Table "public"\."plain" is not electrified$/,
      ],
      [
        "CALL electric.assign('nope', NULL, 'user_id', 'admin')",
        "42P01",
        /^Table "public"\."nope" does not exist$/,
      ],
      [
        "CALL electric.assign('members', NULL, 'uid', 'admin')",
        "42703",
        /^User column "uid" does not exist in table "public"\."members"$/,
      ],
      ["CALL electric.assign('members', NULL, NULL, 'admin')", "22023", /^No user column given$/],
      [
        "CALL electric.assign('members', NULL, 'user_id', NULL, 'rol')",
        "42703",
        /^Role column "rol" does not exist in table "public"\."members"$/,
      ],
      [
        "CALL electric.assign('members', NULL, 'user_id', NULL, NULL)",
        "22023",
        /^No role given: pass role_name_string or role_column_name$/,
      ],
      [
        "CALL electric.assign('members', NULL, 'user_id', 'admin', 'role')",
        "22023",
        /^Both a role name \("admin"\) and a role column \("role"\) given: pass one$/,
      ],
      ["CALL electric.assign('members', NULL, 'user_id', ':')", "22023", /^Invalid role ":"/],
      [
        "CALL electric.assign('members', NULL, 'user_id', 'ANYONE')",
        "22023",
        /^Built-in role "ANYONE" cannot be assigned/,
      ],
      [
        "CALL electric.assign('members', 'plain', 'user_id', NULL, 'role')",
        "55000",
        /^Scope table "public"\."plain" is not electrified$/,
      ],
      [
        "CALL electric.assign('loose', 'projects', 'user_id', 'member')",
        "42830",
        /^Table "public"\."loose" has no foreign key to scope table "public"\."projects": add a column referencing its primary key$/,
      ],
      [
        "CALL electric.assign('twice', 'projects', 'user_id', 'member')",
        "42830",
        /^Table "public"\."twice" has several foreign keys to scope table "public"\."projects" \(columns a, b\)/,
      ],
      [
        "CALL electric.assign('members', 'pairs', 'user_id', 'member')",
        "0A000",
        /^Scope table "public"\."pairs" needs a single-column primary key/,
      ],
      [
        "CALL electric.assign('members', 'members', 'user_id', 'projects:admin')",
        "22023",
        /^Role "projects:admin" is scoped to "public"\."projects" but the scope given is "public"\."members"$/,
      ],
    ];
    const before = await assignments();
    for (const [statement, code, message] of cases) {
      const e = await errorOf(sql.unsafe(statement));
      assert.equal(e.code, code, statement);
      assert.match(e.message, message, statement);
    }
    assert.deepEqual(await assignments(), before, "nothing stored");
  });
});

describe("electric.unassign", () => {
  test("deletes the matching assignment; a missing one is a notice", async () => {
    await sql`CALL electric.unassign('members', 'projects', 'user_id', NULL, 'role')`;
    await sql`CALL electric.unassign(assign_table_full_name => '"public"."members"', scope => null,
                user_column_name => 'user_id', role_name_string => 'projects:viewer',
                role_column_name => null)`;
    assert.deepEqual((await assignments()).map((a) => a.role_name), ["admin"]);
    notices.length = 0;
    await sql`CALL electric.unassign('members', NULL, 'user_id', 'nobody', NULL)`;
    assert.ok(notices.some((n) => n.startsWith("Nothing to unassign")));
    const e = await errorOf(sql`CALL electric.unassign('members', NULL, 'user_id', NULL, NULL)`);
    assert.equal(e.code, "22023");
    await sql`CALL electric.unassign('members', NULL, 'user_id', 'admin')`;
    assert.deepEqual(await assignments(), []);
  });
});

describe("the rule tables", () => {
  test("are published with full replica identity and refuse TRUNCATE", async () => {
    const tables = await sql`
      SELECT c.relname, c.relreplident,
             EXISTS (SELECT 1 FROM pg_publication_tables p
                      WHERE p.pubname = 'electric_publication' AND p.schemaname = 'electric'
                        AND p.tablename = c.relname) AS published
        FROM pg_class c
       WHERE c.oid IN ('electric.grants'::regclass, 'electric.assignments'::regclass)
       ORDER BY 1`;
    assert.deepEqual(tables.map((t) => ({ ...t })), [
      { relname: "assignments", relreplident: "f", published: true },
      { relname: "grants", relreplident: "f", published: true },
    ]);
    for (const table of ["grants", "assignments"]) {
      const e = await errorOf(sql.unsafe(`TRUNCATE electric.${table}`));
      assert.equal(e.code, "55000");
      assert.equal(e.message, `Cannot TRUNCATE "electric"."${table}"`);
    }
  });

  test("only the service's role (and roles it allows) may call the procedures", async () => {
    const role = `ddlx_outsider_${db.name}`;
    await sql.unsafe(`CREATE ROLE ${role}; GRANT USAGE ON SCHEMA electric TO ${role}`);
    try {
      const e = await errorOf(sql.begin(async (tx) => {
        await tx.unsafe(`SET LOCAL ROLE ${role}`);
        await tx`CALL electric.grant('select', 'items', 'm')`;
      }));
      assert.equal(e.code, "42501");
      await sql.unsafe(`GRANT EXECUTE ON PROCEDURE electric.grant(text, text, text, text[], text,
                          text, text) TO ${role}`);
      await sql.begin(async (tx) => {
        await tx.unsafe(`SET LOCAL ROLE ${role}`);
        await tx`CALL electric.grant('select', 'items', 'm')`;
      });
      assert.ok((await grants()).some((g) => g.role === "m"), "runs as its definer");
      // A new start redefines the routines but keeps what was granted.
      await bootstrapElectricSchema(sql);
      const [allowed] = await sql`SELECT has_function_privilege(${role},
        'electric.grant(text, text, text, text[], text, text, text)', 'EXECUTE') AS ok`;
      assert.equal(allowed.ok, true);
    } finally {
      await sql.unsafe(`DROP OWNED BY ${role}; DROP ROLE ${role}`);
    }
  });

  test("upgrading an installed database: identity, publication membership", async () => {
    const other = await freshDatabase();
    const o = postgres(other.url, { onnotice: () => {}, max: 1 });
    try {
      const earlier = INSTALL_STEPS.filter((step) => step.version < PERMISSIONS_STEP);
      await bootstrapElectricSchema(o, { steps: earlier, ddlGuard: true });
      await ensurePublication(o);
      await o`ALTER PUBLICATION electric_publication DROP TABLE electric.grants`;
      const result = await bootstrapElectricSchema(o, { ddlGuard: true });
      // The permissions step and every step after it (later issues' own).
      assert.deepEqual(
        result.applied,
        INSTALL_STEPS.filter((step) => step.version >= PERMISSIONS_STEP).map((s) => s.version),
      );
      const [state] = await o`
        SELECT (SELECT relreplident FROM pg_class WHERE oid = 'electric.grants'::regclass) AS g,
               (SELECT relreplident FROM pg_class WHERE oid = 'electric.assignments'::regclass) AS a,
               (SELECT count(*)::int FROM pg_publication_tables WHERE pubname = 'electric_publication'
                   AND schemaname = 'electric' AND tablename IN ('grants', 'assignments')) AS published`;
      assert.deepEqual({ ...state }, { g: "f", a: "f", published: 2 });
    } finally {
      await o.end();
      await other.drop();
    }
  });

  test("a reference installation's procedures are replaced by the step", async () => {
    const other = await freshDatabase();
    const o = postgres(other.url, { onnotice: () => {}, max: 1 });
    try {
      await o.unsafe(`
        CREATE SCHEMA electric;
        CREATE PROCEDURE electric.revoke(a text, b text, c text, d text[], e text)
          LANGUAGE sql AS $$ SELECT 1 $$;
        CREATE PROCEDURE electric.assign(x text) LANGUAGE sql AS $$ SELECT 1 $$;`);
      await bootstrapElectricSchema(o);
      const procs = await o`
        SELECT pg_get_function_identity_arguments(p.oid) AS args
          FROM pg_proc p WHERE p.pronamespace = 'electric'::regnamespace
           AND p.proname IN ('grant', 'revoke', 'assign', 'unassign') ORDER BY p.proname`;
      assert.deepEqual(procs.map((p) => p.args.replaceAll("IN ", "")), [
        "assign_table_full_name text, scope text, user_column_name text, role_name_string text, role_column_name text, if_fn text",
        "privilege_name text, on_table_name text, role_name text, columns text[], scope_name text, using_path text, check_fn text",
        "privilege_name text, on_table_name text, role_name text, columns text[], scope_name text",
        "assign_table_full_name text, scope text, user_column_name text, role_name_string text, role_column_name text",
      ]);
    } finally {
      await o.end();
      await other.drop();
    }
  });
});
