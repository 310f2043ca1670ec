/**
 * Scenario f: restart with WAL behind. A light client subscribed to the shape `value = 'hot'`
 * (dHot of `rows` rows) has acknowledged its data; about `walBytes` of WAL is then written on
 * the electrified table by repeated UPDATEs of every row outside the shape (measured with
 * pg_current_wal_lsn()) while the service runs and streams it; once the service has processed
 * all of it, it is stopped (SIGTERM) and started again — that WAL is now the retained window
 * behind the service's position, which is what a restart used to read through before new
 * commits flowed. Each UPDATE is one transaction of about 180 MB of WAL: the worst case for a
 * start, which must decode any transaction it replays, or that was still open at the slot's
 * restart point, from its first change.
 * The client resumes from its position with its subscription (the real client's reconnect),
 * and one row of the shape is committed. Figures: commit → client, and service spawn → client.
 *
 * The updated rows are outside the shape on purpose: the client has nothing to receive from
 * them. If the service refuses the resume, the client starts afresh as the real client would
 * (noted).
 */
import { type BenchService, connectSql, electrifyItems, fillItems, freshDatabase } from "../env.ts";
import {
  type Ctx,
  type Figures,
  figures,
  problems,
  settle,
  startScenarioService,
  until,
  withTimeout,
} from "../context.ts";
import { LightClient, ReplicationRefused } from "../light_client.ts";
import { MARKER_BASE } from "../writer.ts";

export async function scenarioF(ctx: Ctx): Promise<Figures> {
  const out = figures();
  const { rows, dHot, walBytes } = ctx.sizes;
  const db = await freshDatabase(ctx.server, "f");
  const sql = connectSql(db.url);
  let service: BenchService | undefined;
  try {
    await fillItems(sql, rows, dHot);
    service = await startScenarioService(ctx, db.url);
    await electrifyItems(sql, service);
    const shape = { tablename: "items", where: "this.value = 'hot'" };
    let receivedAt = 0;
    const marker = MARKER_BASE + 1;
    const options = {
      host: "127.0.0.1",
      markerColumn: 2,
      onTransaction: (m: number) => {
        if (m === marker) receivedAt = performance.now();
      },
    };
    const first = await LightClient.connect({ ...options, port: service.port });
    await first.authenticate();
    await first.startReplication();
    await first.subscribe(shape);
    // The subscription is only resumable once the service holds the client's acknowledgement:
    // one more transaction in the shape makes sure the client has acked past its data.
    await sql`INSERT INTO items (id, value, n, ts) VALUES (gen_random_uuid(), 'hot', 0, now())`;
    await withTimeout(
      until(() => first.applied >= 2, 30_000),
      31_000,
      "the warm-up transaction",
    );
    first.ackPending();

    const [{ start }] = await sql`SELECT pg_current_wal_lsn() AS start`;
    let written = 0;
    let end = String(start);
    while (written < walBytes) {
      await sql`UPDATE items SET ts = now() WHERE value <> 'hot'`;
      const [row] = await sql`
        SELECT pg_current_wal_lsn()::text AS end,
               pg_wal_lsn_diff(pg_current_wal_lsn(), ${start}::pg_lsn)::float8 AS bytes`;
      written = row.bytes;
      end = row.end;
    }
    out.values["f.wal_mb"] = written / 2 ** 20;
    // The service has processed (and persisted its position past) all of it.
    const deadline = performance.now() + 600_000;
    for (;;) {
      const [row] = await sql`
        SELECT coalesce(bool_or(processed_lsn >= ${end}::pg_lsn), false) AS done
          FROM electric.replication_positions`;
      if (row.done) break;
      if (performance.now() > deadline) throw new Error("The service did not process the WAL");
      await settle(100);
    }
    ctx.log(`f: ${(written / 2 ** 20).toFixed(0)} MB of WAL written and processed; restarting`);
    first.ackPending();
    await service.stop();
    first.close();
    // What the next start decodes before it reaches its start position.
    const [slot] = await sql`
      SELECT pg_wal_lsn_diff(confirmed_flush_lsn, restart_lsn)::float8 AS behind
        FROM pg_replication_slots
       WHERE database = current_database() AND slot_name LIKE '%live'`;
    out.values["f.restart_mb"] = Number(slot?.behind ?? 0) / 2 ** 20;

    service = await startScenarioService(ctx, db.url, service.port);
    const readyAt = performance.now();
    const second = await LightClient.connect(
      { ...options, port: service.port },
      first.id,
    );
    second.lsn = first.lsn;
    second.subscriptionIds.push(...first.subscriptionIds);
    await second.authenticate();
    let fresh: LightClient | undefined;
    try {
      await second.resume();
    } catch (error) {
      if (!(error instanceof ReplicationRefused)) throw error;
      out.notes.push(
        `f: the service refused the resume (code ${error.code}: ${error.message}); the client started afresh`,
      );
      fresh = await LightClient.connect({ ...options, port: service.port });
      await fresh.authenticate();
      await fresh.startReplication();
      await fresh.subscribe(shape);
    }
    const resumedAt = performance.now();
    out.values["f.ready"] = readyAt - service.spawnedAt;
    out.values["f.resumed"] = resumedAt - service.spawnedAt;
    const committedAt = performance.now();
    await sql`INSERT INTO items (id, value, n, ts) VALUES (gen_random_uuid(), 'hot', ${marker}, now())`;
    const committed = performance.now();
    await withTimeout(until(() => receivedAt > 0, 600_000), 601_000, "the row after the restart");
    if (receivedAt === 0) throw new Error("The row committed after the restart never arrived");
    out.values["f.commit"] = Math.max(0, receivedAt - committed);
    out.values["f.start"] = receivedAt - service.spawnedAt;
    ctx.log(
      `f: commit → client ${out.values["f.commit"].toFixed(0)} ms, start → client ${
        out.values["f.start"].toFixed(0)
      } ms (service answering ${out.values["f.ready"].toFixed(0)} ms, resumed ${
        out.values["f.resumed"].toFixed(0)
      } ms, commit sent ${(committedAt - service.spawnedAt).toFixed(0)} ms after spawn)`,
    );
    if (process.env.BENCH_SERVICE_OUTPUT) {
      ctx.log(`f: service output:\n${service.process.output()}`);
    }
    problems(out, "f", second);
    second.close();
    fresh?.close();
  } finally {
    await service?.stop();
    await sql.end();
    await db.drop();
  }
  return out;
}
