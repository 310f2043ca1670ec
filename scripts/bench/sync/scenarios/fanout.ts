/**
 * Scenarios c and d: many light clients on one fresh service, paced single-row writes, latency
 * per client per transaction, and the service's memory (VmHWM at the end = peak of the
 * scenario; VmRSS sampled every 200 ms while writing = the g figure "during c/d").
 *
 *   c: `cClients` clients, each subscribed to the whole `rows`-row table.
 *   d: `clients` clients on one small shape, `value = 'hot'` (dHot of dRows rows); the writes
 *      insert hot rows and update hot rows, so every write reaches every client.
 */
import {
  type BenchService,
  connectSql,
  cpuSeconds,
  electrifyItems,
  fillItems,
  freshDatabase,
  memoryOf,
  sampleRss,
} from "../env.ts";
import {
  type Ctx,
  type Figures,
  figures,
  latencyFigures,
  problems,
  startClients,
  startScenarioService,
  until,
  withTimeout,
} from "../context.ts";
import { startAckTimer } from "../light_client.ts";
import { LatencyBook, paceWrites, someIds } from "../writer.ts";

interface FanOut {
  id: "c" | "d";
  clients: number;
  tableRows: number;
  hot: number;
  where?: string;
  /** Clients subscribing at the same time. */
  concurrency: number;
}

export function scenarioC(ctx: Ctx): Promise<Figures> {
  const s = ctx.sizes;
  return fanOut(ctx, { id: "c", clients: s.cClients, tableRows: s.rows, hot: 0, concurrency: 4 });
}

export function scenarioD(ctx: Ctx): Promise<Figures> {
  const s = ctx.sizes;
  return fanOut(ctx, {
    id: "d",
    clients: s.clients,
    tableRows: s.dRows,
    hot: s.dHot,
    where: "this.value = 'hot'",
    concurrency: 50,
  });
}

async function fanOut(ctx: Ctx, spec: FanOut): Promise<Figures> {
  const out = figures();
  const { fanSamples, fanRate } = ctx.sizes;
  const db = await freshDatabase(ctx.server, spec.id);
  const sql = connectSql(db.url);
  const writer = connectSql(db.url);
  let service: BenchService | undefined;
  const expected = spec.where ? spec.hot : spec.tableRows;
  try {
    await fillItems(sql, spec.tableRows, spec.hot);
    service = await startScenarioService(ctx, db.url);
    await electrifyItems(sql, service);
    // Set once the clients are up; receipts before that (migrations, warm-up) are ignored.
    const latency: { book?: LatencyBook } = {};
    const started = performance.now();
    const { clients, rows } = await withTimeout(
      startClients(spec.clients, {
        host: "127.0.0.1",
        port: service.port,
        concurrency: spec.concurrency,
        shape: { tablename: "items", where: spec.where },
        onTransaction: (client, marker) => latency.book?.received(client, marker),
        verifyFirst: true,
      }),
      3_600_000,
      `${spec.clients} clients to sync`,
    );
    const syncSeconds = (performance.now() - started) / 1000;
    out.values[`${spec.id}.sync_s`] = syncSeconds;
    const short = rows.filter((r) => r !== expected).length;
    if (short > 0) throw new Error(`${short} clients did not receive ${expected} rows`);
    ctx.log(
      `${spec.id}: ${spec.clients} clients synced ${expected} rows each in ${
        syncSeconds.toFixed(1)
      } s`,
    );
    const stopAcks = startAckTimer(clients);

    const warmup = clients[0].ackThreshold + 4;
    const book = new LatencyBook(warmup + fanSamples, spec.clients, warmup);
    latency.book = book;
    const ids = await someIds(sql, 100, spec.where ? "hot" : undefined);
    const rss = sampleRss(service.pid);
    const cpu0 = {
      service: cpuSeconds(service.pid),
      bench: cpuSeconds(process.pid),
      at: performance.now(),
    };
    await paceWrites(writer, book, {
      rate: fanRate,
      insertValue: spec.where ? "hot" : spec.id,
      updateIds: ids,
    });
    await until(() => book.complete, 30_000);
    const wall = (performance.now() - cpu0.at) / 1000;
    out.values[`${spec.id}.cpu_service`] = (cpuSeconds(service.pid) - cpu0.service) / wall * 100;
    out.values[`${spec.id}.cpu_bench`] = (cpuSeconds(process.pid) - cpu0.bench) / wall * 100;
    out.values[`g.${spec.id}`] = rss.stop();
    out.values[`${spec.id}.rss`] = memoryOf(service.pid).hwm;
    latencyFigures(out, spec.id, book.latencies());
    const closed = clients.filter((c) => c.closed).length;
    if (closed > 0) out.notes.push(`${spec.id}: ${closed} clients were disconnected`);
    for (const client of clients) problems(out, spec.id, client);
    ctx.log(
      `${spec.id}: p50 ${out.values[`${spec.id}.p50`].toFixed(2)} ms, p99 ${
        out.values[`${spec.id}.p99`].toFixed(2)
      } ms, lost ${out.values[`${spec.id}.lost`]}`,
    );
    stopAcks();
    for (const client of clients) client.close();
  } finally {
    await service?.stop();
    await writer.end();
    await sql.end();
    await db.drop();
  }
  return out;
}
