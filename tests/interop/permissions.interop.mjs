/**
 * Permissions (issue 17) with the real client. Rules: `ELECTRIC GRANT SELECT, INSERT, UPDATE ON
 * issues TO (projects, 'member')`, `ELECTRIC GRANT SELECT ON projects TO (projects, 'member')`,
 * `ELECTRIC ASSIGN (projects, 'member') TO memberships.user_id`; no delete grant.
 *
 * - Reading: each user's SQLite holds only the projects they are a member of and those
 *   projects' issues, initially and live; memberships (named by no grant) arrive whole, the
 *   projects they reference only where readable.
 * - Roles change live: a membership inserted or deleted in Postgres moves a project and its
 *   issues in or out while the client stays connected; changed while the client was offline,
 *   on its reconnect. A select grant added while connected narrows its table live.
 * - Writing: inserts and updates in one's own project are applied. An insert into another
 *   user's project is stopped by the client itself (its SQLite lacks the project: foreign
 *   key); sent anyway, or written offline into a project one has left since, it refuses the
 *   client's whole transaction (INVALID_REQUEST, fatal for the client) and leaves Postgres
 *   unchanged; so does a delete, which no grant allows.
 *
 * Until `electric.grant`/`electric.assign` exist, the rules are the rows those procedures
 * store, inserted directly. Memberships are named by no grant: everyone may read and write
 * them, as in 0.12 without permissions.
 *
 * Every test seeds its own projects, users and issues (random suffixes), so a failure stays
 * local to one test. "X does not arrive" is checked with a marker: a later transaction that
 * does reach the client; transactions arrive in commit order, so once the marker is in SQLite,
 * X would have been too.
 *
 * Service runtime: INTEROP_RUNTIME; write mode: INTEROP_WRITE_MODE (see harness/writes.mjs).
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import {
  createClient,
  currentRuntime,
  defer,
  waitFor,
} from "./harness/mod.mjs";
import {
  currentWriteMode,
  startWriteScenario,
  waitForEcho,
} from "./harness/writes.mjs";

const runtime = currentRuntime();
const mode = currentWriteMode();
/** SatelliteErrorCode.INVALID_REQUEST of electric-sql 0.12.1 */
const CLIENT_INVALID_REQUEST = 17;

/** @type {Record<string, import("./harness/client.mjs").TableSpec>} */
const TABLES = {
  projects: { fields: { id: "TEXT", name: "TEXT" } },
  memberships: {
    fields: { id: "TEXT", project_id: "TEXT", user_id: "TEXT" },
    foreignKeys: [{
      column: "project_id",
      table: "projects",
      field: "project",
      inverseField: "memberships",
    }],
  },
  issues: {
    fields: { id: "TEXT", project_id: "TEXT", title: "TEXT" },
    foreignKeys: [{
      column: "project_id",
      table: "projects",
      field: "project",
      inverseField: "issues",
    }],
  },
  comments: {
    fields: { id: "TEXT", issue_id: "TEXT", body: "TEXT" },
    foreignKeys: [{
      column: "issue_id",
      table: "issues",
      field: "issue",
      inverseField: "comments",
    }],
  },
};

/** @type {Awaited<ReturnType<typeof startWriteScenario>>["service"]} */
let service;
/** @type {import("postgres").Sql} */
let sql;

const serviceOutput = () => {
  const out = service?.output() ?? "(not started)";
  return `--- service output (${runtime}, ${mode}), last 6000 chars ---\n${
    out.slice(-6000)
  }`;
};

before(async () => {
  ({ service, sql } = await startWriteScenario({
    runtime,
    mode,
    connections: 2,
    diagnostics: serviceOutput,
    schema: `
    CREATE TABLE projects (id text PRIMARY KEY, name text);
    CREATE TABLE memberships (id text PRIMARY KEY, project_id text REFERENCES projects (id),
                              user_id text);
    CREATE TABLE issues (id text PRIMARY KEY, project_id text REFERENCES projects (id),
                         title text);
    CREATE TABLE comments (id text PRIMARY KEY, issue_id text REFERENCES issues (id), body text);
    CALL electric.electrify('projects');
    CALL electric.electrify('memberships');
    CALL electric.electrify('issues');
    CALL electric.electrify('comments');
  `,
  }));
  // The rules as ELECTRIC GRANT / ASSIGN store them, before any client connects.
  await sql.unsafe(`
    INSERT INTO electric.grants (privilege, on_table, role, column_name, scope)
      VALUES ('select', '"public"."issues"', 'member', '*', '"public"."projects"'),
             ('insert', '"public"."issues"', 'member', '*', '"public"."projects"'),
             ('update', '"public"."issues"', 'member', '*', '"public"."projects"'),
             ('select', '"public"."projects"', 'member', '*', '"public"."projects"');
    -- Comments reach their project through their issue: a path of two foreign keys.
    INSERT INTO electric.grants (privilege, on_table, role, column_name, scope, using_path)
      VALUES ('select', '"public"."comments"', 'member', '*', '"public"."projects"',
              'issue_id/project_id');
    INSERT INTO electric.assignments (table_name, scope_table, user_column, role_name)
      VALUES ('"public"."memberships"', '"public"."projects"', 'user_id', 'member');`);
}, { timeout: 90_000 });

/** @param {string} prefix */
const uid = (prefix) => `${prefix}-${randomBytes(4).toString("hex")}`;

/** @param {Record<string, unknown>[]} rows */
const ids = (rows) => rows.map((r) => String(r.id)).sort();

/**
 * A project with members and issues; returns its id and its issues' ids.
 * @param {{ members: string[], issues: number }} spec
 */
async function seedProject(spec) {
  const project = uid("p");
  const issues = Array.from({ length: spec.issues }, () => uid(`${project}-i`));
  await sql.begin(async (tx) => {
    await tx`INSERT INTO projects (id, name) VALUES (${project}, ${`project ${project}`})`;
    for (const user of spec.members) {
      await tx`INSERT INTO memberships (id, project_id, user_id)
               VALUES (${uid("m")}, ${project}, ${user})`;
    }
    for (const issue of issues) {
      await tx`INSERT INTO issues (id, project_id, title)
               VALUES (${issue}, ${project}, ${`issue ${issue}`})`;
    }
  });
  return { project, issues };
}

/**
 * A connected client of `userId` whose SQLite has the tables. Its fatal errors (the refusal of
 * a transaction) are recorded in `fatal` instead of escaping as unhandled rejections: the
 * client throws them from a promise nobody awaits. `disconnects` lists every disconnected
 * state it reports, with its reason (a SatelliteError with a `code`).
 * @param {string} userId
 */
async function connectedClient(userId) {
  const client = await createClient({
    serviceUrl: service.url,
    tables: TABLES,
    userId,
    diagnostics: serviceOutput,
  });
  defer("client", () => client.close());
  /** @type {Error[]} */
  const fatal = [];
  const satellite = /** @type {any} */ (client.electric).satellite;
  const original = satellite._handleOrThrowClientError.bind(satellite);
  satellite._handleOrThrowClientError = (/** @type {any} */ error) =>
    original(error).catch((/** @type {Error} */ thrown) => {
      fatal.push(thrown);
    });
  /** @type {Array<{ reason?: { code: number, message: string } }>} */
  const disconnects = [];
  const unsubscribe = client.electric.notifier
    .subscribeToConnectivityStateChanges(
      (/** @type {any} */ { connectivityState }) => {
        if (connectivityState.status === "disconnected") {
          disconnects.push(connectivityState);
        }
      },
    );
  defer("connectivity listener", unsubscribe);
  await client.connect(15_000);
  // connect() resolves before the migrations are applied.
  await client.waitForRows(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('projects', 'memberships', 'issues', 'comments')",
    (rows) => rows.length === 4,
    10_000,
  );
  return { client, fatal, satellite, disconnects };
}

/**
 * The shape each user syncs: their projects with the projects' issues. The client's SQLite
 * then never holds an issue without its project.
 * @param {Awaited<ReturnType<typeof connectedClient>>} c
 */
async function syncProjects(c) {
  await c.client.sync("projects", { include: { issues: true } });
}

/** @param {Awaited<ReturnType<typeof connectedClient>>} c */
async function localState(c) {
  return {
    projects: ids(await c.client.query("SELECT id FROM projects")),
    issues: ids(await c.client.query("SELECT id FROM issues")),
  };
}

/** @param {Awaited<ReturnType<typeof connectedClient>>} c */
async function orphanIssues(c) {
  return await c.client.query(
    "SELECT i.id FROM issues i LEFT JOIN projects p ON p.id = i.project_id WHERE p.id IS NULL",
  );
}

test(
  `[${runtime}] each user's SQLite holds only their own projects and issues`,
  { timeout: 60_000 },
  async () => {
    const alice = uid("alice");
    const bob = uid("bob");
    const a = await seedProject({ members: [alice], issues: 2 });
    const b = await seedProject({ members: [bob], issues: 3 });
    const none = await seedProject({ members: [], issues: 1 });

    const ca = await connectedClient(alice);
    const cb = await connectedClient(bob);
    await syncProjects(ca);
    await syncProjects(cb);
    assert.deepEqual(await localState(ca), {
      projects: [a.project],
      issues: [...a.issues].sort(),
    }, "alice: her project and its issues only");
    assert.deepEqual(await localState(cb), {
      projects: [b.project],
      issues: [...b.issues].sort(),
    }, "bob: his project and its issues only");

    // Live: an issue in bob's project and one in nobody's, then a marker in alice's.
    const bobLive = uid("bob-live");
    const nobodyLive = uid("nobody-live");
    const aliceLive = uid("alice-live");
    await sql`INSERT INTO issues (id, project_id, title) VALUES (${bobLive}, ${b.project}, 'b')`;
    await sql`INSERT INTO issues (id, project_id, title) VALUES (${nobodyLive}, ${none.project}, 'n')`;
    await sql`INSERT INTO issues (id, project_id, title) VALUES (${aliceLive}, ${a.project}, 'a')`;
    await ca.client.waitForRows(
      `SELECT id FROM issues WHERE id = '${aliceLive}'`,
      (r) => r.length === 1,
    );
    await cb.client.waitForRows(
      `SELECT id FROM issues WHERE id = '${bobLive}'`,
      (r) => r.length === 1,
    );
    assert.deepEqual(await localState(ca), {
      projects: [a.project],
      issues: [...a.issues, aliceLive].sort(),
    }, "alice receives no live issue of another project");
    // Bob's marker: a later issue of his own.
    const bobMarker = uid("bob-marker");
    await sql`INSERT INTO issues (id, project_id, title) VALUES (${bobMarker}, ${b.project}, 'm')`;
    await cb.client.waitForRows(
      `SELECT id FROM issues WHERE id = '${bobMarker}'`,
      (r) => r.length === 1,
    );
    assert.deepEqual(await localState(cb), {
      projects: [b.project],
      issues: [...b.issues, bobLive, bobMarker].sort(),
    }, "bob receives no live issue of another project");
    // A new project nobody is a member of does not arrive either (marker: an issue of alice's).
    const hidden = await seedProject({ members: [], issues: 1 });
    const aliceMarker = uid("alice-marker");
    await sql`INSERT INTO issues (id, project_id, title) VALUES (${aliceMarker}, ${a.project}, 'm')`;
    await ca.client.waitForRows(
      `SELECT id FROM issues WHERE id = '${aliceMarker}'`,
      (r) => r.length === 1,
    );
    const after = await localState(ca);
    assert.ok(
      !after.projects.includes(hidden.project),
      "a project of nobody's stays away",
    );
    assert.deepEqual(after.projects, [a.project]);
    assert.deepEqual(await orphanIssues(ca), []);
    assert.deepEqual(await orphanIssues(cb), []);
  },
);

test(
  `[${runtime}] a membership inserted moves a project in live; deleted, moves it out`,
  { timeout: 60_000 },
  async () => {
    const carol = uid("carol");
    const dave = uid("dave");
    const own = await seedProject({ members: [carol], issues: 1 });
    const other = await seedProject({ members: [dave], issues: 2 });
    const c = await connectedClient(carol);
    await syncProjects(c);
    assert.deepEqual(await localState(c), {
      projects: [own.project],
      issues: own.issues,
    });
    const disconnectsBefore = c.disconnects.length;

    // Carol joins dave's project: it and its issues arrive, without a reconnect.
    const membership = uid("m");
    await sql`INSERT INTO memberships (id, project_id, user_id)
            VALUES (${membership}, ${other.project}, ${carol})`;
    await c.client.waitForRows(
      "SELECT id FROM issues ORDER BY id",
      (r) => ids(r).join() === [...own.issues, ...other.issues].sort().join(),
      15_000,
    );
    assert.deepEqual(
      (await localState(c)).projects,
      [own.project, other.project].sort(),
      "the project moved in with its issues",
    );
    assert.deepEqual(await orphanIssues(c), []);

    // While a member, a new issue of that project streams live.
    const live = uid("live");
    await sql`INSERT INTO issues (id, project_id, title) VALUES (${live}, ${other.project}, 'live')`;
    await c.client.waitForRows(
      `SELECT id FROM issues WHERE id = '${live}'`,
      (r) => r.length === 1,
    );

    // Carol leaves: the project and its issues disappear from her SQLite; hers stay.
    await sql`DELETE FROM memberships WHERE id = ${membership}`;
    await c.client.waitForRows(
      "SELECT id FROM projects",
      (r) => ids(r).join() === own.project,
      15_000,
    );
    await c.client.waitForRows(
      "SELECT id FROM issues",
      (r) => ids(r).join() === own.issues.join(),
      15_000,
    );

    // Once out, the project's new issues stay away (marker: an issue of her own project).
    const afterLeaving = uid("after");
    const marker = uid("marker");
    await sql`INSERT INTO issues (id, project_id, title)
            VALUES (${afterLeaving}, ${other.project}, 'after')`;
    await sql`INSERT INTO issues (id, project_id, title) VALUES (${marker}, ${own.project}, 'm')`;
    await c.client.waitForRows(
      `SELECT id FROM issues WHERE id = '${marker}'`,
      (r) => r.length === 1,
    );
    assert.deepEqual(await localState(c), {
      projects: [own.project],
      issues: [...own.issues, marker].sort(),
    });
    assert.equal(c.satellite.connectivityState?.status, "connected");
    assert.equal(
      c.disconnects.length,
      disconnectsBefore,
      "no reconnect happened",
    );
  },
);

/**
 * Waits for the client to be disconnected by the service with INVALID_REQUEST (the first
 * disconnect after the `since` first ones) and to report a fatal error.
 * @param {Awaited<ReturnType<typeof connectedClient>>} c
 * @param {number} [since]
 */
async function expectRefused(c, since = 0) {
  const state = await waitFor(() => c.disconnects[since], {
    timeoutMs: 10_000,
    what: () =>
      `the client to be disconnected by an error; states: [${
        c.client.states.join(", ")
      }]\n${serviceOutput()}`,
  });
  assert.equal(
    state.reason?.code,
    CLIENT_INVALID_REQUEST,
    `disconnected with INVALID_REQUEST, got ${state.reason?.code}: ${state.reason?.message}`,
  );
  await waitFor(() => c.fatal.length > 0, {
    timeoutMs: 5000,
    what: "the client to report a fatal error",
  });
  assert.match(String(c.fatal[0]?.message), /Fatal error/);
}

/**
 * Polls Postgres until `query` returns rows satisfying `predicate`.
 * @param {string} what
 * @param {() => Promise<readonly Record<string, unknown>[]>} query
 * @param {(rows: readonly Record<string, unknown>[]) => boolean} predicate
 */
async function pgWait(what, query, predicate) {
  /** @type {unknown} */
  let last;
  await waitFor(async () => {
    last = await query();
    return predicate(/** @type {any} */ (last));
  }, {
    timeoutMs: 15_000,
    what: () =>
      `${what}; last rows: ${JSON.stringify(last)}\n${serviceOutput()}`,
  });
}

test(
  `[${runtime}] writes inside one's grants are applied; outside them the client's own guard refuses`,
  { timeout: 60_000 },
  async () => {
    const erin = uid("erin");
    const frank = uid("frank");
    const own = await seedProject({ members: [erin], issues: 1 });
    const other = await seedProject({ members: [frank], issues: 1 });
    const c = await connectedClient(erin);
    await syncProjects(c);
    const db = /** @type {any} */ (c.client.electric).db;

    // Insert and update in her own project (member: insert and update granted).
    const mine = uid("mine");
    await db.issues.create({
      data: { id: mine, project_id: own.project, title: "mine" },
    });
    await pgWait(
      "erin's issue in her project applied",
      () => sql`SELECT id, project_id, title FROM issues WHERE id = ${mine}`,
      (rows) => rows.length === 1,
    );
    await db.issues.update({
      where: { id: own.issues[0] },
      data: { title: "renamed by erin" },
    });
    await pgWait(
      "erin's update in her project applied",
      () => sql`SELECT title FROM issues WHERE id = ${own.issues[0]}`,
      (rows) => rows[0]?.title === "renamed by erin",
    );
    await waitForEcho(c.client, 10_000, serviceOutput);

    // Into frank's project: the project is not in her SQLite (she may not read it), so the
    // client's own foreign key refuses the insert before anything is replicated.
    const theirs = uid("theirs");
    await assert.rejects(
      db.issues.create({
        data: { id: theirs, project_id: other.project, title: "no" },
      }),
      (/** @type {any} */ error) =>
        error.code === "SQLITE_CONSTRAINT_FOREIGNKEY",
    );
    assert.deepEqual(
      await c.client.query("SELECT rowid FROM _electric_oplog"),
      [],
    );
    assert.equal(c.satellite.connectivityState?.status, "connected");
    assert.deepEqual(
      [...await sql`SELECT id FROM issues WHERE id = ${theirs}`],
      [],
    );
  },
);

test(
  `[${runtime}] a transaction with an insert into another user's project is refused whole`,
  { timeout: 60_000 },
  async () => {
    const grace = uid("grace");
    const heidi = uid("heidi");
    const own = await seedProject({ members: [grace], issues: 1 });
    const other = await seedProject({ members: [heidi], issues: 1 });
    const c = await connectedClient(grace);
    await syncProjects(c);
    // A client that skips its own foreign-key check (the project is not in its SQLite): the
    // service must refuse the write by itself.
    await c.client.run("PRAGMA foreign_keys = OFF");
    const db = /** @type {any} */ (c.client.electric).db;
    const mine = uid("mine");
    const theirs = uid("theirs");
    const outputBefore = service.output().length;
    // One client transaction: an issue of her own project, then one of heidi's.
    await db.issues.createMany({
      data: [
        { id: mine, project_id: own.project, title: "mine" },
        { id: theirs, project_id: other.project, title: "not mine" },
      ],
    });
    await expectRefused(c);
    assert.deepEqual(
      [...await sql`SELECT id FROM issues WHERE id IN (${mine}, ${theirs})`],
      [],
      "nothing of the refused transaction is in Postgres",
    );
    const logged = service.output().slice(outputBefore);
    assert.match(
      logged,
      /permission denied: insert on public\.issues/,
      logged.slice(-3000),
    );
  },
);

test(
  `[${runtime}] a delete without a delete grant is refused; the row stays in Postgres`,
  { timeout: 60_000 },
  async () => {
    const ivan = uid("ivan");
    const own = await seedProject({ members: [ivan], issues: 2 });
    const c = await connectedClient(ivan);
    await syncProjects(c);
    const db = /** @type {any} */ (c.client.electric).db;
    const outputBefore = service.output().length;
    await db.issues.delete({ where: { id: own.issues[0] } });
    await expectRefused(c);
    const logged = service.output().slice(outputBefore);
    assert.match(
      logged,
      /permission denied: delete on public\.issues/,
      logged.slice(-3000),
    );
    assert.deepEqual(
      ids([
        ...await sql`SELECT id FROM issues WHERE project_id = ${own.project}`,
      ]),
      [...own.issues].sort(),
    );
  },
);

test(
  `[${runtime}] a table no grant names is read whole; the projects it references only where readable`,
  { timeout: 60_000 },
  async () => {
    const judy = uid("judy");
    const kim = uid("kim");
    const own = await seedProject({ members: [judy], issues: 1 });
    const other = await seedProject({ members: [kim], issues: 1 });
    const c = await connectedClient(judy);
    // Memberships: no grant names them, so every row arrives. The shape follows each
    // membership's project automatically, but that layer is read through the projects' grants:
    // kim's project stays away, and kim's membership sits in judy's SQLite without its project.
    // The client stores it: it applies incoming rows with foreign-key checks off.
    await c.client.sync("memberships");
    const memberships = await c.client.query(
      `SELECT user_id, project_id FROM memberships
      WHERE project_id IN ('${own.project}', '${other.project}') ORDER BY user_id`,
    );
    assert.deepEqual(memberships, [
      { user_id: judy, project_id: own.project },
      { user_id: kim, project_id: other.project },
    ]);
    assert.deepEqual(ids(await c.client.query("SELECT id FROM projects")), [
      own.project,
    ]);
    // Issues alone: their projects follow the same way (hers only).
    await c.client.sync("issues");
    assert.deepEqual(await localState(c), {
      projects: [own.project],
      issues: own.issues,
    });
  },
);

/**
 * Disconnects `c` and waits until the client reports it.
 * @param {Awaited<ReturnType<typeof connectedClient>>} c
 */
async function goOffline(c) {
  c.client.electric.disconnect();
  await waitFor(
    () => c.satellite.connectivityState?.status === "disconnected",
    {
      timeoutMs: 5000,
      what: "the client to be disconnected",
    },
  );
}

for (const shape of ["projects with their issues", "issues alone"]) {
  test(
    `[${runtime}] memberships changed while offline apply on reconnect (${shape})`,
    { timeout: 60_000 },
    async () => {
      const leo = uid("leo");
      const own = await seedProject({ members: [leo], issues: 1 });
      const leaving = await seedProject({ members: [leo], issues: 2 });
      const joining = await seedProject({ members: [], issues: 2 });
      const c = await connectedClient(leo);
      if (shape === "issues alone") await c.client.sync("issues");
      else await syncProjects(c);
      assert.deepEqual(await localState(c), {
        projects: [own.project, leaving.project].sort(),
        issues: [...own.issues, ...leaving.issues].sort(),
      });

      await goOffline(c);
      await sql.begin(async (tx) => {
        await tx`DELETE FROM memberships WHERE project_id = ${leaving.project} AND user_id = ${leo}`;
        await tx`INSERT INTO memberships (id, project_id, user_id)
               VALUES (${uid("m")}, ${joining.project}, ${leo})`;
      });
      await c.client.connect(10_000);
      const expected = {
        projects: [own.project, joining.project].sort(),
        issues: [...own.issues, ...joining.issues].sort(),
      };
      /** @type {unknown} */
      let last;
      await waitFor(async () => {
        last = await localState(c);
        return JSON.stringify(last) === JSON.stringify(expected);
      }, {
        timeoutMs: 15_000,
        what: () =>
          `leo's SQLite to hold ${JSON.stringify(expected)}; holds ${
            JSON.stringify(last)
          }\n${serviceOutput()}`,
      });
      assert.deepEqual(await orphanIssues(c), []);
    },
  );
}

test(
  `[${runtime}] an issue written offline into a project one has since left is refused on reconnect`,
  { timeout: 60_000 },
  async () => {
    const mia = uid("mia");
    const own = await seedProject({ members: [mia], issues: 1 });
    const left = await seedProject({ members: [mia], issues: 1 });
    const c = await connectedClient(mia);
    await syncProjects(c);
    // A second client of hers tells when the service has seen her leave.
    const witness = await connectedClient(mia);
    await syncProjects(witness);

    await goOffline(c);
    await sql`DELETE FROM memberships WHERE project_id = ${left.project} AND user_id = ${mia}`;
    await witness.client.waitForRows(
      "SELECT id FROM projects",
      (r) => ids(r).join() === own.project,
      15_000,
    );
    // Offline, the project is still in her SQLite: the client's own checks pass.
    const db = /** @type {any} */ (c.client.electric).db;
    const late = uid("late");
    await db.issues.create({
      data: { id: late, project_id: left.project, title: "too late" },
    });
    const outputBefore = service.output().length;
    const since = c.disconnects.length;
    // The refusal may come before connect() has finished (then it rejects): either way the
    // client's next disconnect is the refusal.
    await c.client.connect(10_000).catch(() => {});
    await expectRefused(c, since);
    const logged = service.output().slice(outputBefore);
    assert.match(
      logged,
      /permission denied: insert on public\.issues/,
      logged.slice(-3000),
    );
    assert.deepEqual(
      [...await sql`SELECT id FROM issues WHERE id = ${late}`],
      [],
    );
    assert.equal(witness.satellite.connectivityState?.status, "connected");
  },
);

test(`[${runtime}] a select grant added while connected narrows a table live`, {
  timeout: 60_000,
}, async () => {
  // Its own table: the grant governs notes only, so the other tests' rules stay as they are.
  await sql.unsafe(`
    CREATE TABLE notes (id text PRIMARY KEY, project_id text REFERENCES projects (id),
                        body text);
    CALL electric.electrify('notes');`);
  const nora = uid("nora");
  const own = await seedProject({ members: [nora], issues: 0 });
  const other = await seedProject({ members: [], issues: 0 });
  const [mine, theirs, later, marker] = ["mine", "theirs", "later", "marker"]
    .map(uid);
  await sql`INSERT INTO notes (id, project_id, body)
            VALUES (${mine}, ${own.project}, 'a'), (${theirs}, ${other.project}, 'b')`;
  const client = await createClient({
    serviceUrl: service.url,
    tables: {
      ...TABLES,
      notes: {
        fields: { id: "TEXT", project_id: "TEXT", body: "TEXT" },
        foreignKeys: [{
          column: "project_id",
          table: "projects",
          field: "project",
          inverseField: "notes",
        }],
      },
    },
    userId: nora,
    diagnostics: serviceOutput,
  });
  defer("client", () => client.close());
  await client.connect(10_000);
  await client.waitForRows(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'notes'",
    (r) => r.length === 1,
  );
  // No grant names notes yet: every note arrives.
  await client.sync("notes");
  assert.deepEqual(
    ids(await client.query("SELECT id FROM notes")),
    [mine, theirs].sort(),
  );

  await sql.unsafe(`
    INSERT INTO electric.grants (privilege, on_table, role, column_name, scope)
      VALUES ('select', '"public"."notes"', 'member', '*', '"public"."projects"')`);
  await client.waitForRows(
    "SELECT id FROM notes",
    (r) => ids(r).join() === mine,
    15_000,
  );
  await sql`INSERT INTO notes (id, project_id, body) VALUES (${later}, ${other.project}, 'c')`;
  await sql`INSERT INTO notes (id, project_id, body) VALUES (${marker}, ${own.project}, 'd')`;
  await client.waitForRows(
    `SELECT id FROM notes WHERE id = '${marker}'`,
    (r) => r.length === 1,
  );
  assert.deepEqual(
    ids(await client.query("SELECT id FROM notes")),
    [mine, marker].sort(),
    "a note of another project added after the grant does not arrive",
  );
});

test(
  `[${runtime}] comments follow their issue's project (a USING path of two foreign keys)`,
  { timeout: 60_000 },
  async () => {
    const erin = uid("erin");
    const own = await seedProject({ members: [erin], issues: 1 });
    const other = await seedProject({ members: [], issues: 1 });
    const [ownIssue] = own.issues;
    const [otherIssue] = other.issues;
    const ownComment = uid("c-own");
    const otherComment = uid("c-other");
    await sql`INSERT INTO comments (id, issue_id, body)
              VALUES (${ownComment}, ${ownIssue}, 'mine'), (${otherComment}, ${otherIssue}, 'not')`;
    const c = await connectedClient(erin);
    await c.client.sync("projects", { include: { issues: { include: { comments: true } } } });
    const comments = async () => ids(await c.client.query("SELECT id FROM comments"));
    assert.deepEqual(await comments(), [ownComment], "only the comments of her project's issues");

    // The other issue moves into her project: it arrives with its comment, live.
    await sql`UPDATE issues SET project_id = ${own.project} WHERE id = ${otherIssue}`;
    await c.client.waitForRows(
      "SELECT id FROM comments ORDER BY id",
      (r) => ids(r).join() === [ownComment, otherComment].sort().join(),
      15_000,
    );
    // And back out again.
    await sql`UPDATE issues SET project_id = ${other.project} WHERE id = ${otherIssue}`;
    await c.client.waitForRows(
      "SELECT id FROM comments",
      (r) => ids(r).join() === ownComment,
      15_000,
    );
    assert.equal(c.satellite.connectivityState?.status, "connected");
  },
);
