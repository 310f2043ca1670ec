/**
 * A commit held between the stream and visibility, for tests of reads made in that moment.
 * Postgres hands a commit to the replication stream once its commit record is flushed, and makes
 * it visible to other sessions a moment later. The moment is held open here on purpose: the
 * cluster names a synchronous standby that never connects, and the one session that writes asks
 * for synchronous commit, so its commit is flushed and streamed but waits (invisible) until the
 * test cancels the wait with `pg_cancel_backend`.
 */
import postgres from "postgres";
import { type ElectrifiedService, startElectrifiedService } from "./electrified_service.ts";
import { type ScratchCluster, startScratchCluster } from "./pg_cluster.ts";

export interface HeldCommitService extends ElectrifiedService {
  cluster: ScratchCluster;
  /** A connection that does not wait for the standby (commits are visible at once). */
  sql: postgres.Sql;
  /**
   * Runs `statement` so that it commits and is streamed but stays invisible to other sessions
   * until `streamed` resolved and the service had a moment to act on it; then lets it show.
   */
  heldInvisible(statement: string, streamed: () => Promise<void>): Promise<void>;
  /** Kills the service, ends `sql`, stops and deletes the cluster. */
  close(): Promise<void>;
}

/**
 * A scratch cluster holding synchronous commits, with `ddl` run and `tables` electrified, and the
 * service running over it (all of it stopped again if any of that fails).
 */
export async function startHeldCommitService(
  options: { ddl: string; tables: string[] },
): Promise<HeldCommitService> {
  const cluster = await startScratchCluster({
    walLevel: "logical",
    // Only a session with synchronous_commit above `local` waits for this standby.
    settings: { synchronous_standby_names: "nobody" },
  });
  const sql = postgres(cluster.url, { onnotice: () => {}, max: 2 });
  let started: ElectrifiedService;
  try {
    await sql.unsafe(options.ddl);
    started = await startElectrifiedService(sql, { url: cluster.url, tables: options.tables });
  } catch (error) {
    await sql.end();
    await cluster.stop();
    throw error;
  }
  const { service } = started;

  async function heldInvisible(statement: string, streamed: () => Promise<void>): Promise<void> {
    const writer = postgres(cluster.url, { onnotice: () => {}, max: 1 });
    try {
      const [{ pid }] = await writer`SELECT pg_backend_pid() AS pid`;
      await writer`SET synchronous_commit = on`;
      const written = writer.unsafe(statement).execute();
      await streamed();
      // The service read Postgres in reaction by now (before the fix: without the change).
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      await sql`SELECT pg_cancel_backend(${pid})`;
      await written;
    } finally {
      await writer.end();
    }
  }

  return {
    ...started,
    cluster,
    sql,
    heldInvisible,
    async close() {
      service.kill();
      await sql.end();
      await cluster.stop();
    },
  };
}
