/**
 * Faults during client writes (postgres-side.md §8.5, satellite-protocol.md §3.5): several
 * clients write transactions continuously (inserts, updates and deletes of their own rows,
 * updates of shared rows that other clients update too, so merges happen) while the service is
 * killed (SIGKILL) again and again and Postgres is restarted (fast and immediate shutdown).
 * Each client keeps a replica of the table from the server stream, reconnects with backoff,
 * resumes with its id and re-sends from the write the service says Postgres holds.
 *
 * Checked: no acknowledged write is ever taken back (the client records it if the service
 * reports less than it had seen echoed or reported); after a final reconnect every write issued
 * is in Postgres exactly once (an audit trigger, ENABLE ALWAYS, records each applied client
 * transaction through its position row and each row change with its transaction id); a client's
 * own row ends as its write left it; and every client's replica equals the table in Postgres.
 *
 * FAULT_SEED, FAULT_CLIENTS and FAULT_WRITE_MODES (comma-separated; default direct_writes, then
 * logical_replication) change the run; FAULT_LOG_DIR keeps the service's whole output. Postgres
 * runs with synchronous_commit on: with it off, an immediate shutdown may lose commits the
 * service already reported, which is that setting's promise, not a fault. Figures are in
 * docs/reliability.md. The workload and the final checks are tests/helpers/write_workload.ts,
 * shared with instances_test.ts; the faults are this file's.
 */
import { test } from "node:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { findFreePort } from "../../src/embedded/mod.ts";
import { type ScratchCluster, startScratchCluster } from "../helpers/pg_cluster.ts";
import type { ResumingClient } from "../helpers/resuming_client.ts";
import {
  AUDIT,
  checkFinalState,
  keepWriting,
  seeded,
  SETUP,
  startWriters,
} from "../helpers/write_workload.ts";
import { serviceEnv } from "../helpers/service_config.ts";
import { type ServiceProcess, startService } from "../helpers/service_process.ts";
import { waitFor } from "../helpers/wait.ts";

const SEED = Number(process.env.FAULT_SEED ?? 20261205);
const CLIENTS = Number(process.env.FAULT_CLIENTS ?? 12);
const MODES = (process.env.FAULT_WRITE_MODES ?? "direct_writes,logical_replication").split(",");
const KILLS = 5;

type Fault = "kill" | "restart postgres (fast)" | "restart postgres (immediate)";

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Figures {
  mode: string;
  kills: number;
  postgresRestarts: number;
  transactions: number;
  operations: number;
  resent: number;
  reconnects: number;
  freshStarts: number;
  auditedTransactions: number;
  auditedRowChanges: number;
  rows: number;
  replicaRowsCompared: number;
  doubled: number;
  lost: number;
  seconds: number;
}

for (const mode of MODES) {
  test(
    `kill -9 and Postgres restarts during writes from ${CLIENTS} clients (${mode}): every write once, every replica equal`,
    {
      timeout: 110_000,
    },
    async () => {
      const figures = await faultRun(mode);
      console.log(`faults during writes: ${JSON.stringify(figures)}`);
    },
  );
}

async function faultRun(mode: string): Promise<Figures> {
  const started = Date.now();
  const random = seeded(SEED);
  let cluster: ScratchCluster | undefined;
  let sql: postgres.Sql | undefined;
  let service: ServiceProcess | undefined;
  let earlierOutput = "";
  const clients: ResumingClient[] = [];
  const output = () => `${earlierOutput}${service?.output() ?? ""}`.slice(-6000);
  try {
    cluster = await startScratchCluster({
      walLevel: "logical",
      // The subscription (logical_replication mode) reconnects soon after the service restarts.
      settings: { synchronous_commit: "on", wal_retrieve_retry_interval: "100ms" },
    });
    sql = postgres(cluster.url, { onnotice: () => {}, max: 2 });
    const port = await findFreePort();
    const env = await serviceEnv(cluster.url, port, {
      ELECTRIC_WRITE_TO_PG_MODE: mode,
      LOGICAL_PUBLISHER_HOST: "127.0.0.1",
    });
    await sql.unsafe(SETUP);
    service = startService(env);
    await service.waitForStatus(port, 200, 30_000);
    await sql`CALL electric.electrify('fault_rows')`;
    await sql.unsafe(AUDIT);

    const writers = startWriters(CLIENTS, {
      seed: SEED,
      connect: () => ({ host: "127.0.0.1", port }),
    });
    clients.push(...writers.map((w) => w.client));
    const state = () =>
      clients.map((c, i) =>
        `client ${i}: ready ${c.ready}, sent ${c.sent.length}, acknowledged ${c.acknowledged}, ` +
        `connections ${c.connections}, last error ${c.lastError}`
      ).join("\n") + `\nservice output:\n${output()}`;
    await waitFor(() => clients.every((c) => c.ready), {
      timeoutMs: 30_000,
      what: () => `every client connected and subscribed:\n${state()}`,
    });

    const timeline: string[] = [];
    const writing = keepWriting(writers);

    const faults: Fault[] = [
      ...Array.from({ length: KILLS }, () => "kill" as const),
      "restart postgres (fast)",
      "restart postgres (immediate)",
    ];
    for (let i = faults.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [faults[i], faults[j]] = [faults[j], faults[i]];
    }
    for (const fault of faults) {
      // Placing the fault in time, not waiting for anything.
      await pause(300 + random() * 1200);
      timeline.push(`${new Date().toISOString().slice(11, 23)} ${fault}`);
      const before = clients.map((c) => c.acknowledged);
      if (fault === "kill") {
        service.kill();
        await service.exited;
        earlierOutput += `${service.output()}\n--- killed ---\n`;
        service = startService(env);
      } else {
        await cluster.restart(fault.includes("fast") ? "fast" : "immediate");
      }
      await service.waitForStatus(port, 200, 30_000);
      // Writes go on after each fault: every client is back and has new writes applied.
      await waitFor(() => clients.every((c, i) => c.ready && c.acknowledged >= before[i] + 2), {
        timeoutMs: 45_000,
        what: () => `every client writing again after "${fault}":\n${state()}`,
      });
    }
    await writing.stop();

    const { audit, inPostgres } = await checkFinalState(sql, {
      writers,
      state,
      context: `; faults:\n${timeline.join("\n")}`,
    });

    return {
      mode,
      kills: KILLS,
      postgresRestarts: faults.length - KILLS,
      transactions: clients.reduce((n, c) => n + c.sent.length, 0),
      operations: clients.reduce((n, c) => n + c.sent.reduce((m, tx) => m + tx.ops.length, 0), 0),
      resent: clients.reduce((n, c) => n + c.resent, 0),
      reconnects: clients.reduce((n, c) => n + c.connections - 1, 0),
      freshStarts: clients.reduce((n, c) => n + c.restarts, 0),
      auditedTransactions: audit.transactions,
      auditedRowChanges: audit.rowChanges,
      rows: inPostgres.size,
      replicaRowsCompared: inPostgres.size * clients.length,
      doubled: audit.doubled,
      lost: audit.lost,
      seconds: Math.round((Date.now() - started) / 1000),
    };
  } catch (error) {
    console.error(output());
    throw error;
  } finally {
    // FAULT_LOG_DIR keeps the service's whole output, for when the tail above is not enough.
    if (process.env.FAULT_LOG_DIR) {
      writeFileSync(
        join(process.env.FAULT_LOG_DIR, `service-${mode}.log`),
        `${earlierOutput}${service?.output() ?? ""}`,
      );
    }
    await Promise.all(clients.map((c) => c.stop()));
    service?.kill();
    await service?.exited;
    await sql?.end({ timeout: 1 });
    await cluster?.stop();
  }
}
