/**
 * Three instances on one database (issue 15), in each write mode: they start at the same
 * moment on a fresh database (the schema is installed once; each makes its own slots and, in
 * logical_replication mode, its own subscription); a migration through one instance's proxy
 * reaches the clients of every instance; clients spread over the instances write (their own
 * rows and rows they all update) and see each other's writes; one instance is killed (-9)
 * while its clients write and they move to the others; then all three are restarted one after
 * the other under the same load. At the end every write is in Postgres exactly once (an audit
 * trigger records each applied client transaction and row change) and every client's replica
 * equals the table.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import postgres from "postgres";
import { INSTALL_STEPS, instanceNames } from "../../src/storage/mod.ts";
import { INSTANCE_SETTINGS, Instances, proxyUrl } from "../helpers/instances.ts";
import { type ScratchCluster, startScratchCluster } from "../helpers/pg_cluster.ts";
import type { ResumingClient } from "../helpers/resuming_client.ts";
import { waitFor } from "../helpers/wait.ts";
import {
  AUDIT,
  checkFinalState,
  keepWriting,
  SETUP,
  startWriters,
} from "../helpers/write_workload.ts";

const SEED = 20261210;
const CLIENTS = 6;
const IDS = ["node_a", "node_b", "node_c"];
const MODES = (process.env.INSTANCES_WRITE_MODES ?? "direct_writes,logical_replication").split(
  ",",
);

for (const mode of MODES) {
  test(
    `three instances on one database (${mode}): shared writes, kill -9, rolling restart, migrations`,
    {
      timeout: 110_000,
    },
    async () => {
      let cluster: ScratchCluster | undefined;
      let sql: postgres.Sql | undefined;
      let nodes: Instances | undefined;
      const clients: ResumingClient[] = [];
      try {
        cluster = await startScratchCluster({ walLevel: "logical", settings: INSTANCE_SETTINGS });
        sql = postgres(cluster.url, { onnotice: () => {}, max: 2 });
        const database = new URL(cluster.url).pathname.slice(1);
        nodes = await Instances.create(cluster.url, IDS, { ELECTRIC_WRITE_TO_PG_MODE: mode });
        const all = nodes;

        // A fresh database, three instances starting at once.
        await all.startAll();
        const installs = IDS.filter((_, i) => /Installed the electric schema/.test(all.output(i)));
        assert.equal(installs.length, 1, `the schema is installed once:\n${all.tails()}`);
        const [{ steps }] =
          await sql`SELECT count(*)::int AS steps FROM electric.schema_migrations`;
        assert.equal(steps, INSTALL_STEPS.flatMap((s) => s.records).length);
        const names = IDS.map((id) => instanceNames(database, id));
        const registered = await sql`SELECT main_slot FROM electric.instances ORDER BY main_slot`;
        assert.deepEqual(registered.map((r) => r.main_slot), names.map((n) => n.mainSlot).sort());
        const slots = await sql`
        SELECT slot_name FROM pg_replication_slots WHERE NOT temporary ORDER BY slot_name`;
        assert.deepEqual(
          slots.map((r) => r.slot_name),
          names.flatMap((n) => [n.mainSlot, n.liveSlot]).sort(),
        );
        if (mode === "logical_replication") {
          const subs = await sql`SELECT subname FROM pg_subscription ORDER BY subname`;
          assert.deepEqual(subs.map((r) => r.subname), names.map((n) => n.subscription).sort());
        }

        // The table, electrified through instance A's proxy.
        await sql.unsafe(SETUP);
        const proxyA = postgres(proxyUrl(cluster.url, all.list[0].proxyPort), {
          max: 1,
          onnotice: () => {},
        });
        try {
          await proxyA.unsafe("ALTER TABLE fault_rows ENABLE ELECTRIC").simple();
        } finally {
          await proxyA.end();
        }
        await sql.unsafe(AUDIT);

        const writers = startWriters(CLIENTS, {
          seed: SEED,
          connect: (index) => {
            const home = index % IDS.length;
            return {
              host: "127.0.0.1",
              port: all.list[home].httpPort,
              endpoint: () => all.endpoint(home),
            };
          },
        });
        clients.push(...writers.map((w) => w.client));
        const state = () =>
          clients.map((c, i) =>
            `client ${i}: port ${c.port}, ready ${c.ready}, sent ${c.sent.length}, ` +
            `acknowledged ${c.acknowledged}, connections ${c.connections}, restarts ${c.restarts}, ` +
            `last error ${c.lastError}`
          ).join("\n") + `\n${all.tails()}`;
        await waitFor(() => clients.every((c) => c.ready), {
          timeoutMs: 30_000,
          what: () => `every client connected and subscribed:\n${state()}`,
        });
        assert.equal(
          new Set(clients.map((c) => c.port)).size,
          IDS.length,
          "clients on every instance",
        );

        const writing = keepWriting(writers);
        const writingAgain = async (what: string) => {
          const before = clients.map((c) => c.acknowledged);
          await waitFor(() => clients.every((c, i) => c.ready && c.acknowledged >= before[i] + 2), {
            timeoutMs: 30_000,
            what: () => `every client writing ${what}:\n${state()}`,
          });
        };
        await writingAgain("on three instances");

        // A migration through instance B's proxy reaches the clients of all three.
        const migrationsBefore = clients.map((c) => c.migrations);
        const proxyB = postgres(proxyUrl(cluster.url, all.list[1].proxyPort), {
          max: 1,
          onnotice: () => {},
        });
        try {
          await proxyB.unsafe(
            "CREATE TABLE other_items (id text PRIMARY KEY); ALTER TABLE other_items ENABLE ELECTRIC",
          ).simple();
        } finally {
          await proxyB.end();
        }
        await waitFor(() => clients.every((c, i) => c.migrations > migrationsBefore[i]), {
          timeoutMs: 20_000,
          what: () => `the migration on every client:\n${state()}`,
        });

        // kill -9 of C while its clients write: they carry on on A and B.
        await all.kill(2);
        await writingAgain("after instance C was killed");
        assert.ok(clients.every((c) => c.port !== all.list[2].httpPort));
        await all.restart(2);

        // A rolling restart under load.
        for (let i = 0; i < IDS.length; i++) {
          await all.stop(i);
          await writingAgain(`while instance ${IDS[i]} is down`);
          await all.restart(i);
        }
        await writingAgain("after the rolling restart");
        await writing.stop();

        const { audit, inPostgres } = await checkFinalState(sql, { writers, state });
        for (let i = 0; i < IDS.length; i++) {
          assert.doesNotMatch(all.output(i), /Dropped replication slot/, "nothing expired");
        }
        console.log(
          `three instances (${mode}): ${
            JSON.stringify({
              transactions: clients.reduce((n, c) => n + c.sent.length, 0),
              resent: clients.reduce((n, c) => n + c.resent, 0),
              reconnects: clients.reduce((n, c) => n + c.connections - 1, 0),
              freshStarts: clients.reduce((n, c) => n + c.restarts, 0),
              auditedTransactions: audit.transactions,
              rows: inPostgres.size,
            })
          }`,
        );
      } catch (error) {
        console.error(nodes?.tails(6000));
        throw error;
      } finally {
        await Promise.all(clients.map((c) => c.stop()));
        await nodes?.stopAll();
        await sql?.end({ timeout: 1 });
        await cluster?.stop();
      }
    },
  );
}
