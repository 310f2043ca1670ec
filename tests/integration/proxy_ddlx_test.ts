/**
 * DDLX, capture, refusal and migration versions through the proxy, against a real Postgres
 * with the electric schema (and its event-trigger guard) installed.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  errorOf,
  type ProxyHarness,
  psql,
  startProxy,
  summary,
  WireClient,
} from "./proxy_harness.ts";

let h: ProxyHarness;
before(async () => {
  h = await startProxy();
});
after(async () => {
  await h.stop();
});

async function captured(): Promise<string[]> {
  const rows = await h.sql`SELECT query FROM electric.ddl_commands ORDER BY id`;
  return rows.map((r) => r.query as string);
}

async function versions(): Promise<string[]> {
  const rows = await h.sql`SELECT version FROM electric.migration_versions ORDER BY version`;
  return rows.map((r) => r.version as string);
}

async function electrified(): Promise<string[]> {
  const rows = await h.sql`SELECT table_name FROM electric.electrified ORDER BY table_name`;
  return rows.map((r) => r.table_name as string);
}

describe("ENABLE ELECTRIC", () => {
  test("psql: CREATE TABLE then ALTER TABLE … ENABLE ELECTRIC shows ELECTRIC ENABLE", async () => {
    const created = await psql(h.port, ["-c", "CREATE TABLE items (id uuid PRIMARY KEY, v text);"]);
    assert.equal(created.code, 0, created.stderr);
    const before = (await versions()).length;
    const r = await psql(h.port, ["-c", "ALTER TABLE items ENABLE ELECTRIC;"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /ELECTRIC ENABLE/);
    assert.ok((await electrified()).includes("items"));
    assert.equal((await versions()).length, before + 1);
    assert.ok((await captured()).some((q) => q.startsWith("CREATE TABLE") && q.includes("items")));
  });

  test("extended protocol: Parse/Bind/Execute/Sync in one unit", async () => {
    await h.sql`CREATE TABLE ext_one (id uuid PRIMARY KEY)`;
    const c = await WireClient.open(h.port);
    c.send(
      { type: "Parse", name: "", sql: "ALTER TABLE ext_one ENABLE ELECTRIC", paramTypes: [] },
      { type: "Bind", portal: "", statement: "", paramFormats: [], params: [], resultFormats: [] },
      { type: "Describe", kind: "P", name: "" },
      { type: "Execute", portal: "", maxRows: 0 },
      { type: "Sync" },
    );
    const got = summary(await c.untilReady());
    assert.deepEqual(got.filter((m) => !m.startsWith("N:")), [
      "ParseComplete",
      "BindComplete",
      "NoData",
      "C:ELECTRIC ENABLE",
      "Z:I",
    ]);
    c.close();
    assert.ok((await electrified()).includes("ext_one"));
  });

  test("extended protocol: Parse/Describe/Flush, then Bind/Execute/Sync", async () => {
    await h.sql`CREATE TABLE ext_two (id uuid PRIMARY KEY)`;
    const c = await WireClient.open(h.port);
    c.send(
      { type: "Parse", name: "s1", sql: "ALTER TABLE ext_two ENABLE ELECTRIC", paramTypes: [] },
      { type: "Describe", kind: "S", name: "s1" },
      { type: "Flush" },
    );
    assert.deepEqual(summary([await c.next(), await c.next(), await c.next()] as never), [
      "ParseComplete",
      "ParameterDescription",
      "NoData",
    ]);
    c.send(
      {
        type: "Bind",
        portal: "",
        statement: "s1",
        paramFormats: [],
        params: [],
        resultFormats: [],
      },
      { type: "Execute", portal: "", maxRows: 0 },
      { type: "Sync" },
    );
    const got = summary(await c.untilReady()).filter((m) => !m.startsWith("N:"));
    assert.deepEqual(got, ["BindComplete", "C:ELECTRIC ENABLE", "Z:I"]);
    c.close();
    assert.ok((await electrified()).includes("ext_two"));
  });

  test("postgres.js: a multi-statement transaction with ENABLE and a user version", async () => {
    const c = h.client();
    await c.begin(async (tx) => {
      await tx`CALL electric.migration_version('20230504114018')`;
      await tx.unsafe("CREATE TABLE m (id uuid PRIMARY KEY)");
      await tx.unsafe("ALTER TABLE m ENABLE ELECTRIC");
    });
    assert.ok((await electrified()).includes("m"));
    assert.ok((await versions()).includes("20230504114018"));
  });

  test("psql: one Query with BEGIN … ENABLE … COMMIT and migration_version", async () => {
    const r = await psql(h.port, [
      "-c",
      "BEGIN; CALL electric.migration_version('20230504114019'); CREATE TABLE m2 (id uuid PRIMARY KEY); ALTER TABLE m2 ENABLE ELECTRIC; COMMIT;",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok((await electrified()).includes("m2"));
    assert.ok((await versions()).includes("20230504114019"));
  });

  test("CALL electric.electrify through the proxy electrifies and versions", async () => {
    await h.sql`CREATE TABLE via_call (id uuid PRIMARY KEY)`;
    const before = (await versions()).length;
    const c = h.client();
    await c.unsafe("CALL electric.electrify('via_call')");
    assert.ok((await electrified()).includes("via_call"));
    assert.equal((await versions()).length, before + 1);
  });
});

describe("capture and refusal on electrified tables", () => {
  test("ADD COLUMN is captured once with a notice, shadow updated", async () => {
    const before = await captured();
    const r = await psql(h.port, ["-c", "ALTER TABLE items ADD COLUMN n int4;"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Migration affecting electrified table "public"."items"/);
    assert.match(r.stdout, /ALTER TABLE/);
    const after = await captured();
    assert.deepEqual(after.slice(before.length), ["ALTER TABLE items ADD COLUMN n int4"]);
    const [shadow] = await h.sql`
      SELECT count(*)::int AS n FROM pg_attribute
      WHERE attrelid = 'electric.shadow__public__items'::regclass AND attname = '_tag_n'`;
    assert.equal(shadow.n, 1);
  });

  test("CREATE INDEX on an electrified table is captured, DROP INDEX too", async () => {
    const before = await captured();
    const c = h.client();
    await c.unsafe("CREATE INDEX items_v_idx ON items (v)");
    await c.unsafe("DROP INDEX items_v_idx");
    const added = (await captured()).slice(before.length);
    assert.deepEqual(added, ["CREATE INDEX items_v_idx ON items (v)", "DROP INDEX items_v_idx"]);
  });

  const refusals: [string, string][] = [
    ["ALTER TABLE items DROP COLUMN v", "EX010"],
    ["ALTER TABLE items RENAME v TO w", "EX008"],
    ["ALTER TABLE items RENAME TO items2", "EX002"],
    ["ALTER TABLE items RENAME CONSTRAINT items_pkey TO k", "EX012"],
    ["DROP TABLE items", "EX004"],
    ["ALTER TABLE items ADD COLUMN x varchar(10)", "EX005"],
    ["ALTER TABLE items ADD COLUMN y text DEFAULT ''", "EX006"],
    ["ALTER TABLE items ADD COLUMN z text UNIQUE", "EX011"],
    ["ALTER TABLE items ALTER COLUMN v TYPE varchar", "EX009"],
    ["ALTER TABLE items ALTER COLUMN v SET NOT NULL", "EX007"],
  ];
  for (const [statement, code] of refusals) {
    test(`${statement} → ${code}, nothing changes, session usable`, async () => {
      const before = await captured();
      const c = await WireClient.open(h.port);
      c.send({ type: "Query", sql: `${statement};` });
      const got = summary(await c.untilReady());
      assert.deepEqual(got, [`E:${code}`, "Z:E"]);
      c.send({ type: "Query", sql: "SELECT 1" });
      assert.deepEqual(summary(await c.untilReady()).slice(-2), ["C:SELECT 1", "Z:I"]);
      c.close();
      assert.deepEqual(await captured(), before);
      const cols = await h.sql`SELECT attname FROM pg_attribute
        WHERE attrelid = 'public.items'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`;
      assert.deepEqual(cols.map((r) => r.attname), ["id", "v", "n"]);
    });
  }

  test("extended protocol refusal carries detail and table, DROP TABLE is EX100", async () => {
    const c = h.client();
    const e = await errorOf(c`DROP TABLE items`);
    assert.equal(e.code, "EX100");
    assert.match(e.message, /Cannot DROP Electrified table "public"."items"/);
    const [row] = await c`SELECT 1 AS one`;
    assert.equal(row.one, 1);
  });

  test("the same statements on a table that is not electrified run normally", async () => {
    const r = await psql(h.port, [
      "-v",
      "ON_ERROR_STOP=1",
      "-c",
      "CREATE TABLE plain_t (id int PRIMARY KEY, v text); ALTER TABLE plain_t ADD COLUMN x varchar(10) DEFAULT 'a'; ALTER TABLE plain_t RENAME v TO w; ALTER TABLE plain_t DROP COLUMN x; DROP TABLE plain_t;",
    ]);
    assert.equal(r.code, 0, r.stderr);
  });
});

describe("DDLX permissions with default flags", () => {
  async function grantRows(table: string): Promise<string[]> {
    const rows = await h.sql`
      SELECT privilege || ' ' || role || ' ' || column_name || ' ' || scope AS g
        FROM electric.grants WHERE on_table = ${table} ORDER BY 1`;
    return rows.map((r) => r.g as string);
  }

  async function assignmentRows(): Promise<string[]> {
    const rows = await h.sql`
      SELECT concat_ws(' ', table_name, scope_table, user_column, role_name, role_column, if_fn) AS a
        FROM electric.assignments ORDER BY 1`;
    return rows.map((r) => r.a as string);
  }

  before(async () => {
    const r = await psql(h.port, [
      "-v",
      "ON_ERROR_STOP=1",
      "-c",
      `CREATE TABLE perm_projects (id uuid PRIMARY KEY, name text);
       CREATE TABLE perm_members (id uuid PRIMARY KEY, project_id uuid REFERENCES perm_projects (id),
                                  user_id text, role text);
       CREATE TABLE perm_plain (id uuid PRIMARY KEY, user_id text);
       ALTER TABLE perm_projects ENABLE ELECTRIC;
       ALTER TABLE perm_members ENABLE ELECTRIC;`,
    ]);
    assert.equal(r.code, 0, r.stderr);
  });

  test("psql: GRANT, REVOKE, ASSIGN and UNASSIGN run and store their rules", async () => {
    const grant = await psql(h.port, [
      "-v",
      "ON_ERROR_STOP=1",
      "-c",
      "ELECTRIC GRANT ALL ON perm_projects TO 'perm_projects:member';",
      "-c",
      "ELECTRIC GRANT READ ON perm_projects TO ANYONE;",
      "-c",
      "ELECTRIC GRANT UPDATE (name) ON perm_projects TO AUTHENTICATED CHECK (name <> '');",
    ]);
    assert.equal(grant.code, 0, grant.stderr);
    assert.match(grant.stdout, /ELECTRIC GRANT/);
    const scope = '"public"."perm_projects"';
    assert.deepEqual(await grantRows(scope), [
      `delete member * ${scope}`,
      `insert member * ${scope}`,
      "select ANYONE * __global__",
      `select member * ${scope}`,
      "update AUTHENTICATED name __global__",
      `update member * ${scope}`,
    ]);
    const assign = await psql(h.port, [
      "-v",
      "ON_ERROR_STOP=1",
      "-c",
      "ELECTRIC ASSIGN (perm_projects, perm_members.role) TO perm_members.user_id;",
      "-c",
      "ELECTRIC ASSIGN 'admin' TO perm_members.user_id IF (role = 'boss');",
    ]);
    assert.equal(assign.code, 0, assign.stderr);
    assert.match(assign.stdout, /ELECTRIC ASSIGN/);
    assert.deepEqual(await assignmentRows(), [
      `"public"."perm_members" "public"."perm_projects" user_id __none__ role`,
      `"public"."perm_members" __none__ user_id admin __none__ role = 'boss'`,
    ]);

    const undo = await psql(h.port, [
      "-v",
      "ON_ERROR_STOP=1",
      "-c",
      "ELECTRIC REVOKE ALL ON perm_projects FROM 'perm_projects:member';",
      "-c",
      "ELECTRIC REVOKE UPDATE ON perm_projects FROM AUTHENTICATED;",
      "-c",
      "ELECTRIC UNASSIGN (perm_projects, perm_members.role) FROM perm_members.user_id;",
      "-c",
      "ELECTRIC UNASSIGN 'admin' FROM perm_members.user_id;",
    ]);
    assert.equal(undo.code, 0, undo.stderr);
    assert.match(undo.stdout, /ELECTRIC REVOKE/);
    assert.match(undo.stdout, /ELECTRIC UNASSIGN/);
    assert.deepEqual(await grantRows(scope), ["select ANYONE * __global__"]);
    assert.deepEqual(await assignmentRows(), []);
  });

  test("postgres.js (extended protocol): a GRANT inside a migration transaction", async () => {
    const c = h.client();
    await c.begin(async (tx) => {
      await tx.unsafe("ELECTRIC GRANT INSERT ON perm_members TO 'perm_projects:member'");
    });
    assert.deepEqual(await grantRows('"public"."perm_members"'), [
      'insert member * "public"."perm_projects"',
    ]);
  });

  const refused: [string, string, RegExp][] = [
    [
      "ELECTRIC GRANT SELECT (nope) ON perm_projects TO 'member'",
      "42703",
      /^Column "nope" does not exist in table "public"\."perm_projects"$/,
    ],
    [
      "ELECTRIC GRANT SELECT ON perm_plain TO 'member'",
      "55000",
      /^Table "public"\."perm_plain" is not electrified$/,
    ],
    [
      "ELECTRIC ASSIGN 'admin' TO perm_members.nobody",
      "42703",
      /^User column "nobody" does not exist/,
    ],
    [
      "ELECTRIC ASSIGN (perm_members, perm_projects.name) TO perm_projects.name",
      "42830",
      /^Table "public"\."perm_projects" has no foreign key to scope table "public"\."perm_members"/,
    ],
  ];
  for (const [statement, code, message] of refused) {
    test(`${statement} → ${code} from Postgres, session usable`, async () => {
      const before = await grantRows('"public"."perm_projects"');
      const c = h.client();
      const e = await errorOf(c.unsafe(statement));
      assert.equal(e.code, code);
      assert.match(e.message, message);
      const [row] = await c`SELECT 1 AS one`;
      assert.equal(row.one, 1);
      assert.deepEqual(await grantRows('"public"."perm_projects"'), before);
    });
  }

  const invalid: [string, string][] = [
    ["ELECTRIC GRANT SELECT ON perm_projects TO ':'", `invalid role ":": expected 'name' or`],
    ["ELECTRIC GRANT SELECT ON perm_projects TO member", "role must be a quoted string"],
    ["ELECTRIC ASSIGN ANYONE TO perm_members.user_id", "role ANYONE is built in"],
  ];
  for (const [statement, detail] of invalid) {
    test(`${statement} → Invalid ELECTRIC statement, never a crash`, async () => {
      const c = await WireClient.open(h.port);
      c.send({ type: "Query", sql: `${statement};` });
      const got = await c.untilReady();
      const error = got.find((m) => m.type === "ErrorResponse");
      assert.ok(error && error.type === "ErrorResponse");
      assert.equal(error.fields.C, "00000");
      assert.equal(error.fields.M, "Invalid ELECTRIC statement");
      assert.ok(error.fields.D?.startsWith(detail), error.fields.D);
      c.send({ type: "Query", sql: "SELECT 1" });
      assert.deepEqual(summary(await c.untilReady()).slice(-2), ["C:SELECT 1", "Z:I"]);
      c.close();
    });
  }
});

describe("DDLX errors and syntax errors", () => {
  test("DISABLE ELECTRIC → EX001", async () => {
    const c = h.client();
    const e = await errorOf(c.unsafe("ALTER TABLE items DISABLE ELECTRIC"));
    assert.equal(e.code, "EX001");
    assert.equal(e.message, "ELECTRIC DISABLE is currently unsupported");
  });

  test("ELECTRIC GRANT JUNK → Invalid ELECTRIC statement", async () => {
    const c = await WireClient.open(h.port);
    c.send({ type: "Query", sql: "ELECTRIC GRANT JUNK ON t TO 'x';" });
    const got = await c.untilReady();
    const error = got.find((m) => m.type === "ErrorResponse");
    assert.ok(error && error.type === "ErrorResponse");
    assert.equal(error.fields.C, "00000");
    assert.equal(error.fields.M, "Invalid ELECTRIC statement");
    assert.equal(error.fields.D, 'syntax error before: <<"JUNK">>');
    c.close();
  });

  test("SELEC 1 → 42601 with a position", async () => {
    const c = await WireClient.open(h.port);
    c.send({ type: "Query", sql: "SELEC 1" });
    const got = await c.untilReady();
    const error = got.find((m) => m.type === "ErrorResponse");
    assert.ok(error && error.type === "ErrorResponse");
    assert.equal(error.fields.C, "42601");
    assert.equal(error.fields.P, "1");
    c.close();
  });

  test("DO blocks are refused with EX000", async () => {
    const c = h.client();
    const e = await errorOf(c.unsafe("DO $$ BEGIN PERFORM 1; END $$"));
    assert.equal(e.code, "EX000");
  });
});

describe("a feature flag still turns a DDLX permission statement off", () => {
  let off: ProxyHarness;
  before(async () => {
    off = await startProxy({ env: { ELECTRIC_FEATURES: "proxy_ddlx_grant=false" } });
  });
  after(async () => {
    await off.stop();
  });

  test("proxy_ddlx_grant=false: GRANT → EX001 and nothing stored; REVOKE still runs", async () => {
    const c = await WireClient.open(off.port);
    c.send({ type: "Query", sql: "ELECTRIC GRANT ALL ON items TO 'member';" });
    const got = await c.untilReady();
    const error = got.find((m) => m.type === "ErrorResponse");
    assert.ok(error && error.type === "ErrorResponse");
    assert.equal(error.fields.C, "EX001");
    assert.equal(error.fields.M, "ELECTRIC GRANT is currently unsupported");
    c.close();
    const [{ n }] = await off.sql`SELECT count(*)::int AS n FROM electric.grants`;
    assert.equal(n, 0);
    await off.client().unsafe("ELECTRIC REVOKE SELECT ON items FROM 'member'");
  });
});
