/**
 * Dead instances do not pin WAL (issue 15): with ELECTRIC_INSTANCE_EXPIRY=2, an instance
 * killed (-9) while its client writes has its slots (and in logical_replication mode its
 * subscription) dropped by the live one, which logs the WAL each slot held back. Its client
 * carries on on the live instance; when the dead one comes back under the same id it starts
 * fresh (new slots, registered again), the client moves back to it and resumes, and every
 * write is in Postgres exactly once with the client's replica equal to the table.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import postgres from "postgres";
import { instanceNames } from "../../src/storage/mod.ts";
import { INSTANCE_SETTINGS, Instances } from "../helpers/instances.ts";
import { type ScratchCluster, startScratchCluster } from "../helpers/pg_cluster.ts";
import { ResumingClient, type Row } from "../helpers/resuming_client.ts";
import { waitFor } from "../helpers/wait.ts";
import {
  AUDIT,
  checkAudit,
  replicaDiff,
  seeded,
  SETUP,
  TABLE,
  Writer,
} from "../helpers/write_workload.ts";

const IDS = ["live_one", "dead_one"];

for (const mode of ["direct_writes", "logical_replication"]) {
  test(`a dead instance's slots are dropped after ELECTRIC_INSTANCE_EXPIRY (${mode})`, {
    timeout: 60_000,
  }, async () => {
    let cluster: ScratchCluster | undefined;
    let sql: postgres.Sql | undefined;
    let nodes: Instances | undefined;
    let client: ResumingClient | undefined;
    try {
      cluster = await startScratchCluster({ walLevel: "logical", settings: INSTANCE_SETTINGS });
      sql = postgres(cluster.url, { onnotice: () => {}, max: 2 });
      const database = new URL(cluster.url).pathname.slice(1);
      const dead = instanceNames(database, IDS[1]);
      await sql.unsafe(SETUP);
      nodes = await Instances.create(cluster.url, IDS, {
        ELECTRIC_WRITE_TO_PG_MODE: mode,
        ELECTRIC_INSTANCE_EXPIRY: "2",
      });
      const all = nodes;
      await all.startAll();
      await sql`CALL electric.electrify('fault_rows')`;
      await sql.unsafe(AUDIT);

      // The client's home is the instance that will die.
      let home = 1;
      client = new ResumingClient({
        host: "127.0.0.1",
        port: all.list[1].httpPort,
        endpoint: () => all.endpoint(home),
        table: TABLE,
        random: seeded(7),
      });
      const writer = new Writer(0, client, seeded(8));
      client.start();
      const c = client;
      const state = () =>
        `port ${c.port}, ready ${c.ready}, sent ${c.sent.length}, acknowledged ${c.acknowledged}, ` +
        `restarts ${c.restarts}, last error ${c.lastError}\n${all.tails()}`;
      const writeSome = async (what: string) => {
        const target = c.acknowledged + 5;
        await waitFor(() => {
          if (c.ready && c.inFlight < 5) writer.writeNext();
          return c.acknowledged >= target;
        }, { timeoutMs: 20_000, intervalMs: 20, what: () => `writes ${what}: ${state()}` });
      };
      await waitFor(() => c.ready, { timeoutMs: 20_000, what: () => `the client: ${state()}` });
      await writeSome("on the instance that will die");

      await all.kill(1);
      for (let i = 0; i < 3; i++) writer.writeNext(); // written while it moves
      await writeSome("on the live instance");
      assert.equal(c.port, all.list[0].httpPort);

      const pinned = async () => {
        const slots = await sql!`
          SELECT slot_name FROM pg_replication_slots
           WHERE slot_name IN (${dead.mainSlot}, ${dead.liveSlot})`;
        const subs = await sql!`SELECT 1 FROM pg_subscription WHERE subname = ${dead.subscription}`;
        const rows =
          await sql!`SELECT 1 FROM electric.instances WHERE main_slot = ${dead.mainSlot}`;
        return slots.length + subs.length + rows.length;
      };
      await waitFor(async () => await pinned() === 0, {
        timeoutMs: 20_000,
        intervalMs: 100,
        what: () => `the dead instance's slots to be dropped:\n${all.tails()}`,
      });
      const log = all.output(0);
      for (const slot of [dead.mainSlot, dead.liveSlot]) {
        assert.match(
          log,
          new RegExp(
            `Dropped replication slot "${slot}" of instance "dead_one", gone for \\d+ s ` +
              `\\(over ELECTRIC_INSTANCE_EXPIRY\\): it held back \\d+ bytes`,
          ),
        );
      }
      if (mode === "logical_replication") {
        assert.match(log, new RegExp(`Dropped subscription "${dead.subscription}"`));
      }
      const [position] = await sql`
        SELECT 1 FROM electric.replication_positions WHERE slot_name = ${dead.mainSlot}`;
      assert.equal(position, undefined, "its persisted position went with its slots");

      // It comes back under the same id: fresh slots; its client moves back and resumes.
      await all.restart(1);
      assert.match(all.output(1), new RegExp(`Created replication slot "${dead.mainSlot}"`));
      assert.equal(
        await pinned(),
        mode === "logical_replication" ? 4 : 3,
        "slots, row (and subscription) again",
      );
      home = 1;
      c.reconnect();
      await waitFor(() => c.port === all.list[1].httpPort && c.ready, {
        timeoutMs: 20_000,
        what: () => `the client back on the returned instance: ${state()}`,
      });
      await writeSome("on the returned instance");

      await waitFor(async () => {
        const rows = await sql!<Row[]>`SELECT id, owner::text, n::text, w FROM fault_rows`;
        const inPostgres = new Map(rows.map((r) => [r.id!, { ...r }]));
        return c.acknowledged === c.sent.length && replicaDiff(c, inPostgres).length === 0;
      }, { timeoutMs: 20_000, intervalMs: 100, what: () => `the replica equal: ${state()}` });
      assert.deepEqual(c.problems, []);
      const audit = await checkAudit(sql, [writer]);
      assert.deepEqual(audit.errors.slice(0, 10), [], "every write applied exactly once");
    } catch (error) {
      console.error(nodes?.tails(6000));
      throw error;
    } finally {
      await client?.stop();
      await nodes?.stopAll();
      await sql?.end({ timeout: 1 });
      await cluster?.stop();
    }
  });
}
