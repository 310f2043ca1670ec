/**
 * Invalid values written by the real client are refused (postgres-side.md §6.2, §11 items
 * 40–41; satellite-protocol.md §4.3, §8.1): the service answers SatErrorResp INVALID_REQUEST
 * and closes; nothing of the transaction reaches Postgres; the client surfaces the error
 * (disconnected with INVALID_REQUEST, a fatal error, no reconnect).
 *
 * The values are written with raw SQL through `electric.adapter.run`, which bypasses the
 * client's own validation. Each case uses a fresh client, since the error is fatal for it.
 * The client's fatal error is thrown from a promise nobody awaits (an unhandled rejection in
 * the app); the test wraps that method on its own client instance to observe it instead.
 *
 * Service runtime: INTEROP_RUNTIME; write mode: INTEROP_WRITE_MODE (see harness/writes.mjs).
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import {
  createClient,
  currentRuntime,
  defer,
  startService,
  waitFor,
} from "./harness/mod.mjs";
import {
  clientIdOf,
  clientLsnHex,
  currentWriteMode,
  startWriteScenario,
  waitForEcho,
  writeTransaction,
} from "./harness/writes.mjs";

const runtime = currentRuntime();
const mode = currentWriteMode();
/** SatelliteErrorCode.INVALID_REQUEST of electric-sql 0.12.1 */
const CLIENT_INVALID_REQUEST = 17;

/** @type {Record<string, import("./harness/client.mjs").TableSpec>} */
const TABLES = {
  strict_t: {
    fields: {
      id: "UUID",
      small: "INT2",
      d: "DATE",
      tm: "TIME",
      tstz: "TIMESTAMPTZ",
      j: "JSONB",
      e: "TEXT",
      f4: "FLOAT4",
      label: "TEXT",
    },
  },
  ok_t: { fields: { id: "TEXT", v: "TEXT" } },
};

/**
 * One invalid value per case, in column `column` of strict_t (`id` is the primary key).
 * `valid` is what a valid row uses.
 */
const VALID = {
  small: 1,
  d: "2024-01-31",
  tm: "12:00:00",
  tstz: "2024-06-01 12:00:00.000Z",
  j: '{"ok":true}',
  e: "red",
  f4: 1.5,
};
const CASES = [
  { name: "int2 out of range", column: "small", value: 40000 },
  { name: "int2 below range", column: "small", value: -32769 },
  { name: "a malformed uuid primary key", column: "id", value: "not-a-uuid" },
  { name: "month 13", column: "d", value: "2023-13-01" },
  { name: "hour 25", column: "tm", value: "25:00:00" },
  {
    name: "timestamptz with a non-zero offset",
    column: "tstz",
    value: "2024-06-01 12:00:00+02:00",
  },
  { name: "invalid JSON", column: "j", value: '{"a":' },
  { name: "an unknown enum label", column: "e", value: "purple" },
  { name: "float4 overflow", column: "f4", value: 1e39 },
];

/** @type {Map<string, string>} case name → the service's log line of the refusal */
const refusals = new Map();
/** @type {Awaited<ReturnType<typeof startService>>} */
let service;
/** @type {import("postgres").Sql} */
let sql;

const serviceOutput = () => {
  const out = service?.output() ?? "(not started)";
  return `--- service output (${runtime}, ${mode}), last 6000 chars ---\n${
    out.slice(-6000)
  }`;
};

/**
 * A connected client whose fatal errors are recorded in `fatal` instead of escaping as
 * unhandled rejections.
 */
async function newClient() {
  const client = await createClient({
    serviceUrl: service.url,
    tables: TABLES,
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
  await client.connect(15_000);
  // connect() resolves before the migrations are applied.
  await client.waitForRows(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('strict_t', 'ok_t')",
    (rows) => rows.length === 2,
    10_000,
  );
  return { client, fatal, satellite };
}

/** @param {Record<string, unknown>} row */
function insertStrict(row) {
  const columns = Object.keys(row);
  return {
    sql: `INSERT INTO strict_t (${columns.join(", ")}) VALUES (${
      columns.map(() => "?").join(", ")
    })`,
    args: Object.values(row),
  };
}

before(async () => {
  ({ service, sql } = await startWriteScenario({
    runtime,
    mode,
    connections: 2,
    diagnostics: serviceOutput,
    schema: `
    CREATE TYPE colour AS ENUM ('red', 'green');
    CREATE TABLE strict_t (id uuid PRIMARY KEY, small int2, d date, tm time, tstz timestamptz,
                           j jsonb, e colour, f4 float4, label text);
    CREATE TABLE ok_t (id text PRIMARY KEY, v text);
    CALL electric.electrify('strict_t');
    CALL electric.electrify('ok_t');
  `,
  }));
}, { timeout: 90_000 });

/**
 * Waits for the client to be disconnected by the service with INVALID_REQUEST and to report a
 * fatal error, then checks it stays down.
 * @param {Awaited<ReturnType<typeof newClient>>} c
 */
async function expectRefused(c) {
  const state = await waitFor(() => {
    const s = c.satellite.connectivityState;
    return s?.status === "disconnected" && s.reason ? s : undefined;
  }, {
    timeoutMs: 10_000,
    what: () =>
      `the client to be disconnected by an error; states: [${
        c.client.states.join(", ")
      }]\n${serviceOutput()}`,
  });
  assert.equal(
    state.reason.code,
    CLIENT_INVALID_REQUEST,
    `disconnected with INVALID_REQUEST, got ${state.reason.code}: ${state.reason.message}`,
  );
  await waitFor(() => c.fatal.length > 0, {
    timeoutMs: 5000,
    what: "the client to report a fatal error",
  });
  assert.match(String(c.fatal[0]?.message), /Fatal error/);
}

for (const testCase of CASES) {
  test(`[${runtime}/${mode}] refused: ${testCase.name}`, {
    timeout: 30_000,
  }, async () => {
    const c = await newClient();
    const okId = `ok-${randomUUID()}`;
    const id = testCase.column === "id" ? String(testCase.value) : randomUUID();
    const label = `case ${testCase.name} ${randomUUID()}`;
    const outputBefore = service.output().length;
    // One client transaction: a valid row, then the invalid one.
    await writeTransaction(c.client, [
      { sql: "INSERT INTO ok_t (id, v) VALUES (?, 'same transaction')", args: [okId] },
      insertStrict({
        ...VALID,
        id,
        label,
        ...(testCase.column === "id" ? {} : { [testCase.column]: testCase.value }),
      }),
    ]);
    await expectRefused(c);

    // The refusal precedes any write: nothing of the transaction is in Postgres.
    assert.deepEqual([...await sql`SELECT id FROM ok_t WHERE id = ${okId}`], []);
    assert.deepEqual(
      [...await sql`SELECT id FROM strict_t WHERE label = ${label}`],
      [],
    );
    const acknowledged = await sql`
      SELECT 1 FROM electric.acknowledged_client_lsns
       WHERE client_id = ${await clientIdOf(c.client)}`;
    assert.equal(acknowledged.length, 0, "no LSN recorded for the refused transaction");
    // The error names the column (seen in the service's log of the SatErrorResp message;
    // the client does not keep the message). The table: see the test after the cases.
    const logged = service.output().slice(outputBefore);
    const refusal = logged.split("\n").find((line) => /refused/i.test(line));
    assert.ok(refusal, `the service logs the refusal:\n${logged.slice(-3000)}`);
    assert.match(refusal, new RegExp(`"${testCase.column}"`));
    refusals.set(testCase.name, refusal);
  });
}

test(`[${runtime}/${mode}] every value refusal names the table as well as the column`, {
  timeout: 5000,
}, () => {
  assert.equal(refusals.size, CASES.length, "every case was refused (see above)");
  const unnamed = [...refusals].filter(([, line]) => !/strict_t/.test(line));
  assert.deepEqual(
    unnamed.map(([name, line]) => `${name}: ${line.replace(/^.*Refused/, "Refused")}`),
    [],
    "refusals without the table name",
  );
});

test(`[${runtime}/${mode}] refused: a primary-key change (client trigger dropped)`, {
  timeout: 30_000,
}, async () => {
  const c = await newClient();
  const id = randomUUID();
  const first = await writeTransaction(
    c.client,
    insertStrict({ ...VALID, id, label: "pk change" }).sql,
    insertStrict({ ...VALID, id, label: "pk change" }).args,
  );
  const clientId = await clientIdOf(c.client);
  await waitFor(async () => {
    const rows = await sql`SELECT '\\x' || encode(lsn, 'hex') AS lsn
                             FROM electric.acknowledged_client_lsns WHERE client_id = ${clientId}`;
    return rows[0]?.lsn === clientLsnHex(first.rowid);
  }, { timeoutMs: 10_000, what: () => `the valid insert applied\n${serviceOutput()}` });
  await waitForEcho(c.client, 10_000, serviceOutput);

  const triggers = await c.client.query(
    "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'strict_t' AND name LIKE '%primarykey%'",
  );
  assert.equal(triggers.length, 1, "the client's primary-key trigger");
  await c.client.run(`DROP TRIGGER "${triggers[0].name}"`);
  const newId = randomUUID();
  const outputBefore = service.output().length;
  await writeTransaction(c.client, "UPDATE strict_t SET id = ? WHERE id = ?", [
    newId,
    id,
  ]);
  await expectRefused(c);
  const rows = await sql`SELECT id::text FROM strict_t WHERE id IN (${id}, ${newId})`;
  assert.deepEqual(rows.map((r) => r.id), [id], "the key is unchanged");
  const logged = service.output().slice(outputBefore);
  assert.match(
    logged,
    /Attempt to update table strict_t primary key\(s\) \[id\]/,
    logged.slice(-3000),
  );
});

test(`[${runtime}/${mode}] the service still applies valid writes from other clients`, {
  timeout: 60_000,
}, async () => {
  const c = await newClient();
  const id = randomUUID();
  await writeTransaction(c.client, [
    insertStrict({ ...VALID, id, label: "valid" }),
  ]);
  await waitFor(async () => {
    const rows = await sql`SELECT small, e::text FROM strict_t WHERE id = ${id}`;
    return rows.length === 1;
  }, { timeoutMs: 10_000, what: () => `the valid row in Postgres\n${serviceOutput()}` });
  await waitForEcho(c.client, 10_000, serviceOutput);
  assert.equal(c.satellite.connectivityState.status, "connected");
});
