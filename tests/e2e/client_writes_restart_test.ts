/**
 * Many clients writing at once, and the service killed (SIGKILL) in the middle of it
 * (postgres-side.md §8.5): after a restart every client is asked for its writes from the last
 * one Postgres holds, re-sends the rest, and every write is applied exactly once. An audit
 * trigger (ENABLE ALWAYS) records every applied row change, so a write applied twice shows as
 * two audit rows for one id.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import postgres from "postgres";
import { findFreePort } from "../../src/embedded/mod.ts";
import {
  connectWriters,
  CREATE_TABLE,
  WritingClient,
} from "../../scripts/bench/client_writes/writing_clients.ts";
import { LightClient } from "../../scripts/bench/sync/light_client.ts";
import { freshDatabase } from "../helpers/pg_cluster.ts";
import { serviceEnv } from "../helpers/service_config.ts";
import { type ServiceProcess, startService } from "../helpers/service_process.ts";
import { waitFor } from "../helpers/wait.ts";

const CLIENTS = 100;
const FIRST_WAVE = 10;
const TOTAL = 50;

test("100 clients writing at once: a kill -9 in the middle loses no write and applies none twice", {
  timeout: 180_000,
}, async () => {
  const db = await freshDatabase();
  const sql = postgres(db.url, { onnotice: () => {}, max: 2 });
  const port = await findFreePort();
  const env = await serviceEnv(db.url, port, {
    AUTH_MODE: "insecure",
    ELECTRIC_WRITE_TO_PG_MODE: "direct_writes",
  });
  let service: ServiceProcess | undefined;
  let clients: WritingClient[] = [];
  const count = async () =>
    (await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM client_writes`)[0].n;
  try {
    await sql.unsafe(CREATE_TABLE);
    service = startService(env);
    await service.waitForStatus(port, 200, 30_000);
    await sql`CALL electric.electrify('client_writes')`;
    await sql.unsafe(`
      CREATE TABLE write_audit (id text NOT NULL, xid xid8 NOT NULL DEFAULT pg_current_xact_id());
      CREATE FUNCTION audit_write() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN INSERT INTO write_audit (id) VALUES (NEW.id); RETURN NEW; END $$;
      CREATE TRIGGER audit AFTER INSERT OR UPDATE ON client_writes
        FOR EACH ROW EXECUTE FUNCTION audit_write();
      ALTER TABLE client_writes ENABLE ALWAYS TRIGGER audit;`);
    await waitFor(async () => {
      const res = await fetch(`http://127.0.0.1:${port}/api/migrations?dialect=sqlite`);
      await res.body?.cancel();
      return res.status === 200;
    }, { timeoutMs: 30_000, what: "the migration of client_writes" });

    clients = await connectWriters("127.0.0.1", port, CLIENTS);
    for (const client of clients) {
      for (let n = 1; n <= FIRST_WAVE; n++) client.write(n);
    }
    await waitFor(() => clients.every((c) => c.echoed === FIRST_WAVE), {
      timeoutMs: 60_000,
      what: "the echoes of the first writes",
    });
    // The second wave is killed in flight: once some of it is in Postgres.
    for (const client of clients) {
      for (let n = FIRST_WAVE + 1; n <= TOTAL; n++) client.write(n);
    }
    await waitFor(async () => (await count()) >= CLIENTS * (FIRST_WAVE + 5), {
      timeoutMs: 60_000,
      intervalMs: 2,
      what: "part of the second wave in Postgres",
    });
    service.kill();
    await service.exited;
    const atKill = await count();
    console.log(`at the kill: ${atKill} of ${CLIENTS * TOTAL} writes in Postgres`);

    service = startService(env);
    await service.waitForStatus(port, 200, 30_000);
    const before = clients;
    clients = [];
    for (const old of before) {
      old.close();
      const again = await WritingClient.connect(
        "127.0.0.1",
        port,
        old.index,
        old.light.id,
        old.base,
      );
      clients.push(again);
      // Asked from the last write Postgres holds: everything after it is sent again.
      const applied = again.appliedUpTo!;
      assert.ok(applied >= FIRST_WAVE && applied <= TOTAL, `client ${old.index}: ${applied}`);
      for (let n = applied + 1; n <= TOTAL; n++) again.write(n);
    }
    await waitFor(async () => (await count()) === CLIENTS * TOTAL, {
      timeoutMs: 60_000,
      what: `all ${CLIENTS * TOTAL} writes in Postgres`,
    });
    const twice = await sql`SELECT id, count(*)::int AS n FROM write_audit
                             GROUP BY id HAVING count(*) <> 1 LIMIT 5`;
    assert.deepEqual(twice.map((r) => ({ ...r })), [], "every write applied exactly once");
    const [{ audited }] = await sql`SELECT count(DISTINCT id)::int AS audited FROM write_audit`;
    assert.equal(audited, CLIENTS * TOTAL);
    const positions = await sql`SELECT count(*)::int AS n FROM electric.acknowledged_client_lsns
                                 WHERE lsn = ${new Uint8Array([0, 0, 0, 0, 0, 0, 0, TOTAL])}`;
    assert.equal(positions[0].n, CLIENTS, "every client's position is its last write");
  } catch (error) {
    console.error(service?.output().slice(-4000));
    throw error;
  } finally {
    for (const client of clients) client.close();
    service?.kill();
    await sql.end({ timeout: 1 });
    await db.drop();
  }
});

test(
  "a client that reconnects while its write still waits for Postgres is asked for the writes after it",
  {
    timeout: 60_000,
  },
  async () => {
    const db = await freshDatabase();
    const sql = postgres(db.url, { onnotice: () => {}, max: 2 });
    const port = await findFreePort();
    const env = await serviceEnv(db.url, port, {
      AUTH_MODE: "insecure",
      ELECTRIC_WRITE_TO_PG_MODE: "direct_writes",
    });
    let service: ServiceProcess | undefined;
    let first: WritingClient | undefined;
    let again: LightClient | undefined;
    const locker = await sql.reserve();
    try {
      await sql.unsafe(CREATE_TABLE);
      service = startService(env);
      await service.waitForStatus(port, 200, 30_000);
      await sql`CALL electric.electrify('client_writes')`;
      await waitFor(async () => {
        const res = await fetch(`http://127.0.0.1:${port}/api/migrations?dialect=sqlite`);
        await res.body?.cancel();
        return res.status === 200;
      }, { timeoutMs: 30_000, what: "the migration of client_writes" });
      first = await WritingClient.connect("127.0.0.1", port, 0);
      // The write reaches the service but waits in its writer on a lock held here.
      await locker`BEGIN`;
      await locker`LOCK TABLE client_writes IN ACCESS EXCLUSIVE MODE`;
      first.write(1);
      await waitFor(
        async () =>
          (await sql`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'
                   AND query LIKE '%acknowledged_client_lsns%'`).length > 0,
        {
          timeoutMs: 10_000,
          what: "the write to wait on the lock",
        },
      );
      first.close();
      again = await LightClient.connect({ host: "127.0.0.1", port }, first.light.id);
      await again.authenticate("writer-0");
      await again.startReplication();
      await locker`COMMIT`;
      await waitFor(() => again!.uploadFrom, { timeoutMs: 15_000, what: "the service to ask" });
      // Asked after write 1, which Postgres now holds: it is not sent (and applied) again.
      assert.deepEqual([...again.uploadFrom!], [0, 0, 0, 0, 0, 0, 0, 1]);
    } catch (error) {
      console.error(service?.output().slice(-4000));
      throw error;
    } finally {
      await locker`ROLLBACK`.catch(() => {});
      locker.release();
      first?.close();
      again?.close();
      service?.kill();
      await sql.end({ timeout: 1 });
      await db.drop();
    }
  },
);
