/**
 * Two instances on one database with the real client (issue 15). Client 1 reaches the
 * service through a TCP balancer that sends it to instance A, client 2 connects to instance B
 * directly. Client 1's write reaches client 2. Then client 1 writes while its transaction is
 * held in Postgres by a row lock (taken by the test), A is killed (-9), the balancer now sends
 * to B, and the lock is released: A's backend (direct_writes) or A's subscription worker
 * (logical_replication) may still commit the write after A died, while the client, back on B,
 * sends it again. It must land exactly once (an audit trigger, ENABLE ALWAYS, records every
 * applied row change with its transaction id) and reach client 2. Last, client 1 disconnects,
 * a row is written, and a third instance joins after that: the balancer sends client 1 there
 * and it resumes (not reset: the new instance's window is the others') and gets the row.
 * Service runtime: INTEROP_RUNTIME; write mode: INTEROP_WRITE_MODE (see harness/writes.mjs).
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, connect as tcpConnect } from "node:net";
import postgres from "postgres";
import {
  createClient,
  currentRuntime,
  defer,
  freePort,
  freshDatabase,
  startService,
  stopPostgres,
  waitFor,
} from "./harness/mod.mjs";
import {
  clientIdOf,
  clientLsnHex,
  currentWriteMode,
  waitForEcho,
  writeModeEnv,
  writeTransaction,
} from "./harness/writes.mjs";
import { RESET_REASONS, storedSubscriptionIds } from "./harness/resume.mjs";

const runtime = currentRuntime();
const mode = currentWriteMode();
const TABLES = { counters: { fields: { id: "TEXT", n: "INT4" } } };
const ID = "balanced-counter";

/** @type {{ url: string, drop: () => Promise<void> }} */
let db;
/** @type {Awaited<ReturnType<typeof startService>>[]} */
const services = [];
/** @type {import("postgres").Sql} */
let sql;
/** @type {Awaited<ReturnType<typeof createClient>>} */
let one;
/** @type {Awaited<ReturnType<typeof createClient>>} */
let two;
/** Where the balancer sends new connections. */
let target = 0;
let earlier = "";

const output = () =>
  `--- services (${runtime}, ${mode}) ---\n${earlier}${
    services.map((s, i) => `--- instance ${i} ---\n${s.output().slice(-5000)}`).join("\n")
  }`;

/** A TCP balancer in front of the instances: new connections go to `services[target]`. */
async function startBalancer() {
  const port = await freePort();
  /** @type {Set<import("node:net").Socket>} */
  const sockets = new Set();
  const server = createServer((socket) => {
    const upstream = tcpConnect({ host: "127.0.0.1", port: services[target].httpPort });
    for (const s of [socket, upstream]) {
      sockets.add(s);
      s.on("error", () => {});
      s.on("close", () => {
        sockets.delete(s);
        socket.destroy();
        upstream.destroy();
      });
    }
    socket.pipe(upstream);
    upstream.pipe(socket);
  });
  await new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve(undefined)));
  defer("balancer", () => {
    for (const s of sockets) s.destroy();
    return new Promise((resolve) => server.close(() => resolve(undefined)));
  });
  return `http://127.0.0.1:${port}`;
}

async function counterUpdates() {
  const [row] = await sql`
    SELECT count(*)::int AS changes, count(DISTINCT xid)::int AS txs
      FROM audit WHERE op = 'UPDATE' AND id = ${ID}`;
  return { ...row };
}

/** @param {string} clientId @param {string} lsnHex */
async function waitForAcknowledged(clientId, lsnHex) {
  await waitFor(async () => {
    const rows = await sql`SELECT '\\x' || encode(lsn, 'hex') AS lsn
                             FROM electric.acknowledged_client_lsns WHERE client_id = ${clientId}`;
    return rows[0]?.lsn === lsnHex;
  }, { timeoutMs: 30_000, what: () => `acknowledged LSN ${lsnHex}\n${output()}` });
}

before(async () => {
  defer("postgres", stopPostgres);
  db = await freshDatabase();
  defer("database", () => db.drop());
  for (const id of ["interop_a", "interop_b"]) {
    const service = await startService({
      databaseUrl: db.url,
      runtime,
      env: { ...writeModeEnv(mode), ELECTRIC_INSTANCE_ID: id },
    });
    defer(`instance ${id}`, () => service.stop());
    services.push(service);
  }
  sql = postgres(db.url, { max: 3, onnotice: () => {}, connection: { TimeZone: "UTC" } });
  defer("sql", () => sql.end({ timeout: 1 }));
  await sql.unsafe(`
    CREATE TABLE counters (id text PRIMARY KEY, n int4 NOT NULL);
    CREATE TABLE audit (seq bigserial PRIMARY KEY, op text NOT NULL, id text NOT NULL,
                        xid bigint NOT NULL DEFAULT txid_current());
    CREATE FUNCTION audit_row() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO public.audit (op, id)
      VALUES (TG_OP, CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END);
      RETURN NULL;
    END $$;
    CREATE TRIGGER audit_row AFTER INSERT OR UPDATE OR DELETE ON counters
      FOR EACH ROW EXECUTE FUNCTION audit_row();
    ALTER TABLE counters ENABLE ALWAYS TRIGGER audit_row;
    CALL electric.electrify('counters');
  `);
  for (const service of services) {
    await waitFor(async () => {
      const res = await fetch(`${service.url}/api/migrations?dialect=sqlite`);
      await res.body?.cancel();
      return res.status === 200;
    }, { timeoutMs: 15_000, intervalMs: 100, what: () => `/api/migrations\n${output()}` });
  }
  const balanced = await startBalancer();
  one = await createClient({
    serviceUrl: balanced,
    tables: TABLES,
    diagnostics: output,
    userId: "user-one",
  });
  defer("client one", () => one.close());
  two = await createClient({
    serviceUrl: services[1].url,
    tables: TABLES,
    diagnostics: output,
    userId: "user-two",
  });
  defer("client two", () => two.close());
  for (const client of [one, two]) {
    await client.connect(15_000);
    await client.waitForRows(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'counters'",
      (rows) => rows.length === 1,
      15_000,
    );
    await client.sync("counters", {}, 15_000);
  }
}, { timeout: 120_000 });

test(`[${runtime}/${mode}] a write on instance A reaches a client of instance B; after A dies the client's pending write lands once through B`, {
  timeout: 120_000,
}, async (t) => {
  const oneId = await clientIdOf(one);
  const first = await writeTransaction(one, "INSERT INTO counters (id, n) VALUES (?, 0)", [ID]);
  await waitForAcknowledged(oneId, clientLsnHex(first.rowid));
  await waitForEcho(one, 10_000, output);
  await two.waitForRows(
    `SELECT n FROM counters WHERE id = '${ID}'`,
    (rows) => rows[0]?.n === 0,
    15_000,
  );

  const locker = await sql.reserve();
  /** @type {{ timestamp: string, rowid: number }} */
  let written;
  try {
    await locker`BEGIN`;
    await locker`SELECT n FROM counters WHERE id = ${ID} FOR UPDATE`;
    written = await writeTransaction(one, "UPDATE counters SET n = n + 1 WHERE id = ?", [ID]);
    const [blocked] = await waitFor(async () => {
      const rows = await sql`
        SELECT pid, backend_type FROM pg_stat_activity
         WHERE datname = current_database() AND wait_event_type = 'Lock'`;
      return rows.length > 0 ? rows : undefined;
    }, { timeoutMs: 15_000, what: () => `the write to wait for the row lock\n${output()}` });
    t.diagnostic(`blocked backend: ${blocked.backend_type} ${blocked.pid}`);
    const result = await services[0].kill("SIGKILL");
    earlier += `--- instance 0 killed (${result}) ---\n${services[0].output().slice(-3000)}\n`;
    target = 1;
  } finally {
    await locker`ROLLBACK`.catch(() => {});
    locker.release();
  }

  await waitForAcknowledged(oneId, clientLsnHex(written.rowid));
  await waitForEcho(one, 30_000, output);
  // A barrier: a later write lands after anything that could still arrive.
  const barrier = await writeTransaction(
    one,
    "UPDATE counters SET n = n + 10 WHERE id = ?",
    [ID],
  );
  await waitForAcknowledged(oneId, clientLsnHex(barrier.rowid));
  await waitForEcho(one, 10_000, output);
  const [row] = await sql`SELECT n FROM counters WHERE id = ${ID}`;
  assert.equal(row.n, 11, "the held write once, then the barrier");
  assert.deepEqual(await counterUpdates(), { changes: 2, txs: 2 });
  await two.waitForRows(
    `SELECT n FROM counters WHERE id = '${ID}'`,
    (rows) => rows[0]?.n === 11,
    15_000,
  );
});

test(`[${runtime}/${mode}] a client resumes on an instance that joined after it last synced`, {
  timeout: 120_000,
}, async () => {
  const subscriptionIds = await storedSubscriptionIds(one);
  assert.equal(subscriptionIds.length, 1, "one established subscription");
  one.electric.disconnect();
  await waitFor(() => !one.electric.isConnected, {
    timeoutMs: 5_000,
    what: "isConnected = false after disconnect()",
  });
  const statesBefore = one.states.length;
  await sql`INSERT INTO counters (id, n) VALUES ('while-away', 5)`;

  const joined = await startService({
    databaseUrl: db.url,
    runtime,
    env: { ...writeModeEnv(mode), ELECTRIC_INSTANCE_ID: "interop_c" },
  });
  defer("instance interop_c", () => joined.stop());
  services.push(joined);
  await waitFor(async () => {
    const res = await fetch(`${joined.url}/api/migrations?dialect=sqlite`);
    await res.body?.cancel();
    return res.status === 200;
  }, { timeoutMs: 15_000, intervalMs: 100, what: () => `/api/migrations\n${output()}` });
  target = services.length - 1;

  await one.connect(15_000);
  await one.waitForRows(
    "SELECT n FROM counters WHERE id = 'while-away'",
    (rows) => rows[0]?.n === 5,
    15_000,
  );
  const reasons = one.states.slice(statesBefore).join(", ");
  assert.ok(!RESET_REASONS.test(reasons), `no refusal to resume; states: ${reasons}\n${output()}`);
  assert.deepEqual(
    await storedSubscriptionIds(one),
    subscriptionIds,
    "the client kept its subscription (resumed, not reset)",
  );
  assert.match(joined.output(), /as a copy of "[^"]+" \(another instance's\)/);
});
