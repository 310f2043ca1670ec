/**
 * The service is killed (SIGKILL) between a client write and its acknowledgement; after a
 * restart on the same ports the client reconnects by itself and the write is in Postgres
 * exactly once (postgres-side.md §8.5: Postgres records the applied client LSNs, the client
 * re-sends everything after the LSN the service asks for).
 *
 * a) The client transaction is held in Postgres by a row lock (taken by the test) when the
 *    service dies, so it cannot have committed (direct_writes: the writer's connection dies
 *    with the service and Postgres rolls the transaction back).
 * b) The service dies as soon as the write is visible in Postgres, usually before the client
 *    has seen the echo (reported as a diagnostic); the client may then re-send it, which must
 *    change nothing.
 *
 * Duplicates are detected by an audit trigger (ENABLE ALWAYS) recording every applied row
 * change with its transaction id.
 * Service runtime: INTEROP_RUNTIME; write mode: INTEROP_WRITE_MODE (see harness/writes.mjs).
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
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
  oplogOf,
  startWriteScenario,
  waitForEcho,
  writeModeEnv,
  writeTransaction,
} from "./harness/writes.mjs";

const runtime = currentRuntime();
const mode = currentWriteMode();
const TABLES = { counters: { fields: { id: "TEXT", n: "INT4" } } };
const ID = "restart-counter";

/** @type {{ url: string }} */
let db;
/** @type {Awaited<ReturnType<typeof startService>>} */
let service;
/** @type {string} all output of previous service instances */
let earlierOutput = "";
/** @type {import("postgres").Sql} */
let sql;
/** @type {Awaited<ReturnType<typeof createClient>>} */
let a;
/** @type {string} */
let aId;

const serviceOutput = () => {
  const out = earlierOutput + (service?.output() ?? "(not started)");
  return `--- service output (${runtime}, ${mode}), last 8000 chars ---\n${
    out.slice(-8000)
  }`;
};

/** Kills the service with SIGKILL and starts a new one on the same ports. */
async function killService() {
  const result = await service.kill("SIGKILL");
  earlierOutput += `${service.output()}\n--- killed (${result}) ---\n`;
}

async function restartService() {
  const previous = service;
  service = await startService({
    databaseUrl: db.url,
    runtime,
    env: writeModeEnv(mode),
    httpPort: previous.httpPort,
    proxyPort: previous.proxyPort,
    publisherPort: previous.publisherPort,
  });
}

/** @param {string} lsnHex */
async function waitForAcknowledged(lsnHex, timeoutMs = 30_000) {
  /** @type {unknown} */
  let last;
  await waitFor(async () => {
    last = await sql`SELECT '\\x' || encode(lsn, 'hex') AS lsn
                       FROM electric.acknowledged_client_lsns WHERE client_id = ${aId}`;
    return /** @type {any[]} */ (last)[0]?.lsn === lsnHex;
  }, {
    timeoutMs,
    what: () =>
      `acknowledged LSN ${lsnHex}; last: ${JSON.stringify(last)}; client states: [${
        a.states.join(", ")
      }]\n${serviceOutput()}`,
  });
}

async function counterUpdates() {
  const rows = await sql`
    SELECT count(*)::int AS changes, count(DISTINCT xid)::int AS txs
      FROM audit WHERE tbl = 'counters' AND op = 'UPDATE' AND id = ${ID}`;
  return { ...rows[0] };
}

/** Waits until the client is connected again (it reconnects by itself, with backoff). */
async function waitForReconnect() {
  await waitFor(
    () =>
      /** @type {any} */ (a.electric).satellite.connectivityState?.status ===
        "connected",
    {
      timeoutMs: 45_000,
      intervalMs: 50,
      what: () =>
        `the client to reconnect; states: [${a.states.join(", ")}]\n${serviceOutput()}`,
    },
  );
}

before(async () => {
  ({ db, service, sql } = await startWriteScenario({
    runtime,
    mode,
    connections: 3,
    diagnostics: serviceOutput,
    schema: `
    CREATE TABLE counters (id text PRIMARY KEY, n int4 NOT NULL);
    CREATE TABLE audit (seq bigserial PRIMARY KEY, tbl text NOT NULL, op text NOT NULL,
                        id text NOT NULL, xid bigint NOT NULL DEFAULT txid_current());
    CREATE FUNCTION audit_row() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO public.audit (tbl, op, id)
      VALUES (TG_TABLE_NAME, TG_OP, CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END);
      RETURN NULL;
    END $$;
    CREATE TRIGGER audit_row AFTER INSERT OR UPDATE OR DELETE ON counters
      FOR EACH ROW EXECUTE FUNCTION audit_row();
    ALTER TABLE counters ENABLE ALWAYS TRIGGER audit_row;
    CALL electric.electrify('counters');
  `,
  }));
  a = await createClient({
    serviceUrl: service.url,
    tables: TABLES,
    diagnostics: serviceOutput,
  });
  defer("client", () => a.close());
  await a.connect(15_000);
  await a.waitForRows(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'counters'",
    (rows) => rows.length === 1,
    15_000,
  );
  await a.sync("counters", {}, 15_000);
  aId = await clientIdOf(a);
  const first = await writeTransaction(
    a,
    "INSERT INTO counters (id, n) VALUES (?, 0)",
    [ID],
  );
  await waitForAcknowledged(clientLsnHex(first.rowid));
  await waitForEcho(a, 10_000, serviceOutput);
}, { timeout: 120_000 });

test(`[${runtime}/${mode}] 8a. kill -9 while the client's transaction is held in Postgres: applied exactly once after restart`, {
  timeout: 120_000,
}, async (t) => {
  const locker = await sql.reserve();
  /** @type {{ timestamp: string, rowid: number }} */
  let written;
  try {
    await locker`BEGIN`;
    await locker`SELECT n FROM counters WHERE id = ${ID} FOR UPDATE`;
    written = await writeTransaction(
      a,
      "UPDATE counters SET n = n + 1 WHERE id = ?",
      [ID],
    );
    // The service's write (or, in logical_replication mode, the apply worker's) waits on the lock.
    const [blocked] = await waitFor(async () => {
      const rows = await sql`
        SELECT pid, backend_type FROM pg_stat_activity
         WHERE datname = current_database() AND wait_event_type = 'Lock'`;
      return rows.length > 0 ? rows : undefined;
    }, {
      timeoutMs: 15_000,
      what: () => `the client's write to wait for the row lock\n${serviceOutput()}`,
    });
    t.diagnostic(`blocked backend: ${blocked.backend_type} ${blocked.pid}`);
    await killService();
    await locker`ROLLBACK`;
    if (mode === "direct_writes") {
      // The writer sends each client transaction as one message (BEGIN … COMMIT), so its
      // backend may finish and commit it after the service died; either way it must not be
      // lost or applied twice, which the checks after the restart establish.
      await waitFor(async () => {
        const rows =
          await sql`SELECT 1 FROM pg_stat_activity WHERE pid = ${blocked.pid}`;
        return rows.length === 0;
      }, {
        timeoutMs: 15_000,
        what: `the killed service's backend ${blocked.pid} to end`,
      });
      const [row] = await sql`SELECT n FROM counters WHERE id = ${ID}`;
      assert.ok(row.n === 0 || row.n === 1, `committed at most once before the restart (n = ${row.n})`);
      assert.deepEqual(await counterUpdates(), { changes: row.n, txs: row.n });
    }
  } finally {
    locker.release();
  }
  assert.ok(
    (await oplogOf(a)).length > 0,
    "the client has not seen the echo yet",
  );

  await restartService();
  await waitForReconnect();
  await waitForAcknowledged(clientLsnHex(written.rowid));
  await waitForEcho(a, 20_000, serviceOutput);
  const [row] = await sql`SELECT n FROM counters WHERE id = ${ID}`;
  assert.equal(row.n, 1);
  assert.deepEqual(await counterUpdates(), { changes: 1, txs: 1 });
  await a.waitForRows(
    `SELECT n FROM counters WHERE id = '${ID}'`,
    (rows) => rows[0]?.n === 1,
    10_000,
  );
});

test(`[${runtime}/${mode}] 8b. kill -9 right after the commit, before the echo: nothing lost or duplicated`, {
  timeout: 120_000,
}, async (t) => {
  await waitForReconnect();
  const written = await writeTransaction(
    a,
    "UPDATE counters SET n = n + 1 WHERE id = ?",
    [ID],
  );
  await waitFor(async () => {
    const rows = await sql`SELECT n FROM counters WHERE id = ${ID}`;
    return rows[0]?.n === 2;
  }, {
    timeoutMs: 15_000,
    intervalMs: 2,
    what: () => `the write in Postgres\n${serviceOutput()}`,
  });
  await killService();
  const pending = await oplogOf(a);
  t.diagnostic(
    pending.length > 0
      ? "killed before the client saw the echo (the window was hit)"
      : "the echo reached the client before the kill (window missed; still checked)",
  );

  await restartService();
  await waitForReconnect();
  await waitForAcknowledged(clientLsnHex(written.rowid));
  await waitForEcho(a, 20_000, serviceOutput);
  // A barrier: a later write is applied after anything the reconnect re-sent.
  const barrier = await writeTransaction(
    a,
    "UPDATE counters SET n = n + 10 WHERE id = ?",
    [ID],
  );
  await waitForAcknowledged(clientLsnHex(barrier.rowid));
  await waitForEcho(a, 10_000, serviceOutput);

  const [row] = await sql`SELECT n FROM counters WHERE id = ${ID}`;
  assert.equal(row.n, 12);
  const updates = await counterUpdates();
  // 8a's update, this one, the barrier; a re-sent copy would be an extra transaction.
  assert.deepEqual(updates, { changes: 3, txs: 3 });
  await a.waitForRows(
    `SELECT n FROM counters WHERE id = '${ID}'`,
    (rows) => rows[0]?.n === 12,
    10_000,
  );
});
