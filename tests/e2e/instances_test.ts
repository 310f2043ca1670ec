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
import { ResumingClient, type Row } from "../helpers/resuming_client.ts";
import { waitFor } from "../helpers/wait.ts";
import {
  AUDIT,
  checkAudit,
  replicaDiff,
  seeded,
  SETUP,
  TABLE,
  toNumber,
  Writer,
} from "../helpers/write_workload.ts";

const SEED = 20261210;
const CLIENTS = 6;
const IDS = ["node_a", "node_b", "node_c"];
const MAX_IN_FLIGHT = 20;
const MODES = (process.env.INSTANCES_WRITE_MODES ?? "direct_writes,logical_replication").split(
  ",",
);

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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

        const writers = Array.from({ length: CLIENTS }, (_, index) => {
          const home = index % IDS.length;
          const client = new ResumingClient({
            host: "127.0.0.1",
            port: all.list[home].httpPort,
            endpoint: () => all.endpoint(home),
            table: TABLE,
            random: seeded(SEED + 1 + index),
          });
          clients.push(client);
          client.start();
          return new Writer(index, client, seeded(SEED + 1001 + index));
        });
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

        let writing = true;
        const loops = writers.map(async (writer) => {
          while (writing) {
            if (writer.client.inFlight < MAX_IN_FLIGHT) writer.writeNext();
            await pause(10 + writer.random() * 30);
          }
        });
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
        writing = false;
        await Promise.all(loops);

        // The final resend: each client reconnects and sends whatever Postgres does not hold.
        for (const client of clients) client.reconnect();
        await waitFor(async () => {
          const rows = await sql!<{ client_id: string; lsn: Uint8Array }[]>`
          SELECT client_id, lsn FROM electric.acknowledged_client_lsns`;
          const held = new Map(rows.map((r) => [r.client_id, toNumber(r.lsn)]));
          return clients.every((c) => held.get(c.id) === c.sent.length);
        }, {
          timeoutMs: 30_000,
          intervalMs: 100,
          what: () => `every write in Postgres:\n${state()}`,
        });

        const tableRows = async () =>
          new Map(
            (await sql!<Row[]>`SELECT id, owner::text, n::text, w FROM fault_rows`).map((r) => [
              r.id!,
              { ...r },
            ]),
          );
        let inPostgres = await tableRows();
        const converged = await waitFor(async () => {
          inPostgres = await tableRows();
          return clients.every((c) => replicaDiff(c, inPostgres).length === 0);
        }, { timeoutMs: 30_000, intervalMs: 100 }).catch(() => false);
        if (!converged) {
          const diffs = clients.map((c, i) => ({ client: i, diff: replicaDiff(c, inPostgres) }))
            .filter((d) => d.diff.length > 0);
          assert.fail(`Replicas differ from Postgres:\n${JSON.stringify(diffs.slice(0, 3))}`);
        }
        const problems = clients.flatMap((c, i) => c.problems.map((p) => `client ${i}: ${p}`));
        assert.deepEqual(problems, [], "no acknowledged write taken back, no protocol error");
        const audit = await checkAudit(sql, writers);
        assert.deepEqual(audit.errors.slice(0, 10), [], "every write applied exactly once");
        for (const writer of writers) {
          for (const [id, { row }] of writer.own) {
            assert.deepEqual(inPostgres.get(id), row, `own row ${id} as its last write left it`);
          }
        }
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
